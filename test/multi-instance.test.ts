import { createCryptoModule } from '../src/crypto/crypto-module';
import { rotateKeyEncryptionKey } from '../src/crypto/key-rotation';
import { DecryptionFailed } from '../src/errors';
import { connectDatabase } from '../src/db/connection';
import { createLogger } from '../src/logger';
import { auth, orderBody, quota, registerBuyer, verify } from './helpers/checkout-fixtures';
import { eventually } from './helpers/embedded-engine';
import { randomPerson, registration } from './helpers/identity-fixtures';
import { ADMIN_KEY, createTestApp, freshDatabaseName, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

/**
 * Production runs several service instances on one database. Two apps on one
 * database stand in for them: each has its own connection, caches and
 * access-log stream, as two processes would.
 */
const DATA_KEY_CACHE_MS = 500;
let first: TestApp;
let second: TestApp;
let checkoutKey: string;
let auditorKey: string;

beforeAll(async () => {
  const DB_NAME = freshDatabaseName();
  const env = { DB_NAME, DATA_KEY_CACHE_MS: String(DATA_KEY_CACHE_MS) };
  first = await createTestApp(env);
  second = await createTestApp(env);
  checkoutKey = (await first.clientKey('checkout')).apiKey;
  auditorKey = (await first.clientKey('auditor')).apiKey;
});
afterAll(async () => {
  await second.stop();
  await second.connection.close();
  await first.close();
});

const instance = (index: number) => (index % 2 === 0 ? first : second);

it('when 40 verifies of RMB 1,000 for one buyer are split over two instances, then exactly 26 are approved', async () => {
  const buyer = await registerBuyer(first, checkoutKey);
  const responses = await Promise.all(
    Array.from({ length: 40 }, (_, index) =>
      verify(
        instance(index),
        checkoutKey,
        orderBody(buyer, { items: [{ qty: 1, unitPriceFen: 100000 }] }),
      ),
    ),
  );
  expect(responses.map((r) => r.status)).toEqual(Array(40).fill(200));
  const approved = responses.filter((r) => r.body.decision === 'APPROVED');
  expect(approved).toHaveLength(26);
  for (const app of [first, second]) {
    const read = await quota(app, checkoutKey, buyer.identityId).expect(200);
    expect(read.body).toMatchObject({ reservedFen: 2600000, remainingFen: 0 });
  }
});

it('when both instances have served, then each wrote its own access-log stream and both verify', async () => {
  for (const app of [first, second]) {
    const response = await app
      .http()
      .get('/v1/audit-events/verify')
      .set(auth(auditorKey))
      .expect(200);
    expect(response.body).toMatchObject({ ok: true, streams: 2 });
  }
});

it('when one instance revokes a client, then the other refuses its key on the next request', async () => {
  const client = await first.clientKey('auditor');
  await second.http().get('/v1/audit-events?limit=1').set(auth(client.apiKey)).expect(200);

  await first.http().delete(`/v1/clients/${client.id}`).set(auth(ADMIN_KEY)).expect(204);

  await second.http().get('/v1/audit-events?limit=1').set(auth(client.apiKey)).expect(401);
});

it('when one instance destroys a data key, then the other stops decrypting within DATA_KEY_CACHE_MS', async () => {
  const ref = {
    subjectId: 'subject-multi-1',
    collection: 'tests',
    recordId: 'record-1',
    field: 'note',
  };
  await first.fieldCipher.ensureSubjectKey(ref.subjectId);
  const sealed = await first.fieldCipher.encrypt(ref, 'kept only while the key lives');
  // The second instance reads it, so its cache now holds the data key.
  expect(await second.fieldCipher.decryptText(ref, sealed)).toBe('kept only while the key lives');

  await first.fieldCipher.destroySubjectKey(ref.subjectId);

  await eventually(async () => {
    const outcome = await second.fieldCipher.decryptText(ref, sealed).catch((error) => error);
    return outcome instanceof DecryptionFailed;
  }, DATA_KEY_CACHE_MS + 2000);
});

it('when the KEK is rotated while both serve, then what either registers afterwards is readable by the other', async () => {
  const connection = await connectDatabase(process.env.MONGODB_URI!, {
    dbName: first.connection.name,
    timeoutMs: 5000,
  });
  const cli = createCryptoModule(
    { connection, logger: createLogger('silent') },
    { ...first.config, dataKeyCacheMs: 0 },
  );
  await cli.start();
  try {
    await rotateKeyEncryptionKey(
      { keyring: cli.keyring, subjectKeys: cli.subjectKeys },
      { batchSize: 100 },
    );
  } finally {
    await cli.stop();
    await connection.close();
  }

  for (const [writer, reader] of [
    [first, second],
    [second, first],
  ] as const) {
    const person = randomPerson();
    const created = await writer
      .http()
      .post('/v1/identities')
      .set(auth(checkoutKey))
      .send(registration(person))
      .expect(201);
    const exported = await reader
      .http()
      .get(`/v1/identities/${created.body.identityId}/export`)
      .set(auth(checkoutKey))
      .expect(200);
    expect(exported.body.idNumber).toBe(person.idNumber);
  }
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(first.connection);
});
