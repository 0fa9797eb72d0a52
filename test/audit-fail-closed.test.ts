import { auth } from './helpers/checkout-fixtures';
import { blockNextAppend } from './helpers/audit-blocking';
import { createTestApp, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

/** Audit writes are made to fail for real (helpers/audit-blocking.ts). */
let t: TestApp;
let auditorKey: string;
const events = () => t.connection.collection('audit_events');

beforeAll(async () => {
  t = await createTestApp();
  auditorKey = (await t.clientKey('auditor')).apiKey;
});
afterAll(() => t.close());

it.each([
  ['list', '/v1/audit-events'],
  ['verify', '/v1/audit-events/verify'],
  ['export', '/v1/audit-events/export?format=ndjson'],
])('when the %s event cannot be written, then 503 and no data', async (_label, path) => {
  // A read first, so that the latest event is on the stream this instance writes now.
  await t.http().get('/v1/audit-events?limit=1').set(auth(auditorKey)).expect(200);
  await blockNextAppend(t);
  const response = await t
    .http()
    .get(path)
    .set(auth(auditorKey))
    .set('X-Request-Id', 'req-blocked');
  expect(response.status).toBe(503);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(response.body)).toEqual(['error']);
  expect(response.body.error.code).toBe('SERVICE_UNAVAILABLE');
  expect(await events().countDocuments({ requestId: 'req-blocked' })).toBe(0);
});

it('when a denied attempt cannot be recorded, then 503 rather than a silent 401', async () => {
  await t.http().get('/v1/audit-events?limit=1').set(auth(auditorKey)).expect(200);
  await blockNextAppend(t);
  const response = await t.http().get('/v1/audit-events').set('X-Request-Id', 'req-denied-blocked');
  expect(response.status).toBe(503);
  expect(response.body.error.code).toBe('SERVICE_UNAVAILABLE');
});

it('when a write failed, then the next access is recorded on a fresh stream and verify points at the intruder', async () => {
  await t.http().get('/v1/audit-events?limit=1').set(auth(auditorKey)).expect(200);
  const blocked = await blockNextAppend(t);
  await t.http().get('/v1/audit-events').set(auth(auditorKey)).expect(503);
  const response = await t
    .http()
    .get('/v1/audit-events')
    .set(auth(auditorKey))
    .set('X-Request-Id', 'req-after')
    .expect(200);
  const [after] = await events().find({ requestId: 'req-after' }).toArray();
  expect(after!.stream).not.toBe(blocked.stream);
  expect(after!.seq).toBe(1);
  expect(response.body.items.length).toBeGreaterThan(0);

  const verify = await t.http().get('/v1/audit-events/verify').set(auth(auditorKey)).expect(200);
  // Every blocked stream ends in a foreign document, and verify names the first such one.
  expect(verify.body.ok).toBe(false);
  expect(verify.body.firstInvalid.reason).toBe('HASH_MISMATCH');
  const intruders = await events()
    .find({ hash: { $exists: false } })
    .toArray();
  expect(intruders.map((doc) => `${doc.stream}:${doc.seq}`)).toContain(
    `${verify.body.firstInvalid.stream}:${verify.body.firstInvalid.seq}`,
  );

  await events().deleteMany({ hash: { $exists: false } });
  const clean = await t.http().get('/v1/audit-events/verify').set(auth(auditorKey)).expect(200);
  expect(clean.body).toMatchObject({ ok: true });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
