import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from 'mongoose';
import request from 'supertest';
import { demoReport } from '../scripts/demo-report';
import { DEMO_ROLES } from '../scripts/demo-data';
import { startDemo, type RunningDemo } from '../scripts/demo-service';
import { connectDatabase } from '../src/db/connection';
import { auth } from './helpers/auth';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { ADMIN_KEY, createTestApp, freshDatabaseName, keySettingsOfRun } from './helpers/test-app';

/**
 * `npm run demo` as a newcomer meets it: the service started on a database of
 * the demo's own, seeded through the API; the printed keys work, the data of
 * every capability is there, a second run adds nothing, and it refuses
 * production and databases holding anything else.
 */

const root = path.resolve(__dirname, '..');
const uri = process.env.MONGODB_URI!;
const dbName = freshDatabaseName();
let dataDir: string;
let connection: Connection;
let demo: RunningDemo | null = null;

const environment = () => ({
  MONGODB_URI: uri,
  NODE_ENV: 'development',
  ADMIN_API_KEY: ADMIN_KEY,
  DATA_DIR: dataDir,
  // The run's keys: under `npm run test:hsm` the demo signs and unwraps in the token too.
  ...keySettingsOfRun(),
  LOG_LEVEL: 'silent',
});

const run = () => startDemo(environment(), { dbName, port: 0 });

/**
 * What every start writes whatever the data: the access log's own records (its stream is
 * opened, checkpointed and closed), and the running instance's keyring report.
 */
const ACCESS_LOG = ['audit_events', 'audit_checkpoints', 'audit_streams', 'keyring_readers'];

/** Documents per collection, but the access log's. */
async function counts(): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const { name } of await connection.db!.listCollections().toArray()) {
    if (!ACCESS_LOG.includes(name)) {
      result[name] = await connection.db!.collection(name).countDocuments({});
    }
  }
  return result;
}

/** Access-log events about a person (with a subject): what reads, pulls and writes leave. */
const eventsAboutPeople = () =>
  connection.db!.collection('audit_events').countDocuments({ subjectRef: { $exists: true } });

const demoCli = (args: string[], env: Record<string, string>) =>
  promisify(execFile)(
    process.execPath,
    [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/demo.ts', '--no-serve', ...args],
    { cwd: root, env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-test-'));
  connection = await connectDatabase(uri, { dbName, timeoutMs: 5000 });
  demo = await run();
});

afterAll(async () => {
  await demo?.stop();
  await connection.dropDatabase().catch(() => undefined);
  await connection.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the first run', () => {
  it('registers five clients, keeps their keys in a file only its owner reads, and prints them with the console address', () => {
    const { result, url } = demo!;
    expect(result.seededNow).toBe(true);
    expect(result.registered).toEqual([...DEMO_ROLES]);
    expect(fs.statSync(result.keyFile).mode & 0o777).toBe(0o600);
    // The broker fetched the CEB621 XML and the typed client verified its signature.
    expect(result.summary.ceb621Xml).toBe(true);
    const printed = demoReport(demo!).join('\n');
    expect(printed).toContain(`${url}/console`);
    for (const role of DEMO_ROLES) expect(printed).toContain(result.clients[role].apiKey);
  });

  it('gives every client a key that works for its role', async () => {
    const { url, result } = demo!;
    const as = (role: (typeof DEMO_ROLES)[number]) => auth(result.clients[role].apiKey);
    await request(url).get('/v1/products/DEMO-MILK-900').set(as('checkout')).expect(200);
    await request(url).get('/v1/legal-holds').set(as('legal')).expect(200);

    const declarations = await request(url).get('/v1/declarations').set(as('customs')).expect(200);
    expect(
      declarations.body.items.map((item: { orderNo: string; status: string }) => [
        item.orderNo,
        item.status,
      ]),
    ).toEqual([
      ['DEMO-SO-0001', 'ACCEPTED'],
      ['DEMO-SO-0002', 'ENTERED'],
    ]);
    const shipments = await request(url)
      .get('/v1/shipments?status=READY')
      .set(as('carrier'))
      .expect(200);
    expect(shipments.body.items.map((item: { orderNo: string }) => item.orderNo)).toEqual([
      'DEMO-SO-0003',
    ]);

    const alerts = await request(url).get('/v1/audit-alerts').set(as('auditor')).expect(200);
    expect(alerts.body.items).toContainEqual(
      expect.objectContaining({
        rule: 'BULK_ACCESS',
        actor: result.clients.checkout.id,
        status: 'OPEN',
      }),
    );
  });

  it('shows a child registered with guardian consent, one person with two accounts, and a return', async () => {
    const { url, result } = demo!;
    const checkout = auth(result.clients.checkout.apiKey);
    const identityOf = (key: string) =>
      result.summary.registrations.find((registration) => registration.key === key)!.identityId;

    const child = await request(url)
      .get(`/v1/identities/${identityOf('child')}`)
      .set(checkout);
    expect(child.body.age).toBeLessThan(14);
    expect(child.body.relation).toBe('other');

    const quotas = await Promise.all(
      ['zhao-app', 'zhao-web'].map((key) =>
        request(url)
          .get(`/v1/identities/${identityOf(key)}/quota`)
          .set(checkout)
          .expect(200),
      ),
    );
    expect(quotas[0]!.body.usedFen).toBeGreaterThan(0);
    expect(quotas[1]!.body).toEqual(quotas[0]!.body);

    const orders = Object.fromEntries(result.summary.orders.map((order) => [order.orderNo, order]));
    expect(orders['DEMO-SO-0001']!.status).toBe('PARTIALLY_RETURNED');
    expect(orders['DEMO-SO-0004']!.reasons).toEqual(['SINGLE_LIMIT_EXCEEDED']);
    expect(result.summary.returned.restoredFen).toBeGreaterThan(0);
  });
});

describe('a second run on the same database', () => {
  it('adds nothing and prints the same keys', async () => {
    const first = demo!.result;
    await demo!.stop();
    demo = null;
    const before = await counts();
    const eventsBefore = await eventsAboutPeople();

    demo = await run();

    expect(demo.result.seededNow).toBe(false);
    expect(demo.result.registered).toEqual([]);
    expect(demo.result.clients).toEqual(first.clients);
    expect(demo.result.summary).toEqual(first.summary);
    expect(before).toEqual(
      expect.objectContaining({ clients: 5, identities: 7, orders: 5, products: 3 }),
    );
    expect(await counts()).toEqual(before);
    expect(eventsBefore).toBeGreaterThan(0);
    expect(await eventsAboutPeople()).toBe(eventsBefore);
  });

  it('when the key file is lost, registers the clients again and revokes the lost keys', async () => {
    const { clients: lost, keyFile } = demo!.result;
    await demo!.stop();
    demo = null;
    fs.rmSync(keyFile);
    const eventsBefore = await eventsAboutPeople();

    demo = await run();

    expect(demo.result.registered).toEqual([...DEMO_ROLES]);
    expect(demo.result.seededNow).toBe(false);
    expect(await eventsAboutPeople()).toEqual(eventsBefore);
    const { url, result } = demo;
    await request(url)
      .get('/v1/products/DEMO-MILK-900')
      .set(auth(lost.checkout.apiKey))
      .expect(401);
    await request(url)
      .get('/v1/products/DEMO-MILK-900')
      .set(auth(result.clients.checkout.apiKey))
      .expect(200);
    // The broker registered again has the same partner code: the same declarations.
    const declarations = await request(url)
      .get('/v1/declarations')
      .set(auth(result.clients.customs.apiKey))
      .expect(200);
    expect(declarations.body.items).toHaveLength(2);
  });
});

describe('refusals', () => {
  it('refuses to run in production, in one line, before touching anything', async () => {
    const answer = await demoCli([], { NODE_ENV: 'production', DATA_DIR: dataDir });
    expect(answer.code).toBe(1);
    expect(answer.stdout).toBe('');
    expect(answer.stderr.trim().split('\n')).toEqual([
      expect.stringContaining('refusing to run with NODE_ENV=production'),
    ]);
  });

  it('refuses a database holding data the demo did not create, and writes nothing there', async () => {
    const other = await createTestApp();
    try {
      await other.clientKey('checkout');
      const answer = await demoCli(['--db', other.connection.name], {
        MONGODB_URI: uri,
        NODE_ENV: 'development',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
      });
      expect(answer.code).toBe(1);
      expect(answer.stderr.trim().split('\n')).toEqual([
        expect.stringContaining('it holds data the demo did not create (1 API clients)'),
      ]);
      const collections = await other.connection.db!.listCollections().toArray();
      expect(collections.map(({ name }) => name)).not.toContain('demo_marker');
      expect(await other.connection.db!.collection('clients').countDocuments({})).toBe(1);
    } finally {
      await other.close();
    }
  });
});

it('stores no personal data in plaintext', async () => {
  await expectNothingStoredInPlaintext(connection);
});
