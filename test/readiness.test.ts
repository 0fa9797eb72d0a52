import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  projectRoot,
  startEmbeddedFerretdb,
  type EmbeddedDatabase,
} from '../src/db/embedded-ferretdb';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';

/** Polls until the predicate holds; readiness flips asynchronously with the driver's monitor. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('/readyz follows the database', () => {
  let dataDir: string;
  let database: EmbeddedDatabase;
  let t: TestApp;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'readyz-'));
    database = await startEmbeddedFerretdb({ projectRoot: projectRoot(), dataDir });
    t = await createTestApp({ MONGODB_URI: database.uri, DB_TIMEOUT_MS: '1000' });
  });

  afterAll(async () => {
    await t.close();
    await database.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when the database goes away and comes back, then /readyz is 503 and then 200 again', async () => {
    await t.http().get('/readyz').expect(200);

    await database.stop();
    await eventually(async () => (await t.http().get('/readyz')).status === 503);
    const down = await t.http().get('/readyz');
    expect(down.body).toEqual({ status: 'not ready' });
    await t.http().get('/healthz').expect(200);
    const write = await t
      .http()
      .post('/v1/clients')
      .set('Authorization', `Bearer ${ADMIN_KEY}`)
      .send({ name: 'while down', role: 'auditor' });
    expect(write.status).toBe(503);
    expect(write.body.error.code).toBe('SERVICE_UNAVAILABLE');

    database = await startEmbeddedFerretdb({
      projectRoot: projectRoot(),
      dataDir,
      port: database.port,
    });
    await eventually(async () => (await t.http().get('/readyz')).status === 200);
  });
});
