import { randomBytes, randomUUID } from 'node:crypto';
import { auth } from './helpers/auth';
import { randomPerson, registration } from './helpers/identity-fixtures';
import { deniedEvents, refusalsStated, restartOnSameDatabase } from './helpers/refusals-in-log';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';

/**
 * Refused requests are limited per source address and per presented key, so a
 * flood of bad keys neither grows the access log nor starves a valid client
 * behind the same address. supertest calls all come from one loopback address.
 */
const PER_ADDRESS = 5;
const PER_KEY = 3;

let t: TestApp;
let checkoutKey: string;
let auditorKey: string;
let identityId: string;

beforeEach(async () => {
  t = await createTestApp({
    REFUSALS_PER_MINUTE_PER_ADDRESS: String(PER_ADDRESS),
    REFUSALS_PER_MINUTE_PER_KEY: String(PER_KEY),
  });
  checkoutKey = (await t.clientKey('checkout')).apiKey;
  auditorKey = (await t.clientKey('auditor')).apiKey;
  const created = await t
    .http()
    .post('/v1/identities')
    .set(auth(checkoutKey))
    .send(registration(randomPerson()))
    .expect(201);
  identityId = created.body.identityId;
});
const others: TestApp[] = [];
afterEach(async () => {
  for (const app of others.splice(0)) await app.close();
  await t.close();
});

const readIdentity = (key?: string) => {
  const call = t.http().get(`/v1/identities/${identityId}`);
  return key ? call.set(auth(key)) : call;
};

/**
 * Refused identity reads the access log states, as the security team sees
 * them once the instance has stopped (identical refusals are counted into one
 * event, written when their window ends or at shutdown).
 */
async function deniedIdentityReads(): Promise<number> {
  const reader = await restartOnSameDatabase(t);
  others.push(reader);
  return refusalsStated(await deniedEvents(reader, auditorKey, { action: 'identity.read' }));
}

/** Sends `count` refused-looking calls one by one; every fifth, the valid client reads too. */
async function flood(count: number, send: (i: number) => ReturnType<typeof readIdentity>) {
  const statuses: number[] = [];
  const validStatuses: number[] = [];
  let lastLimited: { code: string; retryAfter: number } | null = null;
  for (let i = 0; i < count; i += 1) {
    const response = await send(i);
    statuses.push(response.status);
    if (response.status === 429) {
      lastLimited = {
        code: response.body.error.code,
        retryAfter: Number(response.headers['retry-after']),
      };
    }
    if (i % 5 === 0) validStatuses.push((await readIdentity(checkoutKey)).status);
  }
  return { statuses, validStatuses, lastLimited };
}

const countOf = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe('refusals per source address', () => {
  it('when 40 calls without a key read an identity, then only the first few are recorded and the rest get 429 with Retry-After, while a valid client keeps reading', async () => {
    const { statuses, validStatuses, lastLimited } = await flood(40, () => readIdentity());

    expect(statuses.slice(0, PER_ADDRESS)).toEqual(Array(PER_ADDRESS).fill(401));
    expect(statuses.slice(PER_ADDRESS)).toEqual(Array(40 - PER_ADDRESS).fill(429));
    expect(lastLimited?.code).toBe('RATE_LIMITED');
    expect(lastLimited?.retryAfter).toBeGreaterThan(0);
    expect(lastLimited?.retryAfter).toBeLessThanOrEqual(60);
    expect(validStatuses).toEqual(Array(8).fill(200));
    expect(await deniedIdentityReads()).toBe(PER_ADDRESS);
  });

  it('when 30 calls without a key arrive at once, then no more than the limit are recorded', async () => {
    const responses = await Promise.all(Array.from({ length: 30 }, () => readIdentity()));
    const statuses = responses.map((r) => r.status);

    expect(countOf(statuses, 401)).toBeLessThanOrEqual(PER_ADDRESS);
    expect(countOf(statuses, 401) + countOf(statuses, 429)).toBe(30);
    await readIdentity(checkoutKey).expect(200);
    expect(await deniedIdentityReads()).toBe(countOf(statuses, 401));
  });

  it('when every call presents a different made-up key, then the address limit still caps the recorded refusals', async () => {
    const keys = Array.from({ length: 30 }, () => randomBytes(24).toString('base64url'));
    const { statuses, validStatuses, lastLimited } = await flood(30, (i) => readIdentity(keys[i]));

    expect(countOf(statuses, 401)).toBe(PER_ADDRESS);
    expect(countOf(statuses, 429)).toBe(30 - PER_ADDRESS);
    expect(lastLimited?.code).toBe('RATE_LIMITED');
    expect(validStatuses).toEqual(Array(6).fill(200));
    expect(await deniedIdentityReads()).toBe(PER_ADDRESS);
    for (const key of keys) expect(t.logs.join('')).not.toContain(key);
  });
});

describe('refusals per presented key', () => {
  it('when a key of the wrong role reads an identity 20 times, then it is refused up to the key limit and then gets 429, while a valid client keeps reading', async () => {
    const carrier = await t.clientKey('carrier', 'SF');
    const { statuses, validStatuses, lastLimited } = await flood(20, () =>
      readIdentity(carrier.apiKey),
    );

    expect(statuses.slice(0, PER_KEY)).toEqual(Array(PER_KEY).fill(403));
    expect(statuses.slice(PER_KEY)).toEqual(Array(20 - PER_KEY).fill(429));
    expect(lastLimited?.code).toBe('RATE_LIMITED');
    expect(lastLimited?.retryAfter).toBeGreaterThan(0);
    expect(validStatuses).toEqual(Array(4).fill(200));
    expect(await deniedIdentityReads()).toBe(PER_KEY);
  });

  it('when a revoked key is presented 20 times, then it is refused up to the key limit and then gets 429', async () => {
    const revoked = await t.clientKey('checkout');
    await t.http().delete(`/v1/clients/${revoked.id}`).set(auth(ADMIN_KEY)).expect(204);
    const { statuses, validStatuses } = await flood(20, () => readIdentity(revoked.apiKey));

    expect(statuses.slice(0, PER_KEY)).toEqual(Array(PER_KEY).fill(401));
    expect(statuses.slice(PER_KEY)).toEqual(Array(20 - PER_KEY).fill(429));
    expect(validStatuses).toEqual(Array(4).fill(200));
    expect(await deniedIdentityReads()).toBe(PER_KEY);
  });

  it('when one key is over its limit, then a no-key call from the same address is still answered 401 until the address limit', async () => {
    const carrier = await t.clientKey('carrier', 'SF');
    await flood(PER_KEY + 2, () => readIdentity(carrier.apiKey));

    // The key's refusals also count for the address: PER_KEY of PER_ADDRESS are used.
    const rest = PER_ADDRESS - PER_KEY;
    for (let i = 0; i < rest; i += 1) await readIdentity().expect(401);
    const response = await readIdentity().expect(429);
    expect(response.body.error.code).toBe('RATE_LIMITED');
    expect(await t.http().get(`/v1/identities/${randomUUID()}`).set(auth(checkoutKey))).toEqual(
      expect.objectContaining({ status: 404 }),
    );
  });
});
