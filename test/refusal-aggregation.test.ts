import { randomUUID } from 'node:crypto';
import { auth } from './helpers/auth';
import { eventually } from './helpers/embedded-engine';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import {
  deniedEvents,
  refusalsStated,
  restartOnSameDatabase,
  type ListedEvent,
} from './helpers/refusals-in-log';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * Identical refusals (same actor, address, route, action) are not written one
 * by one: the first is an event at once, the others in its window are counted,
 * and one chained event states how many there were when the window ends or the
 * instance stops. The count is covered by the event's MAC like every field.
 */
let t: TestApp;
let auditorKey: string;
const others: TestApp[] = [];

beforeEach(async () => {
  t = await createTestApp();
  auditorKey = (await t.clientKey('auditor')).apiKey;
});
afterEach(async () => {
  for (const app of others.splice(0)) await app.close();
  await t.close();
});

const readIdentity = (app: TestApp, key?: string) => {
  const call = app.http().get(`/v1/identities/${randomUUID()}`);
  return key ? call.set(auth(key)) : call;
};
const identityReads = { action: 'identity.read' };
const verify = (app: TestApp) =>
  app.http().get('/v1/audit-events/verify').set(auth(auditorKey)).expect(200);

it('when one address sends 25 identical refused reads, then one event is written at once and one more, written at shutdown, counts the other 24', async () => {
  const startedAt = Date.now();
  for (let i = 0; i < 25; i += 1) await readIdentity(t).expect(401);

  const during = await deniedEvents(t, auditorKey, identityReads);
  expect(during).toHaveLength(1);
  expect(during[0]!.repeat).toBeUndefined();

  const reader = await restartOnSameDatabase(t);
  others.push(reader);
  const after = await deniedEvents(reader, auditorKey, identityReads);
  expect(after).toHaveLength(2);
  const aggregate = after[1]!;
  expect(aggregate).toMatchObject({
    actor: null,
    outcome: 'DENIED',
    resource: { route: '/v1/identities/:identityId' },
    repeat: { count: 24 },
  });
  const { firstAt, lastAt } = aggregate.repeat!;
  expect(Date.parse(firstAt)).toBeGreaterThanOrEqual(startedAt);
  expect(Date.parse(firstAt)).toBeLessThanOrEqual(Date.parse(lastAt));
  expect(Date.parse(lastAt)).toBeLessThanOrEqual(Date.parse(aggregate.at));
  expect(refusalsStated(after)).toBe(25);
  expect((await verify(reader)).body).toMatchObject({ ok: true, findings: [] });
});

it('when the window ends, then the counted refusals are written without waiting for shutdown, and the next refusal opens a new window with its own event', async () => {
  const app = await createTestApp({ AUDIT_REFUSAL_WINDOW_MS: '1000' });
  others.push(app);
  const key = (await app.clientKey('auditor')).apiKey;
  await Promise.all(Array.from({ length: 4 }, () => readIdentity(app).expect(401)));

  let events: ListedEvent[] = [];
  await eventually(async () => {
    events = await deniedEvents(app, key, identityReads);
    return events.some((event) => event.repeat);
  }, 10_000);
  expect(refusalsStated(events)).toBe(4);

  await readIdentity(app).expect(401);
  const next = await deniedEvents(app, key, identityReads);
  expect(next).toHaveLength(events.length + 1);
  expect(next[next.length - 1]!.repeat).toBeUndefined();
});

it('when refusals differ in actor, route or key, then each kind gets its own event', async () => {
  const carrier = await t.clientKey('carrier', 'SF');
  const checkout = await t.clientKey('checkout');
  for (let i = 0; i < 3; i += 1) {
    await readIdentity(t).expect(401);
    await readIdentity(t, carrier.apiKey).expect(403);
    await t.http().get('/v1/audit-events/verify').set(auth(checkout.apiKey)).expect(403);
  }

  const during = await deniedEvents(t, auditorKey);
  expect(during.map((event) => [event.resource.route, event.actor?.clientId ?? null])).toEqual([
    ['/v1/identities/:identityId', null],
    ['/v1/identities/:identityId', carrier.id],
    ['/v1/audit-events/verify', checkout.id],
  ]);

  const reader = await restartOnSameDatabase(t);
  others.push(reader);
  const after = await deniedEvents(reader, auditorKey);
  expect(after.filter((event) => event.repeat).map((event) => event.repeat!.count)).toEqual([
    2, 2, 2,
  ]);
  expect(refusalsStated(after)).toBe(9);
});

it('when the count of an aggregated event is edited or removed in the database, then verify fails at that event', async () => {
  for (let i = 0; i < 5; i += 1) await readIdentity(t).expect(401);
  const reader = await restartOnSameDatabase(t);
  others.push(reader);
  const aggregate = (await deniedEvents(reader, auditorKey, identityReads)).find((e) => e.repeat)!;
  const events = reader.connection.collection('audit_events');
  const where = { stream: aggregate.stream, seq: aggregate.seq };

  await events.updateOne(where, { $set: { 'repeat.count': 1 } });
  const lowered = (await verify(reader)).body;
  await events.updateOne(where, { $unset: { repeat: '' } });
  const removed = (await verify(reader)).body;

  for (const result of [lowered, removed]) {
    expect(result.ok).toBe(false);
    expect(result.findings).toContainEqual({
      stream: aggregate.stream,
      seq: aggregate.seq,
      reason: 'HASH_MISMATCH',
    });
  }
});

it('when the log is exported, then an aggregated event carries its count and its first and last time', async () => {
  for (let i = 0; i < 3; i += 1) await readIdentity(t).expect(401);
  const reader = await restartOnSameDatabase(t);
  others.push(reader);
  const response = await reader
    .http()
    .get('/v1/audit-events/export')
    .query({ outcome: 'DENIED', action: 'identity.read' })
    .set(auth(auditorKey))
    .expect(200);
  const lines = response.text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const aggregate = lines.find((line) => line.customs_identity.repeat);
  expect(aggregate.customs_identity.repeat.count).toBe(2);
  expect(Date.parse(aggregate.event.start)).toBeLessThanOrEqual(Date.parse(aggregate.event.end));
});

it('stores no personal data in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
