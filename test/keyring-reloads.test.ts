import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Connection } from 'mongoose';
import { createBlindIndex } from '../src/crypto/blind-index';
import { createKeyring, type Keyring } from '../src/crypto/keyring';
import { createKeyringStore } from '../src/crypto/keyring-store';
import { generateMasterKeyFiles, loadMasterKey } from '../src/crypto/master-key';
import { connectDatabase } from '../src/db/connection';
import { createTestApp, freshDatabaseName } from './helpers/test-app';

/**
 * How a running instance reloads its keyring: one load at a time, the newest
 * snapshot last, and a lookup that meets an index version it does not hold
 * reloads at most once a second (a partner chooses which identity a checkout
 * names, so it must not be able to drive reloads).
 */

let connection: Connection;
let keysDir: string;
let lists = 0;
let instance: Keyring;
/** The operator's process on the same database (keys move-profile). */
let operator: Keyring;

function keyringOf(profile: 'intl' | 'gm', counted: boolean): Keyring {
  const store = createKeyringStore(connection);
  const master = loadMasterKey(keysDir);
  return createKeyring(
    counted
      ? {
          ...store,
          list: () => {
            lists += 1;
            return store.list();
          },
        }
      : store,
    () => master,
    { profile },
  );
}

beforeAll(async () => {
  connection = await connectDatabase(process.env.MONGODB_URI!, {
    dbName: freshDatabaseName(),
    timeoutMs: 5000,
  });
  keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyring-reloads-'));
  generateMasterKeyFiles(keysDir);
  instance = keyringOf('intl', true);
  await instance.open();
  operator = keyringOf('gm', false);
  await operator.open();
});

afterAll(async () => {
  instance.close();
  operator.close();
  await connection.dropDatabase();
  await connection.close();
  fs.rmSync(keysDir, { recursive: true, force: true });
});

it('when 20 reloads are asked at once, then the entries are listed at most twice', async () => {
  lists = 0;
  await Promise.all(Array.from({ length: 20 }, () => instance.reload()));
  expect(lists).toBeLessThanOrEqual(2);
});

it('when a reload is asked after a change, while an earlier load may still run, then it sees the change', async () => {
  const running = instance.reload();
  const version = await operator.addBlindIndexVersion('blind-index:name');
  await Promise.all([running, instance.reload()]);
  expect(instance.blindIndexKeys('blind-index:name').map((key) => key.version)).toContain(version);
});

it('when lookups meet an index version the instance does not hold, then it reloads once for all of them, and not again within a second', async () => {
  const version = await operator.addBlindIndexVersion('blind-index:idNumber');
  const blindIndex = createBlindIndex(instance);
  lists = 0;
  await Promise.all(
    Array.from({ length: 20 }, () => blindIndex.loadVersionOf('idNumber', `${version}:abc`)),
  );
  expect(lists).toBe(1);
  expect(instance.blindIndexKeys('blind-index:idNumber').map((key) => key.version)).toContain(
    version,
  );
  await blindIndex.loadVersionOf('idNumber', '77:abc');
  expect(lists).toBe(1);
});

it('when a stored index names a retired version, then no reload is made for it', async () => {
  const pending = await operator.addBlindIndexVersion('blind-index:name');
  await operator.activateBlindIndexKey('blind-index:name', pending);
  await operator.retireOlderBlindIndexKeys('blind-index:name');
  await instance.reload();
  await new Promise((resolve) => setTimeout(resolve, 1100));
  lists = 0;
  await createBlindIndex(instance).loadVersionOf('name', '1:abc');
  expect(lists).toBe(0);
  expect(instance.blindIndexKey('blind-index:name').version).toBe(pending);
});

describe('readiness of an instance that cannot reload its keyring', () => {
  it('when reloads fail for three intervals, then /readyz answers 503, and 200 again once one succeeds', async () => {
    const t = await createTestApp({ KEYRING_REFRESH_MS: '100' });
    const keyring = t.connection.collection('keyring');
    try {
      await t.http().get('/readyz').expect(200);
      // An entry wrapped by a master key this instance does not have: every load now fails.
      await keyring.insertOne({
        purpose: 'kek',
        version: 99,
        status: 'active',
        algorithm: 'aes-256-gcm',
        wrapped: Buffer.alloc(384).toString('base64'),
        masterKeyFingerprint: 'f'.repeat(64),
        createdAt: new Date(),
        retiredAt: null,
      });
      await new Promise((resolve) => setTimeout(resolve, 600));
      const stale = await t.http().get('/readyz').expect(503);
      expect(stale.body).toEqual({ status: 'not ready', database: 'up' });
      expect(t.logs.join('')).toContain('keyring reload failed');
      await keyring.deleteOne({ version: 99 });
      // The next tick's reload succeeds (polled: no test depends on a timer's punctuality).
      let status = 503;
      for (let tries = 0; tries < 50 && status !== 200; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await t.http().get('/readyz')).status;
      }
      expect(status).toBe(200);
    } finally {
      await keyring.deleteOne({ version: 99 });
      await t.close();
    }
  });
});
