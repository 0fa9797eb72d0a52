import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { EmbeddedDatabaseUnavailable } from '../src/db/embedded/engine';
import { ensureFerretdbBinary } from '../src/db/embedded/ferretdb';

const root = path.resolve(__dirname, '..');

/** Starts the real entry point with a given environment and returns how it ended. */
function startService(env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stderr: result.stderr.trim() };
}

describe('configuration', () => {
  it('when PORT is not a number, then the service exits 1 with one clear line', () => {
    const { status, stderr } = startService({
      PORT: 'eighty',
      MONGODB_URI: 'mongodb://127.0.0.1:1/',
    });
    expect(status).toBe(1);
    expect(stderr).toBe('invalid configuration: PORT has an invalid value');
  });

  it('when production has no MONGODB_URI, then it exits 1 naming the variable', () => {
    const { status, stderr } = startService({
      NODE_ENV: 'production',
      ADMIN_API_KEY: 'a'.repeat(40),
    });
    expect(status).toBe(1);
    expect(stderr).toBe('invalid configuration: MONGODB_URI is required in production');
  });

  it('when production has no ADMIN_API_KEY, then it is required and has no default', () => {
    expect(() =>
      loadConfig({ NODE_ENV: 'production', MONGODB_URI: 'mongodb://db.internal:27017/' }),
    ).toThrow('invalid configuration: ADMIN_API_KEY is required in production');
  });

  it('when a secret is too short, then the message does not repeat it', () => {
    expect(() => loadConfig({ ADMIN_API_KEY: 'short-secret' })).toThrow(
      'invalid configuration: ADMIN_API_KEY is too short (at least 32 characters)',
    );
  });

  it('when KEYRING_REFRESH_MS is negative, then it is refused naming the variable; 0 turns the reload off', () => {
    expect(() => loadConfig({ KEYRING_REFRESH_MS: '-1' })).toThrow(
      'invalid configuration: KEYRING_REFRESH_MS',
    );
    expect(loadConfig({ KEYRING_REFRESH_MS: '0' }).keyringRefreshMs).toBe(0);
  });

  it('when nothing is set outside production, then development defaults apply', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ env: 'development', port: 8080, mongodbUri: undefined });
    expect(config.keyringRefreshMs).toBe(30_000);
    expect(config.keysDir).toBe(path.resolve('./keys'));
  });
});

describe('embedded database prerequisites', () => {
  /** Nothing on PATH: no java, no javac, no mvn, no go. */
  const noTools = () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-tools-'));
    return { PATH: empty, DATA_DIR: empty, KEYS_DIR: path.join(empty, 'keys') };
  };

  it('when there is neither MONGODB_URI nor Java, then the service exits 1 with one line naming both ways out', () => {
    const env = noTools();
    const { status, stderr } = startService(env);
    fs.rmSync(env.PATH, { recursive: true, force: true });
    expect(status).toBe(1);
    expect(stderr).toBe(
      'no database: set MONGODB_URI to a MongoDB server, or install Java 17+ and Maven so the embedded mongo-java-server can be fetched (java is missing)',
    );
  });

  it('when FerretDB is chosen and there is neither MONGODB_URI nor Go, then one line names both ways out', () => {
    const emptyRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'no-go-'));
    try {
      expect(() => ensureFerretdbBinary(emptyRoot, () => undefined, { PATH: emptyRoot })).toThrow(
        new EmbeddedDatabaseUnavailable(
          'no database: set MONGODB_URI to a MongoDB server, or install Go so the embedded FerretDB (EMBEDDED_DB=ferretdb) can be built',
        ),
      );
    } finally {
      fs.rmSync(emptyRoot, { recursive: true, force: true });
    }
  });

  it('when EMBEDDED_DB names an unknown engine, then the service exits 1 naming the variable', () => {
    const { status, stderr } = startService({ EMBEDDED_DB: 'sqlite' });
    expect(status).toBe(1);
    expect(stderr).toBe('invalid configuration: EMBEDDED_DB has an invalid value');
  });
});
