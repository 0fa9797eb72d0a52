import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ensureMasterKey } from '../src/crypto/crypto-module';
import { generateMasterKeyFiles, MASTER_KEY_FILES, MasterKeyError } from '../src/crypto/master-key';
import { createLogger } from '../src/logger';
import { createTestApp, freshDatabaseName } from './helpers/test-app';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'master-key-'));
// These tests are about the file provider: they name it, so `npm run test:hsm` runs them as is.

function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

describe('the master key file', () => {
  it('when the private key file is readable by others in production, then the start is refused', () => {
    const keysDir = tempDir();
    generateMasterKeyFiles(keysDir);
    fs.chmodSync(path.join(keysDir, MASTER_KEY_FILES.privateKey), 0o644);
    const { logger } = capturingLogger();
    try {
      expect(() =>
        ensureMasterKey({ env: 'production', keysDir, dataKeyCacheMs: 0 }, logger),
      ).toThrow(
        new MasterKeyError(
          'the master key file is readable by group or others: chmod 600 it before starting',
        ),
      );
      fs.chmodSync(path.join(keysDir, MASTER_KEY_FILES.privateKey), 0o600);
      expect(ensureMasterKey({ env: 'production', keysDir, dataKeyCacheMs: 0 }, logger).bits).toBe(
        3072,
      );
    } finally {
      fs.rmSync(keysDir, { recursive: true, force: true });
    }
  });

  it('when the private key file is readable by others in development, then the start warns', async () => {
    const keysDir = tempDir();
    generateMasterKeyFiles(keysDir);
    fs.chmodSync(path.join(keysDir, MASTER_KEY_FILES.privateKey), 0o644);
    const t = await createTestApp({ KEYS_DIR: keysDir, KEY_PROVIDER: 'file' });
    try {
      await t.http().get('/readyz').expect(200);
      expect(t.logs.join('')).toContain('the master key file is readable by group or others');
    } finally {
      await t.close();
      fs.rmSync(keysDir, { recursive: true, force: true });
    }
  });

  it('when the key files are gone but the database holds keys wrapped by them, then development writes no new key and fails', async () => {
    const DB_NAME = freshDatabaseName();
    const keysDir = tempDir();
    const first = await createTestApp({ DB_NAME, KEYS_DIR: keysDir, KEY_PROVIDER: 'file' });
    await first.stop();
    await first.connection.close();
    fs.rmSync(keysDir, { recursive: true, force: true });

    await expect(
      createTestApp({ DB_NAME, KEYS_DIR: keysDir, KEY_PROVIDER: 'file' }),
    ).rejects.toThrow('no master key in KEYS_DIR, but the database holds keys wrapped by one');
    expect(fs.existsSync(path.join(keysDir, MASTER_KEY_FILES.privateKey))).toBe(false);
  });
});
