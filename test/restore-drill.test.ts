import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/db/embedded-database';
import { projectRoot } from '../src/db/project-root';
import { auth } from './helpers/auth';
import { engineUnderTest } from './helpers/embedded-engine';
import { randomPerson, registration } from './helpers/identity-fixtures';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * The backup and restore drill of docs/operations.md, as an operator runs it:
 * stop the service and the engine, copy the data directory and KEYS_DIR,
 * start a fresh engine and service on the copy. What must hold on the copy:
 * identities decrypt, the access log verifies, a subject erased before the
 * backup stays unreadable, and a backup taken before a KEK rotation opens
 * with the key versions it holds itself.
 */
const DB_NAME = 'drill';
const root = projectRoot();
const scratch: string[] = [];

function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

/** `cp -a`: the operator's cold copy, file modes kept (the master key stays 0600). */
function copyTree(from: string, prefix: string): string {
  const to = scratchDir(prefix);
  fs.cpSync(from, to, { recursive: true, preserveTimestamps: true });
  return to;
}

function startEngine(dataDir: string): Promise<EmbeddedDatabase> {
  return startEmbeddedDatabase({ engine: engineUnderTest(), projectRoot: root, dataDir });
}

function startService(engine: EmbeddedDatabase, keysDir: string): Promise<TestApp> {
  return createTestApp({
    MONGODB_URI: engine.uri,
    DB_NAME,
    KEYS_DIR: keysDir,
    // The file master key: this drill copies KEYS_DIR (a token is backed up by its vendor's tools).
    KEY_PROVIDER: 'file',
    DATA_KEY_CACHE_MS: '0',
    RATE_LIMIT_PER_MINUTE: '100000',
  });
}

/** A normal stop: the access-log stream is closed, nothing is dropped. */
async function stopService(app: TestApp): Promise<void> {
  await app.stop();
  await app.connection.close();
}

/** `npm run keys -- rotate`, as the operator runs it, against the given engine and keys. */
function rotateKeks(engine: EmbeddedDatabase, keysDir: string) {
  return promisify(execFile)(
    process.execPath,
    [
      path.join(root, 'node_modules/tsx/dist/cli.mjs'),
      'src/cli/keys.ts',
      'rotate',
      '--no-progress',
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        MONGODB_URI: `${engine.uri}${DB_NAME}`,
        KEYS_DIR: keysDir,
        KEY_PROVIDER: 'file',
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
      },
      timeout: 60_000,
    },
  );
}

type Person = ReturnType<typeof randomPerson>;

async function register(app: TestApp, key: string, person: Person): Promise<string> {
  const response = await app
    .http()
    .post('/v1/identities')
    .set(auth(key))
    .send(registration(person))
    .expect(201);
  return response.body.identityId as string;
}

const exportOf = (app: TestApp, key: string, identityId: string) =>
  app.http().get(`/v1/identities/${identityId}/export`).set(auth(key));

async function kekStatuses(app: TestApp): Promise<string[]> {
  const entries = await app.connection
    .collection('keyring')
    .find({ purpose: 'kek' })
    .sort({ version: 1 })
    .toArray();
  return entries.map((entry) => `v${entry.version}:${entry.status}`);
}

/** The state the drill checks on each copy. */
interface Live {
  checkoutKey: string;
  auditorKey: string;
  kept: { person: Person; identityId: string };
  erasedId: string;
  afterBackupId: string;
}

let engine: EmbeddedDatabase | undefined;
let app: TestApp | undefined;
let dataDir: string;
let keysDir: string;
let backup: { dataDir: string; keysDir: string };
const live = {} as Live;

beforeAll(async () => {
  dataDir = scratchDir('drill-data-');
  keysDir = scratchDir('drill-keys-');
  engine = await startEngine(dataDir);
  app = await startService(engine, keysDir);
  live.checkoutKey = (await app.clientKey('checkout')).apiKey;
  live.auditorKey = (await app.clientKey('auditor')).apiKey;
  const person = randomPerson();
  live.kept = { person, identityId: await register(app, live.checkoutKey, person) };
  await exportOf(app, live.checkoutKey, live.kept.identityId).expect(200);
  live.erasedId = await register(app, live.checkoutKey, randomPerson());
  await app
    .http()
    .delete(`/v1/identities/${live.erasedId}`)
    .set(auth(live.checkoutKey))
    .expect(204);

  // The backup: service and engine stopped, then the data directory and KEYS_DIR copied.
  await stopService(app);
  app = undefined;
  await engine.stop();
  backup = {
    dataDir: copyTree(dataDir, 'drill-backup-data-'),
    keysDir: copyTree(keysDir, 'drill-backup-keys-'),
  };

  // Life goes on after the backup: a KEK rotation retires v1, and a new buyer registers.
  engine = await startEngine(dataDir);
  await rotateKeks(engine, keysDir);
  app = await startService(engine, keysDir);
  live.afterBackupId = await register(app, live.checkoutKey, randomPerson());
  await stopService(app);
  app = undefined;
  await engine.stop();
  engine = undefined;
}, 240_000);

afterEach(async () => {
  if (app) await stopService(app);
  if (engine) await engine.stop();
  app = undefined;
  engine = undefined;
});

afterAll(() => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh engine on a copy of the backup (the backup itself stays untouched for the next drill). */
async function restoreBackup(keys: string): Promise<TestApp> {
  engine = await startEngine(copyTree(backup.dataDir, 'drill-restore-'));
  app = await startService(engine, keys);
  return app;
}

describe('backup and restore drill', () => {
  it('when the backup is restored with its KEYS_DIR, then identities decrypt, the erased subject stays erased, and the access log verifies', async () => {
    const restored = await restoreBackup(backup.keysDir);

    const kept = await exportOf(restored, live.checkoutKey, live.kept.identityId).expect(200);
    expect(kept.body).toMatchObject({
      name: live.kept.person.name,
      idNumber: live.kept.person.idNumber,
    });
    await exportOf(restored, live.checkoutKey, live.erasedId).expect(404);
    // The erased subject's data key was destroyed before the copy: nothing in it opens.
    const erasedKey = await restored.connection
      .collection('subject_keys')
      .findOne({ subjectId: live.erasedId });
    expect(erasedKey?.wrappedKey ?? null).toBeNull();
    // Registered after the backup: not in it (docs/operations.md: what a restore loses).
    await exportOf(restored, live.checkoutKey, live.afterBackupId).expect(404);

    const verify = await restored
      .http()
      .get('/v1/audit-events/verify')
      .set(auth(live.auditorKey))
      .expect(200);
    expect(verify.body).toMatchObject({ ok: true, findings: [] });
  });

  it('when a backup taken before a KEK rotation is restored, then it opens with the KEK versions it holds itself', async () => {
    // The live keyring retired v1 and deleted its material; the backup still holds v1.
    const restored = await restoreBackup(keysDir);
    expect(await kekStatuses(restored)).toEqual(['v1:active']);
    await exportOf(restored, live.checkoutKey, live.kept.identityId).expect(200);
  });

  it('when the live database is started after the rotation, then data written before and after the backup reads', async () => {
    engine = await startEngine(dataDir);
    app = await startService(engine, keysDir);
    expect(await kekStatuses(app)).toEqual(['v1:retired', 'v2:active']);
    await exportOf(app, live.checkoutKey, live.kept.identityId).expect(200);
    await exportOf(app, live.checkoutKey, live.afterBackupId).expect(200);
  });

  it('when the backup is restored without its KEYS_DIR, then the service refuses to start and writes no key', async () => {
    engine = await startEngine(copyTree(backup.dataDir, 'drill-restore-'));
    const emptyKeys = scratchDir('drill-nokeys-');
    await expect(startService(engine, emptyKeys)).rejects.toThrow(
      'no master key in KEYS_DIR, but the database holds keys wrapped by one',
    );
    expect(fs.readdirSync(emptyKeys)).toEqual([]);
  });

  it('when the backup is restored with the master key but without the access-log keys, then the service refuses and makes none up', async () => {
    engine = await startEngine(copyTree(backup.dataDir, 'drill-restore-'));
    const partialKeys = copyTree(backup.keysDir, 'drill-partkeys-');
    for (const file of fs.readdirSync(partialKeys).filter((name) => name.startsWith('audit-'))) {
      fs.rmSync(path.join(partialKeys, file));
    }
    const before = fs.readdirSync(partialKeys).sort();
    await expect(startService(engine, partialKeys)).rejects.toThrow(
      'but the database holds an access log keyed by it: restore KEYS_DIR (no key was generated)',
    );
    expect(fs.readdirSync(partialKeys).sort()).toEqual(before);
  });
});
