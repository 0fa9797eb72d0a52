import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { connectDatabase } from '../src/db/connection';
import {
  approvedOrder,
  catalogue,
  orderBody,
  registerBuyer,
  verify,
  type Buyer,
} from './helpers/checkout-fixtures';
import { auth } from './helpers/auth';
import { randomPerson, registration } from './helpers/identity-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { blockNextAppend } from './helpers/audit-blocking';
import { createTestApp, freshDatabaseName, type TestApp } from './helpers/test-app';

/**
 * Moving a database that started under intl to the gm profile with the
 * service running: `keys:rotate` moves the KEKs, then
 * `keys move-profile` re-seals every stored field in SM4 (eg1) and re-keys
 * the idNumber and name blind indexes to HMAC-SM3 (a new key version, pending
 * then active, then the old one retired), reading each record only after its
 * access event. The running instance keeps finding and matching people
 * throughout.
 */

const DB_NAME = freshDatabaseName();
const root = path.resolve(__dirname, '..');
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('synthetic-id')]);

let intl: TestApp;
/** The service under gm, serving while the move runs; its keyring reloads every 100 ms. */
let service: TestApp;
/** The operator's process: the same database, what `npm run keys -- move-profile` builds. */
let operator: TestApp;
let checkout: string;
let auditor: string;
const buyers: Buyer[] = [];
const orders: string[] = [];
let erased: Buyer;
let erasedOrder: string;

const start = (profile: 'intl' | 'gm', extra: Record<string, string> = {}) =>
  createTestApp({ DB_NAME, CRYPTO_PROFILE: profile, DATA_KEY_CACHE_MS: '0', ...extra });

async function stopKeepingData(app: TestApp) {
  await app.stop();
  await app.connection.close();
}

/** A keys CLI command as an operator runs it, with the profile in the environment. */
function keysCli(args: string[], profile: 'intl' | 'gm', env: Record<string, string> = {}) {
  return promisify(execFile)(
    process.execPath,
    [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'src/cli/keys.ts', ...args],
    {
      cwd: root,
      env: {
        ...process.env,
        MONGODB_URI: `${process.env.MONGODB_URI!.replace(/\/$/, '')}/${DB_NAME}`,
        KEYS_DIR: intl.config.keysDir,
        CRYPTO_PROFILE: profile,
        // As the service's: the CLI waits twice this after each keyring change.
        KEYRING_REFRESH_MS: '100',
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        ...env,
      },
      timeout: 120_000,
    },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

const tag = (value: unknown) => String(value).split('.')[0];
const indexVersion = (value: unknown) => String(value).split(':')[0];

/** Format tags of every stored field ciphertext, per collection and field. */
async function storedFormats() {
  const db = service.connection;
  const identities = await db
    .collection('identities')
    .find({ idNumber: { $ne: null } })
    .toArray();
  const photos = await db.collection('identity_photos').find().toArray();
  const orderDocs = await db
    .collection('orders')
    .find({ consignee: { $ne: null }, _id: { $ne: erasedOrder as never } })
    .toArray();
  return {
    identities: new Set(identities.flatMap((i) => [tag(i.name), tag(i.idNumber), tag(i.phone)])),
    photos: new Set(photos.map((p) => tag(p.data))),
    orders: new Set(orderDocs.flatMap((o) => [tag(o.consignee), tag(o.personalHash)])),
    idNumberIndexes: new Set(identities.map((i) => indexVersion(i.idNumberIndex))),
    nameIndexes: new Set(identities.map((i) => indexVersion(i.nameIndex))),
    personRefs: new Set(identities.map((i) => indexVersion(i.personRef))),
  };
}

async function keyring(purpose: string) {
  const entries = await service.connection
    .collection('keyring')
    .find({ purpose })
    .sort({ version: 1 })
    .toArray();
  return entries.map((e) => `v${e.version} ${e.status} ${e.algorithm ?? 'hmac-sha256'}`);
}

/** Everything a buyer's export shows, as the service reads it now. */
async function expectReadable(buyer: Buyer, app: TestApp = service) {
  const exported = await app
    .http()
    .get(`/v1/identities/${buyer.identityId}/export`)
    .set(auth(checkout))
    .expect(200);
  expect(exported.body).toMatchObject({
    name: buyer.person.name,
    idNumber: buyer.person.idNumber,
    phone: buyer.person.phone,
  });
  return exported.body as {
    photos: Record<string, { base64: string }>;
    orders: { orderNo: string; consignee: { name: string } | null }[];
  };
}

/** The service finds the person by their blind index: registering again answers the same record. */
async function expectFoundAgain(buyer: Buyer) {
  const again = await service
    .http()
    .post('/v1/identities')
    .set(auth(checkout))
    .send(registration(buyer.person))
    .expect(200);
  expect(again.body.identityId).toBe(buyer.identityId);
}

/** The payer check compares both blind indexes: an order paid by the buyer is approved. */
async function expectPayerMatches(buyer: Buyer) {
  const response = await verify(service, checkout, orderBody(buyer)).expect(200);
  expect(response.body.decision).toBe('APPROVED');
}

async function moveEvents() {
  const response = await service
    .http()
    .get('/v1/audit-events?actorId=profile-move&limit=500')
    .set(auth(auditor))
    .expect(200);
  return response.body.items as {
    action: string;
    purpose: string;
    resource: { id: string | null };
    fields: string[];
  }[];
}

beforeAll(async () => {
  intl = await start('intl');
  checkout = (await intl.clientKey('checkout')).apiKey;
  auditor = (await intl.clientKey('auditor')).apiKey;
  await catalogue(intl, checkout, ['SKU-1']);
  for (let index = 0; index < 4; index += 1) {
    const buyer = await registerBuyer(intl, checkout, randomPerson());
    buyers.push(buyer);
    orders.push(await approvedOrder(intl, checkout, buyer, 100));
  }
  await intl
    .http()
    .put(`/v1/identities/${buyers[0]!.identityId}/photos/front`)
    .set(auth(checkout))
    .set('Content-Type', 'image/jpeg')
    .send(JPEG)
    .expect(204);
  // Erased with an order: the order keeps its sealed consignee (under a legal hold) with no key.
  erased = await registerBuyer(intl, checkout);
  erasedOrder = await approvedOrder(intl, checkout, erased, 100);
  await intl.http().delete(`/v1/identities/${erased.identityId}`).set(auth(checkout)).expect(204);
  await stopKeepingData(intl);
}, 120_000);

afterAll(async () => {
  for (const app of [service, operator]) {
    if (app) await stopKeepingData(app).catch(() => undefined);
  }
  const cleanup = await connectDatabase(process.env.MONGODB_URI!, {
    dbName: DB_NAME,
    timeoutMs: 5000,
  });
  await cleanup.dropDatabase();
  await cleanup.close();
});

describe('moving an intl database to gm with the service running', () => {
  it('when the KEKs are still AES, or the instances never reload their keyring, then move-profile refuses in one line and changes nothing', async () => {
    const answer = await keysCli(['move-profile', '--no-progress'], 'gm');
    expect(answer.code).toBe(1);
    expect(answer.stderr.trim().split('\n')).toEqual([
      expect.stringContaining('run `npm run keys:rotate` under CRYPTO_PROFILE=gm first'),
    ]);
    service = await start('gm', { KEYRING_REFRESH_MS: '100' });
    // An instance that never reloads its keyring would never learn of a new index version.
    const neverReloads = await start('gm', { KEYRING_REFRESH_MS: '0' });
    const refused = await keysCli(['rotate', '--no-progress'], 'gm').then(() =>
      keysCli(['move-profile', '--no-progress'], 'gm'),
    );
    await stopKeepingData(neverReloads);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(
        '1 running instance(s) never reload the keyring (KEYRING_REFRESH_MS=0',
      ),
    ]);
    expect(await keyring('blind-index:idNumber')).toEqual(['v1 active hmac-sha256']);
  }, 120_000);

  it('when run after keys:rotate, then every field is SM4, the indexes HMAC-SM3, the old index keys retired, and the service kept finding people throughout', async () => {
    expect((await keysCli(['rotate', '--batch-size', '2', '--no-progress'], 'gm')).code).toBe(0);
    operator = await start('gm', { KEYRING_REFRESH_MS: '100' });
    let checkedMidway = false;
    const racing: { statuses: number[]; ids: Set<string> } = { statuses: [], ids: new Set() };
    const report = await operator.profileMove.run({
      runId: 'first',
      batchSize: 10,
      settleMs: 500,
      async onStep(step) {
        if (step.step !== 'blind-index-activated' || step.purpose !== 'blind-index:idNumber')
          return;
        // The operator's process holds v2 active, the service may still write v1 until it
        // reloads: the same new person registered on both at once is still one registration.
        const newcomer = randomPerson();
        const answers = await Promise.all(
          [service, operator].map((app) =>
            app.http().post('/v1/identities').set(auth(checkout)).send(registration(newcomer)),
          ),
        );
        racing.statuses = answers.map((answer) => answer.status).sort();
        racing.ids = new Set(answers.map((answer) => answer.body.identityId as string));
      },
      async onRecord(source) {
        if (source !== 'identities' || checkedMidway) return;
        checkedMidway = true;
        // Half way: some records carry the new index version, some the old; the service
        // (which learnt of the new version by reloading its keyring) finds and matches both.
        for (const buyer of buyers) {
          await expectFoundAgain(buyer);
          await expectPayerMatches(buyer);
        }
      },
    });
    expect(checkedMidway).toBe(true);
    expect(racing.statuses).toEqual([200, 201]);
    expect(racing.ids.size).toBe(1);
    expect(report.left).toBe(0);
    expect(report.reports).toEqual([
      // The four buyers, and the racing newcomer when the service won it with the old version.
      expect.objectContaining({ label: 'identities', unreadable: 0, changed: 0, conflicts: 0 }),
      expect.objectContaining({ label: 'identity photos', moved: 1 }),
      // The erased buyer's order stays sealed under its destroyed key, read by no one.
      expect.objectContaining({ label: 'orders', moved: orders.length, erased: 1 }),
    ]);
    expect([4, 5]).toContain(report.reports[0]!.moved);
    expect(report.retired).toEqual({ 'blind-index:idNumber': [1], 'blind-index:name': [1] });

    const formats = await storedFormats();
    expect(formats).toEqual({
      identities: new Set(['eg1']),
      photos: new Set(['eg1']),
      orders: new Set(['eg1']),
      idNumberIndexes: new Set(['2']),
      nameIndexes: new Set(['2']),
      // The person key is not re-keyed: the quota ledger is joined by it.
      personRefs: new Set(['1']),
    });
    expect(await keyring('blind-index:idNumber')).toEqual([
      'v1 retired hmac-sha256',
      'v2 active hmac-sm3',
    ]);
    expect(await keyring('blind-index:name')).toEqual([
      'v1 retired hmac-sha256',
      'v2 active hmac-sm3',
    ]);
  }, 120_000);

  it('when it is done, then the service reads every field, photo and consignee, finds and matches every person, and the erased one stays erased', async () => {
    for (const [index, buyer] of buyers.entries()) {
      const exported = await expectReadable(buyer);
      expect(exported.orders.map((order) => order.orderNo)).toContain(orders[index]);
      expect(exported.orders.every((order) => order.consignee?.name === buyer.person.name)).toBe(
        true,
      );
      await expectFoundAgain(buyer);
      await expectPayerMatches(buyer);
    }
    const photos = (await expectReadable(buyers[0]!)).photos;
    expect(Buffer.from(photos.front!.base64, 'base64').equals(JPEG)).toBe(true);
    await service
      .http()
      .get(`/v1/identities/${erased.identityId}/export`)
      .set(auth(checkout))
      .expect(404);
  });

  it('when it read a record, then an identity.read event for record-keeping names it and the fields read, none names the erased buyer, and the log verifies', async () => {
    const events = await moveEvents();
    // 4 identities, 1 photo, 4 orders (plus the orders the service's own checks placed meanwhile).
    expect(events.length).toBeGreaterThanOrEqual(4 + 1 + orders.length);
    expect(new Set(events.map((e) => `${e.action} ${e.purpose}`))).toEqual(
      new Set(['identity.read record-keeping']),
    );
    const identityEvent = events.find((e) => e.resource.id === buyers[1]!.identityId);
    expect(new Set(identityEvent!.fields)).toEqual(new Set(['name', 'idNumber', 'phone']));
    const orderEvent = events.find((e) => e.resource.id === orders[1]);
    expect(new Set(orderEvent!.fields)).toEqual(new Set(['consignee', 'requestDigest']));
    expect(events.filter((e) => e.resource.id === erasedOrder)).toEqual([]);
    const verified = await service
      .http()
      .get('/v1/audit-events/verify')
      .set(auth(auditor))
      .expect(200);
    expect(verified.body.ok).toBe(true);
  });

  it('when run again (the CLI), then nothing is read or written and it says it is done', async () => {
    const before = (await moveEvents()).length;
    const answer = await keysCli(['move-profile', '--no-progress'], 'gm');
    expect(answer.code).toBe(0);
    expect(answer.stdout).toMatch(/^identities: \d+ scanned, 0 moved,/m);
    expect(answer.stdout).toMatch(/^orders: \d+ scanned, 0 moved, 1 erased/m);
    expect(answer.stdout).toContain('done: everything stored is in the gm profile');
    expect((await moveEvents()).length).toBe(before);
    const status = await keysCli(['status'], 'gm');
    expect(status.stdout).toContain('blind-index:idNumber v1: retired hmac-sha256');
    expect(status.stdout).toContain('blind-index:idNumber v2: active hmac-sm3');
    expect(status.stdout).toContain('blind-index:name v2: active hmac-sm3');
  }, 120_000);

  it('when a record is corrected while the move holds an older copy, or has lost its data key, then the correction wins, the move says what is left, and a second run finishes', async () => {
    // Back to intl for a moment: new records and a correction that the move to gm must catch.
    await stopKeepingData(operator);
    const back = await start('intl');
    const late = [await registerBuyer(back, checkout), await registerBuyer(back, checkout)];
    // And one whose data key is missing, not destroyed (a restore that left subject_keys behind).
    const keyless = await registerBuyer(back, checkout);
    await stopKeepingData(back);
    const subjectKeys = service.connection.collection('subject_keys');
    const keyDocument = await subjectKeys.findOne({ subjectId: keyless.identityId });
    await subjectKeys.deleteOne({ _id: keyDocument!._id });
    operator = await start('gm', { KEYRING_REFRESH_MS: '100' });
    let victim: Buyer | null = null;
    const first = await operator.profileMove.run({
      runId: 'race',
      batchSize: 100,
      settleMs: 300,
      async onRecord(source, _scanned, recordId) {
        if (source !== 'identities' || victim) return;
        // The whole batch was listed before the first record: a late registration that is not
        // this first one is still ahead, and the move holds its old copy.
        victim = late[0]!.identityId === recordId ? late[1]! : late[0]!;
        await service
          .http()
          .patch(`/v1/identities/${victim.identityId}`)
          .set(auth(checkout))
          .send({ phone: '13911112222' })
          .expect(200);
      },
    });
    const identities = first.reports.find((r) => r.label === 'identities')!;
    expect(identities.changed).toBe(1);
    // Not taken for erased: listed by id, and left.
    expect(identities).toMatchObject({ erased: 0, unreadableIds: [keyless.identityId] });
    expect(first.left).toBe(2);
    expect(first.retired).toEqual({});
    await subjectKeys.insertOne(keyDocument!);
    const second = await operator.profileMove.run({
      runId: 'again',
      batchSize: 100,
      settleMs: 300,
    });
    expect(second.left).toBe(0);
    const corrected = victim!;
    await expectReadable({ ...corrected, person: { ...corrected.person, phone: '13911112222' } });
    for (const buyer of [...late, keyless].filter((b) => b !== corrected)) {
      await expectReadable(buyer);
    }
    expect((await storedFormats()).identities).toEqual(new Set(['eg1']));
  }, 120_000);

  it('when the move back to intl finds an instance that does not take the new version up, or cannot record its reads, then nothing is moved; when it is interrupted, then running it again resumes with the same new key version, and everything ends AES and HMAC-SHA-256', async () => {
    await stopKeepingData(operator);
    expect((await keysCli(['rotate', '--no-progress'], 'intl')).code).toBe(0);
    operator = await start('intl', { KEYRING_REFRESH_MS: '100' });
    // An instance that reports but never takes the new version up: the move stops before
    // activating it, naming the instance.
    const readers = service.connection.collection('keyring_readers');
    const stuck = { refreshMs: 60_000, heartbeatAt: new Date(), holds: [], writes: [] };
    await readers.insertOne({ _id: 'stuck-instance', ...stuck } as never);
    const waited = operator.profileMove.run({ runId: 'stuck', batchSize: 2, settleMs: 300 });
    await expect(waited).rejects.toThrow(
      '1 running instance(s) have not loaded blind-index:idNumber v3 (stuck-in)',
    );
    expect(await keyring('blind-index:idNumber')).toContain('v3 pending hmac-sha256');
    await readers.deleteOne({ _id: 'stuck-instance' as never });
    // Fail closed: the operator's next access event cannot be written.
    await operator.http().get('/v1/audit-events?limit=1').set(auth(auditor)).expect(200);
    await blockNextAppend(operator);
    const blocked = operator.profileMove.run({ runId: 'blocked', batchSize: 2, settleMs: 300 });
    await expect(blocked).rejects.toThrow();
    // Nothing was read, so nothing was written: every record is still in the gm form.
    expect(await storedFormats()).toMatchObject({
      identities: new Set(['eg1']),
      photos: new Set(['eg1']),
      idNumberIndexes: new Set(['2']),
    });
    const interrupted = operator.profileMove.run({
      runId: 'interrupted',
      batchSize: 2,
      settleMs: 300,
      onRecord() {
        throw new Error('interrupted');
      },
    });
    await expect(interrupted).rejects.toThrow('interrupted');
    expect(await keyring('blind-index:idNumber')).toEqual([
      'v1 retired hmac-sha256',
      'v2 retiring hmac-sm3',
      'v3 active hmac-sha256',
    ]);
    const resumed = await operator.profileMove.run({
      runId: 'resumed',
      batchSize: 2,
      settleMs: 300,
    });
    expect(resumed.left).toBe(0);
    expect(resumed.retired).toEqual({ 'blind-index:idNumber': [2], 'blind-index:name': [2] });
    const formats = await storedFormats();
    expect(formats).toMatchObject({
      identities: new Set(['ef1']),
      photos: new Set(['ef1']),
      orders: new Set(['ef1']),
      idNumberIndexes: new Set(['3']),
      nameIndexes: new Set(['3']),
    });
    for (const buyer of buyers) {
      await expectReadable(buyer);
      await expectFoundAgain(buyer);
      await expectPayerMatches(buyer);
    }
  }, 120_000);

  it('stores no personal data in plaintext', async () => {
    await expectNothingStoredInPlaintext(service.connection);
  });
});
