import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { acceptsConnections } from '../src/db/embedded/loopback';
import { engineUnderTest, eventually } from './helpers/embedded-engine';

const root = path.resolve(__dirname, '..');

/** The real entry point on a data folder of its own, with the engine under test. */
function startService(dataDir: string, keysDir = path.join(dataDir, 'keys')) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      DATA_DIR: dataDir,
      KEYS_DIR: keysDir,
      EMBEDDED_DB: engineUnderTest(),
    },
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, output, exited };
}

/** Resolves with a field of the first log line carrying `message`. */
function logField(
  child: ChildProcessWithoutNullStreams,
  output: { stdout: string },
  message: string,
  field: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${message}" line`)), 60_000);
    const look = () => {
      const line = output.stdout.split('\n').find((l) => l.includes(`"msg":"${message}"`));
      if (!line) return;
      clearTimeout(timer);
      child.stdout.off('data', look);
      resolve(JSON.parse(line)[field]);
    };
    child.stdout.on('data', look);
    look();
  });
}

describe('the service process and its embedded database', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'service-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('when the service gets SIGTERM, then it finishes, stops its embedded database and exits 0', async () => {
    const { child, output, exited } = startService(dataDir);
    try {
      const embeddedPort = await logField(
        child,
        output,
        'embedded database started',
        'embeddedPort',
      );
      const port = await logField(child, output, 'listening', 'port');
      await request(`http://127.0.0.1:${port}`).get('/readyz').expect(200);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output.stdout).toContain('"msg":"stopped"');
      expect(await acceptsConnections(embeddedPort)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('when the service is killed with SIGKILL, then its embedded database goes too', async () => {
    const { child, output, exited } = startService(dataDir);
    const embeddedPort = await logField(child, output, 'embedded database started', 'embeddedPort');
    await logField(child, output, 'listening', 'port');

    child.kill('SIGKILL');
    await exited;
    await eventually(async () => !(await acceptsConnections(embeddedPort)), 10_000);
  });

  it('when the start fails after the engine started (an unreadable master key), then it exits 1 and leaves no engine running', async () => {
    const keysDir = path.join(dataDir, 'broken-keys');
    fs.mkdirSync(keysDir);
    fs.writeFileSync(path.join(keysDir, 'master-key.pem'), 'not a key\n');
    const { child, output, exited } = startService(dataDir, keysDir);
    const embeddedPort = await logField(child, output, 'embedded database started', 'embeddedPort');

    expect(await exited).toBe(1);
    expect(output.stderr).toMatch(/^failed to start: MasterKeyError: /);
    expect(await acceptsConnections(embeddedPort)).toBe(false);
  });
});
