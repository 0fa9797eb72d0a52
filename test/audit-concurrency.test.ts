import { auth } from './helpers/checkout-fixtures';
import { createTestApp, freshDatabaseName, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

let first: TestApp;
let second: TestApp;
let auditorKey: string;

beforeAll(async () => {
  const DB_NAME = freshDatabaseName();
  first = await createTestApp({ DB_NAME });
  second = await createTestApp({ DB_NAME });
  auditorKey = (await first.clientKey('auditor')).apiKey;
});
afterAll(async () => {
  await second.stop();
  await second.connection.close();
  await first.close();
});

it('when two instances write at once, then each keeps its own gap-free chain and both verify', async () => {
  const calls = Array.from({ length: 60 }, (_, i) => {
    const app = i % 2 === 0 ? first : second;
    const path = i % 3 === 0 ? '/v1/audit-events/verify' : '/v1/audit-events?limit=5';
    // Every fifth call is refused, so DENIED events interleave with the others.
    return i % 5 === 0
      ? app.http().get(path).expect(401)
      : app.http().get(path).set(auth(auditorKey)).expect(200);
  });
  await Promise.all(calls);

  const stored = await first.connection
    .collection('audit_events')
    .find()
    .sort({ stream: 1, seq: 1 })
    .toArray();
  const byStream = new Map<string, number[]>();
  for (const event of stored) {
    byStream.set(event.stream, [...(byStream.get(event.stream) ?? []), event.seq]);
  }
  expect(byStream.size).toBe(2);
  for (const seqs of byStream.values()) {
    expect(seqs).toEqual(seqs.map((_, index) => index + 1));
  }
  // 48 accepted calls, and 12 refusals of 4 kinds (instance x route): identical
  // refusals are written once and counted until their window ends.
  expect(stored.length).toBe(48 + 4);

  for (const app of [first, second]) {
    const response = await app
      .http()
      .get('/v1/audit-events/verify')
      .set(auth(auditorKey))
      .expect(200);
    expect(response.body).toMatchObject({ ok: true, streams: 2 });
    expect(response.body.firstInvalid).toBeUndefined();
  }
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(first.connection);
});
