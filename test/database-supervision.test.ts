import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/db/embedded-database';
import { acceptsConnections } from '../src/db/embedded/loopback';
import { projectRoot } from '../src/db/project-root';
import { engineUnderTest, eventually, startOwnEngine } from './helpers/embedded-engine';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';

/** The bound on one database operation in these tests. */
const OPERATION_BOUND_MS = 1500;

function registerClient(t: TestApp, name: string) {
  return t
    .http()
    .post('/v1/clients')
    .set('Authorization', `Bearer ${ADMIN_KEY}`)
    .send({ name, role: 'auditor' });
}

describe('the database under supervision', () => {
  let engine: Awaited<ReturnType<typeof startOwnEngine>>;
  let database: EmbeddedDatabase;
  let t: TestApp;

  beforeAll(async () => {
    engine = await startOwnEngine();
    database = engine.database;
    t = await createTestApp(
      {
        MONGODB_URI: database.uri,
        DB_TIMEOUT_MS: '1000',
        DB_OPERATION_TIMEOUT_MS: String(OPERATION_BOUND_MS),
      },
      { embeddedDatabase: database },
    );
  });

  afterAll(async () => {
    process.kill(database.pid()!, 'SIGCONT');
    await t.close();
    await engine.remove();
  });

  it('when the engine is paused, then a request gets 503 DATABASE_UNAVAILABLE within the bound, and works again once it resumes', async () => {
    await registerClient(t, 'before the pause').expect(201);

    process.kill(database.pid()!, 'SIGSTOP');
    const startedAt = Date.now();
    const paused = await registerClient(t, 'while paused');
    const waitedMs = Date.now() - startedAt;
    process.kill(database.pid()!, 'SIGCONT');

    expect(paused.status).toBe(503);
    expect(paused.body.error.code).toBe('DATABASE_UNAVAILABLE');
    // The bound plus time for the driver to notice: never the 30 s+ of an unbounded wait.
    expect(waitedMs).toBeLessThan(OPERATION_BOUND_MS + 3000);
    await eventually(async () => (await registerClient(t, 'after the pause')).status === 201);
  });

  it('when the engine is killed, then /readyz says it is restarting, the supervisor brings it back and acknowledged writes survive', async () => {
    const before = await t.clientKey('auditor');
    const killedPid = database.pid()!;

    process.kill(killedPid, 'SIGKILL');
    await eventually(async () => {
      const response = await t.http().get('/readyz');
      return response.status === 503 && response.body.database === 'restarting';
    });
    expect((await t.http().get('/healthz')).status).toBe(200);

    await eventually(async () => (await t.http().get('/readyz')).status === 200);
    expect(database.state()).toBe('running');
    expect(database.restarts()).toBe(1);
    expect(database.pid()).not.toBe(killedPid);
    const read = await t
      .http()
      .get('/v1/audit-events?limit=1')
      .set('Authorization', `Bearer ${before.apiKey}`);
    expect(read.status).toBe(200);
  });
});

describe('/readyz follows a database that is stopped', () => {
  it('when the engine is stopped and started again, then /readyz is 503 "unreachable" and then 200', async () => {
    const { database, dataDir, remove } = await startOwnEngine();
    const t = await createTestApp({ MONGODB_URI: database.uri, DB_TIMEOUT_MS: '1000' });
    let again: EmbeddedDatabase | undefined;
    try {
      await t.http().get('/readyz').expect(200, { status: 'ready', database: 'up' });

      await database.stop();
      await eventually(async () => (await t.http().get('/readyz')).status === 503);
      await t.http().get('/readyz').expect(503, { status: 'not ready', database: 'unreachable' });
      const write = await registerClient(t, 'while down');
      expect(write.status).toBe(503);
      expect(write.body.error.code).toBe('DATABASE_UNAVAILABLE');

      again = await startEmbeddedDatabase({
        engine: engineUnderTest(),
        projectRoot: projectRoot(),
        dataDir,
        port: database.port,
      });
      await eventually(async () => (await t.http().get('/readyz')).status === 200);
    } finally {
      await t.close();
      await again?.stop();
      await remove();
      expect(await acceptsConnections(database.port)).toBe(false);
    }
  });
});
