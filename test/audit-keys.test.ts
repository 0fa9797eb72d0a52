import { verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAccessLog } from '../src/audit/access-log';
import { checkpointPayload, type CheckpointRecord } from '../src/audit/audit-chain';
import {
  AuditKeyError,
  CHECKPOINT_KEY_FILE,
  CHECKPOINT_PUBLIC_KEY_FILE,
  EVENT_MAC_KEY_FILE,
  loadAuditKeys,
  SUBJECT_REF_KEY_FILE,
} from '../src/audit/audit-keys';
import { loadConfig } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { createLogger } from '../src/logger';
import { auth } from './helpers/checkout-fixtures';
import { ADMIN_KEY, createTestApp, freshDatabaseName } from './helpers/test-app';

const temporaryDirs: string[] = [];
function keysDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-keys-'));
  temporaryDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temporaryDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Builds and starts the access log as createApp does (the whole app is not
 * built here: other capabilities have production key requirements of their
 * own). Its keys are loaded at start, once it knows whether the database
 * already holds a log.
 */
async function buildApp(env: Record<string, string>) {
  const uri = process.env.MONGODB_URI!;
  const config = loadConfig({
    ADMIN_API_KEY: ADMIN_KEY,
    MONGODB_URI: uri,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const connection = await connectDatabase(uri, { dbName: freshDatabaseName(), timeoutMs: 5000 });
  try {
    const accessLog = createAccessLog({ connection, config, logger: createLogger('silent') });
    await accessLog.ensureIndexes();
    await accessLog.stop();
  } finally {
    await connection.dropDatabase().catch(() => undefined);
    await connection.close();
  }
}

describe('access log keys', () => {
  it('when production starts without the access log keys, then it refuses to start', async () => {
    const dir = keysDir();
    await expect(buildApp({ NODE_ENV: 'production', KEYS_DIR: dir })).rejects.toThrow(
      AuditKeyError,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('when production has the signing key but not the subjectRef key, then it refuses to start', async () => {
    const dir = keysDir();
    loadAuditKeys(dir, { generate: true });
    fs.rmSync(path.join(dir, SUBJECT_REF_KEY_FILE));
    await expect(buildApp({ NODE_ENV: 'production', KEYS_DIR: dir })).rejects.toThrow(
      /audit-subject-ref\.key/,
    );
  });

  it('when production has the other keys but not the event key, then it refuses to start', async () => {
    const dir = keysDir();
    loadAuditKeys(dir, { generate: true });
    fs.rmSync(path.join(dir, EVENT_MAC_KEY_FILE));
    await expect(buildApp({ NODE_ENV: 'production', KEYS_DIR: dir })).rejects.toThrow(
      /audit-event-mac\.key/,
    );
  });

  it('when development starts without keys, then it generates them (0600) and production accepts them', async () => {
    const dir = keysDir();
    await buildApp({ NODE_ENV: 'development', KEYS_DIR: dir });
    expect(fs.readdirSync(dir).sort()).toEqual(
      [
        CHECKPOINT_KEY_FILE,
        CHECKPOINT_PUBLIC_KEY_FILE,
        EVENT_MAC_KEY_FILE,
        SUBJECT_REF_KEY_FILE,
      ].sort(),
    );
    for (const file of [CHECKPOINT_KEY_FILE, EVENT_MAC_KEY_FILE, SUBJECT_REF_KEY_FILE]) {
      expect(fs.statSync(path.join(dir, file)).mode & 0o777).toBe(0o600);
    }
    expect(fs.readFileSync(path.join(dir, CHECKPOINT_KEY_FILE), 'utf8')).toMatch(
      /^-----BEGIN PRIVATE KEY-----/,
    );
    await expect(buildApp({ NODE_ENV: 'production', KEYS_DIR: dir })).resolves.toBeUndefined();
  });

  it('when the keys are loaded twice from one directory, then the key ids are the same', () => {
    const dir = keysDir();
    const first = loadAuditKeys(dir, { generate: true });
    const second = loadAuditKeys(dir, { generate: false });
    expect(second.subjectRefKeyId).toBe(first.subjectRefKeyId);
    expect(second.checkpointKeyId).toBe(first.checkpointKeyId);
  });

  it('when the signing key file is not an Ed25519 PKCS#8 key, then loading fails without quoting it', () => {
    const dir = keysDir();
    loadAuditKeys(dir, { generate: true });
    const secret = 'MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA';
    fs.writeFileSync(
      path.join(dir, CHECKPOINT_KEY_FILE),
      `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n`,
    );
    expect(() => loadAuditKeys(dir, { generate: false })).toThrow(AuditKeyError);
    expect(() => loadAuditKeys(dir, { generate: false })).not.toThrow(
      new RegExp(secret.slice(0, 12)),
    );
  });

  it('when the subjectRef key is shorter than 32 bytes, then loading fails', () => {
    const dir = keysDir();
    loadAuditKeys(dir, { generate: true });
    fs.writeFileSync(path.join(dir, SUBJECT_REF_KEY_FILE), 'c2hvcnQ=\n');
    expect(() => loadAuditKeys(dir, { generate: false })).toThrow(/too short/);
  });

  it('when two app starts share KEYS_DIR, then an identity gets the same subjectRef from both', async () => {
    const dir = keysDir();
    const identityId = '9e9cbb2c-2b4e-4a3e-9a55-0d6f7c1b2a3d';
    const refs: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const t = await createTestApp({ KEYS_DIR: dir });
      const { apiKey } = await t.clientKey('auditor');
      const response = await t
        .http()
        .get('/v1/audit-events')
        .query({ identityId })
        .set(auth(apiKey))
        .expect(200);
      refs.push(response.body.items[0].subjectRef);
      await t.close();
    }
    expect(refs[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(refs[1]).toBe(refs[0]);
  });

  it('when a checkpoint is checked with only the public key file and node:crypto, then its signature verifies', async () => {
    const dir = keysDir();
    const t = await createTestApp({ KEYS_DIR: dir });
    try {
      const checkpoint = (await t.connection
        .collection('audit_checkpoints')
        .findOne({})) as unknown as CheckpointRecord;
      const publicKeyPem = fs.readFileSync(path.join(dir, CHECKPOINT_PUBLIC_KEY_FILE), 'utf8');
      const signature = Buffer.from(checkpoint.signature, 'base64');
      expect(verify(null, checkpointPayload(checkpoint), publicKeyPem, signature)).toBe(true);
      expect(
        verify(null, checkpointPayload({ ...checkpoint, seq: 99 }), publicKeyPem, signature),
      ).toBe(false);
    } finally {
      await t.close();
    }
  });
});
