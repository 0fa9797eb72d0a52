import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from 'mongoose';
import { createCryptoModule } from '../src/crypto/crypto-module';
import { rotateKeyEncryptionKey } from '../src/crypto/key-rotation';
import { KeyringError } from '../src/crypto/keyring';
import { createKeyringStore } from '../src/crypto/keyring-store';
import { MASTER_KEY_FILES } from '../src/crypto/master-key';
import {
  MasterKeyRotationError,
  rotateMasterKey,
  type MasterKeyRotationOptions,
  type MasterKeyRotationStep,
} from '../src/crypto/master-key-rotation';
import { fileMasterKeyVersions } from '../src/crypto/master-key-set';
import { listMasterKeyVersions, masterKeyVersionDir } from '../src/crypto/master-key-versions';
import { generateTokenKey } from '../src/crypto/pkcs11/pkcs11-ceremony';
import { findByLabel } from '../src/crypto/pkcs11/pkcs11-keys';
import { tokenMasterKeyVersions } from '../src/crypto/pkcs11/pkcs11-master-key-versions';
import { openPkcs11Token } from '../src/crypto/pkcs11/pkcs11-token';
import * as pkcs11js from 'pkcs11js';
import { connectDatabase } from '../src/db/connection';
import { createLogger } from '../src/logger';
import { auth } from './helpers/auth';
import { randomPerson, registration, type Person } from './helpers/identity-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createSoftHsmToken, type SoftHsmToken } from './helpers/softhsm';
import { createTestApp, freshDatabaseName, type TestApp } from './helpers/test-app';

/**
 * Master-key rotation with the file provider, run as the CLI does: its own
 * connection against the database a running app serves from, and the app's
 * KEYS_DIR. Each test has its own KEYS_DIR and database.
 */
const root = path.resolve(__dirname, '..');
const silent = createLogger('silent');
const cleanup: (() => Promise<void> | void)[] = [];
const apps: TestApp[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Deployment {
  app: TestApp;
  keysDir: string;
  dbName: string;
  checkout: string;
  cli: Connection;
}

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An app on its own KEYS_DIR, with the file provider unless `env` names another. */
async function startApp(
  keysDir: string,
  dbName: string,
  env: Record<string, string> = {},
): Promise<TestApp> {
  const app = await createTestApp({
    KEYS_DIR: keysDir,
    KEY_PROVIDER: 'file',
    DB_NAME: dbName,
    DATA_KEY_CACHE_MS: '0',
    ...env,
  });
  apps.push(app);
  return app;
}

async function deployment(env: Record<string, string> = {}): Promise<Deployment> {
  const keysDir = tempDir('master-rotation-');
  const dbName = freshDatabaseName();
  const app = await startApp(keysDir, dbName, env);
  const checkout = (await app.clientKey('checkout')).apiKey;
  const cli = await connectDatabase(process.env.MONGODB_URI!, { dbName, timeoutMs: 5000 });
  cleanup.push(async () => {
    for (const started of apps.splice(0)) {
      await started.stop().catch(() => undefined);
      await started.connection.close().catch(() => undefined);
    }
    await cli.dropDatabase();
    await cli.close();
  });
  return { app, keysDir, dbName, checkout, cli };
}

async function register(d: Deployment, app = d.app): Promise<{ who: Person; id: string }> {
  const who = randomPerson();
  const response = await app
    .http()
    .post('/v1/identities')
    .set(auth(d.checkout))
    .send(registration(who))
    .expect(201);
  return { who, id: response.body.identityId as string };
}

async function expectReadable(d: Deployment, people: { who: Person; id: string }[], app = d.app) {
  for (const { who, id } of people) {
    const exported = await app
      .http()
      .get(`/v1/identities/${id}/export`)
      .set(auth(d.checkout))
      .expect(200);
    expect(exported.body.idNumber).toBe(who.idNumber);
  }
}

function rotate(d: Deployment, options: MasterKeyRotationOptions = {}) {
  return rotateMasterKey(
    { versions: fileMasterKeyVersions(d.keysDir), store: createKeyringStore(d.cli) },
    options,
  );
}

async function fingerprints(d: Deployment): Promise<string[]> {
  const entries = await createKeyringStore(d.cli).list();
  return entries.filter((entry) => entry.wrapped).map((entry) => entry.masterKeyFingerprint);
}

function versionFiles(keysDir: string, version: number): boolean {
  return fs.existsSync(
    path.join(masterKeyVersionDir(keysDir, version), MASTER_KEY_FILES.privateKey),
  );
}

describe('master-key rotation (file provider)', () => {
  it('when rotate-master runs beside a running app, then data written before reads after, the app reads and writes throughout, and only the new version is left', async () => {
    const d = await deployment();
    const before = [await register(d), await register(d)];
    const during: { who: Person; id: string }[] = [];
    const steps: MasterKeyRotationStep[] = [];

    const result = await rotate(d, {
      onStep: (step) => steps.push(step),
      async onProgress({ done }) {
        if (done !== 2) return;
        // Half the entries are under v2, half under v1, both versions on disk: the app serves on.
        expect(listMasterKeyVersions(d.keysDir)).toEqual([1, 2]);
        await expectReadable(d, before);
        during.push(await register(d));
      },
    });

    expect(result).toMatchObject({ toVersion: 2, destroyedVersions: [1], resumed: false });
    expect(result.rewrapped).toBe(result.verified);
    expect(steps.map((step) => step.step)).toEqual([
      'version-created',
      ...Array<string>(result.rewrapped).fill('entry-rewrapped'),
      'verified',
      'version-destroyed',
    ]);
    expect(listMasterKeyVersions(d.keysDir)).toEqual([2]);
    expect(versionFiles(d.keysDir, 1)).toBe(false);
    expect(new Set(await fingerprints(d))).toEqual(new Set([result.fingerprint]));
    await expectReadable(d, [...before, ...during]);

    // A KEK rotation by another process now wraps its new KEK with v2; the app finds v2 by itself.
    const crypto = createCryptoModule(
      { connection: d.cli, logger: silent },
      { env: 'test', keysDir: d.keysDir, dataKeyCacheMs: 0 },
    );
    await crypto.start();
    try {
      await rotateKeyEncryptionKey(
        { keyring: crypto.keyring, subjectKeys: crypto.subjectKeys },
        { batchSize: 10 },
      );
    } finally {
      await crypto.stop();
    }
    expect(new Set(await fingerprints(d))).toEqual(new Set([result.fingerprint]));
    const after = await register(d);
    await expectReadable(d, [...before, ...during, after]);

    // A restart has only v2 to read with, and reads everything.
    await d.app.stop();
    const restarted = await startApp(d.keysDir, d.dbName);
    await expectReadable(d, [...before, ...during, after], restarted);
    await expectNothingStoredInPlaintext(restarted.connection);
  });

  it('when a rotation is interrupted, then both versions stay, everything reads, and the next run resumes where it stopped', async () => {
    const d = await deployment();
    const people = [await register(d), await register(d)];
    await expect(
      rotate(d, {
        onProgress({ done }) {
          if (done === 2) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');

    expect(listMasterKeyVersions(d.keysDir)).toEqual([1, 2]);
    expect(new Set(await fingerprints(d)).size).toBe(2);
    // A fresh start (another instance) resolves each entry's version by its fingerprint.
    await d.app.stop();
    const restarted = await startApp(d.keysDir, d.dbName);
    await expectReadable(d, people, restarted);

    const total = (await fingerprints(d)).length;
    let started: { total: number; resumed: boolean } | undefined;
    const result = await rotate(d, { onStart: (info) => (started = info) });
    expect(started).toEqual(expect.objectContaining({ total: total - 2, resumed: true }));
    expect(result).toMatchObject({ toVersion: 2, destroyedVersions: [1], resumed: true });
    expect(result.verified).toBe(total);
    expect(listMasterKeyVersions(d.keysDir)).toEqual([2]);
    await expectReadable(d, people, restarted);
  });

  it('when an entry does not unwrap with the new version at the verification pass, then the old version is not destroyed', async () => {
    const d = await deployment();
    await register(d);
    const keyring = d.cli.collection('keyring');
    await expect(
      rotate(d, {
        async onProgress({ done, total }) {
          if (done !== total) return;
          // A damaged write: the entry names the new version but holds bytes it cannot open.
          const [first] = await keyring.find().sort({ purpose: 1, version: 1 }).limit(1).toArray();
          await keyring.updateOne(
            { _id: first!._id },
            { $set: { wrapped: randomBytes(384).toString('base64') } },
          );
        },
      }),
    ).rejects.toThrow(MasterKeyRotationError);
    expect(listMasterKeyVersions(d.keysDir)).toEqual([1, 2]);
    expect(versionFiles(d.keysDir, 1)).toBe(true);
  });

  it('when a backup was taken before the rotation, then it opens with the old KEYS_DIR only: the rotated one no longer reads it', async () => {
    const d = await deployment();
    await register(d);
    const backup = await d.cli.collection('keyring').find().toArray();
    const oldKeysDir = tempDir('master-rotation-backup-');
    fs.cpSync(d.keysDir, oldKeysDir, { recursive: true });
    await rotate(d);

    const restoreInto = async (keysDir: string) => {
      const connection = await connectDatabase(process.env.MONGODB_URI!, {
        dbName: freshDatabaseName(),
        timeoutMs: 5000,
      });
      cleanup.push(async () => {
        await connection.dropDatabase();
        await connection.close();
      });
      await connection.collection('keyring').insertMany(backup.map((entry) => ({ ...entry })));
      return createCryptoModule(
        { connection, logger: silent },
        { env: 'test', keysDir, dataKeyCacheMs: 0 },
      );
    };
    const withRotatedKeys = await restoreInto(d.keysDir);
    const refused = await withRotatedKeys.start().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KeyringError);
    expect((refused as Error).message).toContain('was wrapped by another master key');

    const withOldKeys = await restoreInto(oldKeysDir);
    await withOldKeys.start();
    expect(await withOldKeys.isReady()).toBe(true);
    await withOldKeys.stop();
  });

  it('when the CLI rotates the master key, then it names the versions and logs each step as a structured line', async () => {
    const d = await deployment();
    const people = [await register(d)];
    const uri = `${process.env.MONGODB_URI!.replace(/\/$/, '')}/${d.dbName}`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        path.join(root, 'node_modules/tsx/dist/cli.mjs'),
        'src/cli/keys.ts',
        'rotate-master',
        '--no-progress',
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          MONGODB_URI: uri,
          KEYS_DIR: d.keysDir,
          KEY_PROVIDER: 'file',
          NODE_ENV: 'development',
          LOG_LEVEL: 'info',
        },
        timeout: 60_000,
      },
    );
    expect(stdout).toMatch(
      /starting master key rotation: v1 -> v2, \d+ keyring entries to re-wrap/,
    );
    expect(stdout).toMatch(
      /rotated: \d+ keyring entries verified under master key v2 .*; destroyed v1/,
    );
    const events = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual([
      'master-key.version-created',
      'master-key.verified',
      'master-key.version-destroyed',
    ]);
    expect(listMasterKeyVersions(d.keysDir)).toEqual([2]);
    await expectReadable(d, people);
  });
});

describe('master-key rotation in a PKCS#11 token (SoftHSM2)', () => {
  let hsm: SoftHsmToken;
  beforeAll(async () => {
    hsm = await createSoftHsmToken('rotation-test');
    // As at the ceremony: with KEY_PROVIDER=pkcs11 the app signs in the token too.
    for (const key of ['master', 'checkpoint', 'disclosure'] as const) {
      await generateTokenKey(hsm.config, key);
    }
  });
  afterAll(() => hsm?.remove());

  /** How many objects (private key, public key, certificate) carry `label` in the token. */
  async function objectsLabelled(label: string): Promise<number> {
    const token = openPkcs11Token(hsm.config);
    try {
      return await token.run(
        (context) =>
          [pkcs11js.CKO_PRIVATE_KEY, pkcs11js.CKO_PUBLIC_KEY, pkcs11js.CKO_CERTIFICATE].flatMap(
            (objectClass) => findByLabel(context, objectClass, label),
          ).length,
      );
    } finally {
      await token.close();
    }
  }

  it('when rotate-master runs with KEY_PROVIDER=pkcs11, then a new pair is generated in the token, every entry moves to it while the app reads, and the old pair is destroyed there', async () => {
    const env = {
      KEY_PROVIDER: 'pkcs11',
      PKCS11_MODULE: hsm.config.module,
      PKCS11_TOKEN_LABEL: hsm.config.tokenLabel,
      PKCS11_PIN_FILE: hsm.env.PKCS11_PIN_FILE!,
    };
    const d = await deployment(env);
    const before = [await register(d), await register(d)];
    const during: { who: Person; id: string }[] = [];
    const versions = tokenMasterKeyVersions(hsm.config);
    expect(await versions.list()).toEqual([1]);
    expect(await objectsLabelled('customs-identity-master')).toBe(3);

    const result = await rotateMasterKey(
      { versions, store: createKeyringStore(d.cli) },
      {
        async onProgress({ done }) {
          if (done !== 2) return;
          expect(await versions.list()).toEqual([1, 2]);
          await expectReadable(d, before);
          during.push(await register(d));
        },
      },
    );

    expect(result).toMatchObject({ toVersion: 2, destroyedVersions: [1], resumed: false });
    expect(await versions.list()).toEqual([2]);
    expect(await objectsLabelled('customs-identity-master')).toBe(0);
    expect(await objectsLabelled('customs-identity-master-v2')).toBe(3);
    expect(new Set(await fingerprints(d))).toEqual(new Set([result.fingerprint]));
    await expectReadable(d, [...before, ...during]);

    await d.app.stop();
    const restarted = await startApp(d.keysDir, d.dbName, env);
    await expectReadable(d, [...before, ...during], restarted);
    expect(restarted.logs.join('')).toMatch(/"keyProvider":"pkcs11".*"masterKeyVersions":\[2\]/);
  });
});
