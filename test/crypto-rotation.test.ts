import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from 'mongoose';
import { createCryptoModule, type CryptoModule } from '../src/crypto/crypto-module';
import { rotateKeyEncryptionKey, type RotationOptions } from '../src/crypto/key-rotation';
import { connectDatabase } from '../src/db/connection';
import { createLogger } from '../src/logger';
import { randomPerson, registration } from './helpers/identity-fixtures';
import { createTestApp, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { auth } from './helpers/auth';

/**
 * Rotation runs as the CLI does: in another "process" (its own connection
 * and keyring) against the database a running app is serving from.
 */
let t: TestApp;
let checkout: string;
const cliConnections: Connection[] = [];

beforeAll(async () => {
  // No data-key cache: every read below goes through the wrapped key in the database.
  t = await createTestApp({ DATA_KEY_CACHE_MS: '0' });
  checkout = (await t.clientKey('checkout')).apiKey;
});
afterAll(async () => {
  for (const connection of cliConnections) await connection.close();
  await t.close();
});

const headers = () => auth(checkout);

async function cliCrypto(): Promise<CryptoModule> {
  const connection = await connectDatabase(process.env.MONGODB_URI!, {
    dbName: t.connection.name,
    timeoutMs: 5000,
  });
  cliConnections.push(connection);
  const crypto = createCryptoModule(
    { connection, logger: createLogger('silent') },
    { ...t.config, dataKeyCacheMs: 0 },
  );
  await crypto.start();
  return crypto;
}

async function rotate(options: Partial<RotationOptions> = {}) {
  const crypto = await cliCrypto();
  try {
    return await rotateKeyEncryptionKey(
      { keyring: crypto.keyring, subjectKeys: crypto.subjectKeys },
      { batchSize: 3, ...options },
    );
  } finally {
    await crypto.stop();
  }
}

async function registerMany(count: number) {
  const people = [];
  for (let index = 0; index < count; index += 1) {
    const person = randomPerson();
    const response = await t
      .http()
      .post('/v1/identities')
      .set(headers())
      .send(registration(person))
      .expect(201);
    people.push({ person, identityId: response.body.identityId as string });
  }
  return people;
}

async function expectAllReadable(people: Awaited<ReturnType<typeof registerMany>>) {
  for (const { person, identityId } of people) {
    const response = await t
      .http()
      .get(`/v1/identities/${identityId}/export`)
      .set(headers())
      .expect(200);
    expect(response.body).toMatchObject({
      name: person.name,
      idNumber: person.idNumber,
      phone: person.phone,
    });
  }
}

async function keyVersions() {
  const keys = await t.connection
    .collection('subject_keys')
    .find({ wrappedKey: { $ne: null } })
    .toArray();
  return new Set(keys.map((key) => key.kekVersion));
}

async function kekStatuses() {
  const entries = await t.connection
    .collection('keyring')
    .find({ purpose: 'kek' })
    .sort({ version: 1 })
    .toArray();
  return entries.map(
    (entry) => `v${entry.version}:${entry.status}:${entry.wrapped === null ? 'gone' : 'held'}`,
  );
}

describe('KEK rotation', () => {
  it('when the KEK is rotated, then every data key moves to v2, v1 is retired, and data written before reads after', async () => {
    const people = await registerMany(7);
    const deleted = await registerMany(1);
    await t.http().delete(`/v1/identities/${deleted[0]!.identityId}`).set(headers()).expect(204);
    const identitiesBefore = await t.connection
      .collection('identities')
      .find()
      .sort({ id: 1 })
      .toArray();
    const tombstoneBefore = await t.connection
      .collection('subject_keys')
      .findOne({ subjectId: deleted[0]!.identityId });

    const batches: number[] = [];
    const result = await rotate({ onBatch: ({ done }) => void batches.push(done) });

    expect(result).toEqual({ toVersion: 2, retiredVersions: [1], rewrapped: 7, resumed: false });
    expect(batches).toEqual([3, 6, 7]);
    expect(await kekStatuses()).toEqual(['v1:retired:gone', 'v2:active:held']);
    expect(await keyVersions()).toEqual(new Set([2]));
    // Field ciphertext is untouched; the tombstone stays a tombstone.
    expect(await t.connection.collection('identities').find().sort({ id: 1 }).toArray()).toEqual(
      identitiesBefore,
    );
    expect(
      await t.connection.collection('subject_keys').findOne({ subjectId: deleted[0]!.identityId }),
    ).toEqual(tombstoneBefore);
    // The running app never saw v2: it loads it on first use.
    await expectAllReadable(people);
  });

  it('when a rotation is interrupted, then data stays readable and the next run resumes to the same version', async () => {
    const people = await registerMany(5);
    let calls = 0;
    await expect(
      rotate({
        batchSize: 4,
        onBatch() {
          calls += 1;
          if (calls === 2) throw new Error('power cut');
        },
      }),
    ).rejects.toThrow('power cut');
    expect(await kekStatuses()).toEqual(['v1:retired:gone', 'v2:retiring:held', 'v3:active:held']);
    expect(await keyVersions()).toEqual(new Set([2, 3]));
    await expectAllReadable(people);

    const resumed = await rotate({ batchSize: 4 });
    expect(resumed.resumed).toBe(true);
    expect(resumed.toVersion).toBe(3);
    expect(resumed.retiredVersions).toEqual([2]);
    expect(await kekStatuses()).toEqual(['v1:retired:gone', 'v2:retired:gone', 'v3:active:held']);
    expect(await keyVersions()).toEqual(new Set([3]));
    await expectAllReadable(people);
  });

  it('when the CLI rotates, then it reports progress and the keys move to the next version', async () => {
    const root = path.resolve(__dirname, '..');
    const uri = `${process.env.MONGODB_URI!.replace(/\/$/, '')}/${t.connection.name}`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        path.join(root, 'node_modules/tsx/dist/cli.mjs'),
        'src/cli/keys.ts',
        'rotate',
        '--batch-size',
        '5',
        '--no-progress',
      ],
      {
        cwd: root,
        env: { ...process.env, MONGODB_URI: uri, NODE_ENV: 'development', LOG_LEVEL: 'warn' },
        timeout: 60_000,
      },
    );
    expect(stdout).toContain('starting rotation: KEK v3 -> v4');
    expect(stdout).toMatch(/rotated: \d+ data key\(s\) now under KEK v4; retired v3/);
    expect(await keyVersions()).toEqual(new Set([4]));
  });

  it('when the app still wraps new keys with a KEK that a rotation retired, then it re-wraps them at once', async () => {
    // The app last reloaded its keyring while v3 was current; the CLI has retired v3 since.
    const [fresh] = await registerMany(1);
    const key = await t.connection
      .collection('subject_keys')
      .findOne({ subjectId: fresh!.identityId });
    expect(key!.kekVersion).toBe(4);
    await expectAllReadable([fresh!]);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
