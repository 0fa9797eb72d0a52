import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../src/config';

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

  it('when nothing is set outside production, then development defaults apply', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ env: 'development', port: 8080, mongodbUri: undefined });
    expect(config.keysDir).toBe(path.resolve('./keys'));
  });
});
