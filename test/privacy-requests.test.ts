import { randomUUID } from 'node:crypto';
import { auth } from './helpers/auth';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * The register of a person's requests, through HTTP on a real database, with
 * an injected clock the tests move. Identity ids are random: the register
 * records a request for an identity it does not know (it may be erased).
 */
let t: TestApp;
let checkout: string;
let auditor: string;
/** 10:00 Beijing time on 2 March 2026. */
const START = new Date('2026-03-02T02:00:00Z');
let now = START;
const DAY = 86_400_000;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' }, { clock: () => now });
  checkout = (await t.clientKey('checkout')).apiKey;
  auditor = (await t.clientKey('auditor')).apiKey;
});
afterAll(() => t.close());

const record = (body: object, key = checkout) =>
  t.http().post('/v1/privacy-requests').set(auth(key)).send(body);
const answer = (requestId: string, body: object, key = checkout) =>
  t.http().post(`/v1/privacy-requests/${requestId}/answer`).set(auth(key)).send(body);
const list = (query: Record<string, string>, key = auditor) =>
  t.http().get('/v1/privacy-requests').query(query).set(auth(key));
const report = (query: Record<string, string>, key = auditor) =>
  t.http().get('/v1/privacy-requests/report').query(query).set(auth(key));

async function recorded(body: object = {}): Promise<{ requestId: string; dueAt: string }> {
  const response = await record({ identityId: randomUUID(), kind: 'ACCESS', ...body }).expect(201);
  return response.body;
}

async function metricsText(): Promise<string> {
  return (await t.http().get('/metrics').expect(200)).text;
}

interface Refusal {
  status: number;
  body: { error: { code: string; details: { path: string }[] } };
}

function expectRefused(response: Refusal, path: string) {
  expect(response.status).toBe(400);
  expect(response.body.error.code).toBe('VALIDATION_FAILED');
  expect(response.body.error.details.map((d) => d.path)).toContain(path);
}

// First in the file: the gauges count the whole register, so no other request is open yet.
describe('overdue requests and the alert', () => {
  let requestId: string;
  const around = {
    from: new Date(START.getTime() - DAY).toISOString(),
    to: new Date(START.getTime() + DAY).toISOString(),
  };

  it('when a request is unanswered 16 days later, then the list shows it OVERDUE, the report counts it, one warning is logged and the gauge reads 1', async () => {
    now = START;
    ({ requestId } = await recorded({ kind: 'DELETION' }));
    expect((await list({ status: 'OVERDUE' }).expect(200)).body.items).toEqual([]);
    expect(await t.privacyRequests.checkOverdue(now)).toEqual({
      open: 1,
      overdue: 0,
      newlyOverdue: 0,
    });
    expect(await metricsText()).toMatch(/^privacy_requests_overdue 0$/m);

    now = new Date(START.getTime() + 16 * DAY);
    const overdue = (await list({ status: 'OVERDUE' }).expect(200)).body;
    expect(overdue.items.map((item: { requestId: string }) => item.requestId)).toEqual([requestId]);
    expect(overdue.items[0]).toMatchObject({ status: 'OPEN', overdue: true, outcome: null });
    expect((await report(around).expect(200)).body).toEqual({
      received: 1,
      answered: 0,
      answeredInTime: 0,
      answeredLate: 0,
      open: 1,
      overdue: 1,
    });

    expect(await t.privacyRequests.checkOverdue(now)).toEqual({
      open: 1,
      overdue: 1,
      newlyOverdue: 1,
    });
    const metrics = await metricsText();
    expect(metrics).toMatch(/^privacy_requests_overdue 1$/m);
    expect(metrics).toMatch(/^privacy_requests_open 1$/m);
    expect(metrics).toContain(`privacy_requests_checked_timestamp_seconds ${now.getTime() / 1000}`);

    // A later check finds nothing newly overdue: one warning per request, not per check.
    expect((await t.privacyRequests.checkOverdue(now)).newlyOverdue).toBe(0);
    const warnings = t.logs.filter((line) => line.includes('privacy request overdue'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: 40,
      privacyRequestId: requestId,
      kind: 'DELETION',
    });
    expect(warnings[0]).not.toContain('identityId');
  });

  it('when the overdue request is answered, then it is answered late and the gauge drops to 0', async () => {
    const response = await answer(requestId, { outcome: 'FULFILLED' }).expect(200);
    expect(response.body).toMatchObject({
      requestId,
      status: 'ANSWERED',
      outcome: 'FULFILLED',
      answeredAt: now.toISOString(),
      answeredInTime: false,
      overdue: false,
    });
    await t.privacyRequests.checkOverdue(now);
    expect(await metricsText()).toMatch(/^privacy_requests_overdue 0$/m);
    expect((await report(around).expect(200)).body).toEqual({
      received: 1,
      answered: 1,
      answeredInTime: 0,
      answeredLate: 1,
      open: 0,
      overdue: 0,
    });
  });
});

describe('POST /v1/privacy-requests', () => {
  beforeAll(() => {
    now = new Date('2026-04-10T00:00:00Z');
  });

  it('when a request is recorded, then 201 OPEN, due at the end of the 15th Beijing day after the day of receipt', async () => {
    const identityId = randomUUID();
    const response = await record({
      identityId,
      kind: 'COPY',
      receivedAt: '2026-04-01T23:30:00+08:00',
      channel: 'EMAIL',
    }).expect(201);
    expect(response.body).toEqual({
      requestId: expect.any(String),
      identityId,
      kind: 'COPY',
      channel: 'EMAIL',
      receivedAt: '2026-04-01T15:30:00.000Z',
      // 16 April 2026, 23:59:59.999 Beijing time.
      dueAt: '2026-04-16T15:59:59.999Z',
      status: 'OPEN',
      overdue: false,
      outcome: null,
      answeredAt: null,
      answeredInTime: null,
      note: null,
    });
  });

  it('when the request arrives just after midnight in Beijing (still the day before in UTC), then the Beijing day counts', async () => {
    const { dueAt } = await recorded({ receivedAt: '2026-04-01T00:10:00+08:00' });
    expect(dueAt).toBe('2026-04-16T15:59:59.999Z');
  });

  it('when the period crosses a month end, then the due date is in the next month', async () => {
    const { dueAt } = await recorded({ receivedAt: '2026-03-25T12:00:00+08:00' });
    expect(dueAt).toBe('2026-04-09T15:59:59.999Z');
  });

  it('when receivedAt is left out, then it is now (the injected clock)', async () => {
    const response = await record({ identityId: randomUUID(), kind: 'CONSENT_WITHDRAWAL' }).expect(
      201,
    );
    // 08:00 Beijing on 10 April: due at the end of 25 April.
    expect(response.body).toMatchObject({
      receivedAt: now.toISOString(),
      dueAt: '2026-04-25T15:59:59.999Z',
      channel: null,
    });
  });

  it('when the same relay is sent again (same identity, kind and receivedAt), then 200 and the same request', async () => {
    const body = {
      identityId: randomUUID(),
      kind: 'CORRECTION',
      receivedAt: '2026-04-09T09:00:00+08:00',
      channel: 'PHONE',
    };
    const first = await record(body).expect(201);
    const again = await record(body).expect(200);
    expect(again.body).toEqual(first.body);
    const otherChannel = await record({ ...body, channel: 'APP' }).expect(409);
    expect(otherChannel.body.error.code).toBe('CONFLICT');
  });

  it('when the kind is unknown, then 400 naming kind', async () => {
    expectRefused(await record({ identityId: randomUUID(), kind: 'ERASE_EVERYTHING' }), 'kind');
  });

  it('when receivedAt is in the future, then 400 naming receivedAt', async () => {
    const tomorrow = new Date(now.getTime() + DAY).toISOString();
    expectRefused(
      await record({ identityId: randomUUID(), kind: 'ACCESS', receivedAt: tomorrow }),
      'receivedAt',
    );
  });

  it('when receivedAt has no offset, then 400 naming receivedAt', async () => {
    expectRefused(
      await record({ identityId: randomUUID(), kind: 'ACCESS', receivedAt: '2026-04-01T10:00:00' }),
      'receivedAt',
    );
  });

  it('when the identity id is not a uuid or the channel unknown, then 400 naming them', async () => {
    expectRefused(await record({ identityId: '13800138000', kind: 'ACCESS' }), 'identityId');
    expectRefused(
      await record({ identityId: randomUUID(), kind: 'ACCESS', channel: 'FAX' }),
      'channel',
    );
  });
});

describe('POST /v1/privacy-requests/{requestId}/answer', () => {
  beforeAll(() => {
    now = new Date('2026-05-04T02:00:00Z');
  });

  it('when a request is answered within 15 days, then 200 ANSWERED and answeredInTime true', async () => {
    const { requestId } = await recorded({ receivedAt: '2026-05-01T10:00:00+08:00' });
    const response = await answer(requestId, {
      outcome: 'PARTIALLY_FULFILLED',
      note: '已通过应用导出；订单记录依法保留',
    }).expect(200);
    expect(response.body).toMatchObject({
      requestId,
      status: 'ANSWERED',
      outcome: 'PARTIALLY_FULFILLED',
      answeredAt: now.toISOString(),
      answeredInTime: true,
      note: '已通过应用导出；订单记录依法保留',
    });
  });

  it('when answered at the last instant of the due day, then in time; one millisecond later, then late', async () => {
    now = new Date('2026-06-01T00:00:00Z');
    const onTime = await recorded({ receivedAt: '2026-05-01T10:00:00+08:00' });
    const late = await recorded({ receivedAt: '2026-05-01T11:00:00+08:00' });
    expect(onTime.dueAt).toBe('2026-05-16T15:59:59.999Z');
    const atDue = await answer(onTime.requestId, {
      outcome: 'FULFILLED',
      answeredAt: '2026-05-16T23:59:59.999+08:00',
    }).expect(200);
    expect(atDue.body.answeredInTime).toBe(true);
    const afterDue = await answer(late.requestId, {
      outcome: 'FULFILLED',
      answeredAt: '2026-05-17T00:00:00+08:00',
    }).expect(200);
    expect(afterDue.body.answeredInTime).toBe(false);
  });

  it('when the same answer is sent again, then 200 and the stored answer; another answer, then 409 INVALID_STATE_TRANSITION', async () => {
    const { requestId } = await recorded();
    const body = { outcome: 'REFUSED', note: 'Not an account holder of the platform' };
    const first = await answer(requestId, body).expect(200);
    now = new Date(now.getTime() + 60_000);
    const replay = await answer(requestId, body).expect(200);
    expect(replay.body).toEqual(first.body);

    for (const other of [
      { outcome: 'FULFILLED' },
      { ...body, note: 'Another note' },
      { outcome: 'REFUSED' },
      { ...body, answeredAt: now.toISOString() },
    ]) {
      const conflict = await answer(requestId, other).expect(409);
      expect(conflict.body.error.code).toBe('INVALID_STATE_TRANSITION');
    }
  });

  it('when answeredAt is before receivedAt, then 400 naming answeredAt and the request stays OPEN', async () => {
    const { requestId } = await recorded({ receivedAt: '2026-05-20T10:00:00+08:00' });
    expectRefused(
      await answer(requestId, { outcome: 'FULFILLED', answeredAt: '2026-05-20T09:59:59+08:00' }),
      'answeredAt',
    );
    const open = await list({
      status: 'OPEN',
      from: '2026-05-20T10:00:00+08:00',
      to: '2026-05-20T10:00:01+08:00',
    }).expect(200);
    expect(open.body.items.map((item: { requestId: string }) => item.requestId)).toEqual([
      requestId,
    ]);
  });

  it('when answeredAt is in the future or the outcome unknown, then 400 naming it', async () => {
    const { requestId } = await recorded();
    const tomorrow = new Date(now.getTime() + DAY).toISOString();
    expectRefused(
      await answer(requestId, { outcome: 'FULFILLED', answeredAt: tomorrow }),
      'answeredAt',
    );
    expectRefused(await answer(requestId, { outcome: 'DONE' }), 'outcome');
    expectRefused(
      await answer(requestId, { outcome: 'FULFILLED', note: 'call 13800138000' }),
      'note',
    );
  });

  it('when the request does not exist, then 404', async () => {
    const response = await answer(randomUUID(), { outcome: 'FULFILLED' }).expect(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });
});

describe('GET /v1/privacy-requests', () => {
  const range = { from: '2025-10-01T00:00:00+08:00', to: '2025-11-01T00:00:00+08:00' };
  const ids: string[] = [];

  beforeAll(async () => {
    now = new Date('2025-10-31T00:00:00Z');
    for (const day of ['03', '01', '02']) {
      ids.push((await recorded({ receivedAt: `2025-10-${day}T12:00:00+08:00` })).requestId);
    }
    await answer(ids[1]!, { outcome: 'FULFILLED' }).expect(200);
  });

  it('when paged with limit 1, then every request of the range once, oldest received first, with an opaque cursor', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const query: Record<string, string> = { ...range, limit: '1', ...(after ? { after } : {}) };
      const page = (await list(query).expect(200)).body;
      seen.push(...page.items.map((item: { requestId: string }) => item.requestId));
      after = page.next;
    } while (after);
    expect(seen).toEqual([ids[1], ids[2], ids[0]]);
  });

  it('when filtered by status, then only those; OVERDUE are OPEN past their due date', async () => {
    const answered = (await list({ ...range, status: 'ANSWERED' }).expect(200)).body.items;
    expect(answered.map((item: { requestId: string }) => item.requestId)).toEqual([ids[1]]);
    // On 31 October the requests of 2 and 3 October are past due (17 and 18 October).
    const overdue = (await list({ ...range, status: 'OVERDUE' }).expect(200)).body.items;
    expect(overdue.map((item: { requestId: string }) => item.requestId)).toEqual([ids[2], ids[0]]);
  });

  it('when the report covers the range, then the counts add up', async () => {
    expect((await report(range).expect(200)).body).toEqual({
      received: 3,
      answered: 1,
      answeredInTime: 0,
      answeredLate: 1,
      open: 2,
      overdue: 2,
    });
  });

  it('when the status or the cursor is not valid, then 400 naming it', async () => {
    expectRefused(await list({ status: 'LATE' }), 'status');
    expectRefused(await list({ after: 'bm90LWEtY3Vyc29y' }), 'after');
    expectRefused(await report({ from: 'yesterday' }), 'from');
  });
});

describe('roles', () => {
  it.each(['carrier', 'customs', 'admin'])(
    'when a %s client records, answers, lists or reports, then 403',
    async (role) => {
      const partner = role === 'carrier' ? 'SF' : role === 'customs' ? 'BROKER1' : undefined;
      const other = (await t.clientKey(role, partner)).apiKey;
      const { requestId } = await recorded();
      expect((await record({ identityId: randomUUID(), kind: 'ACCESS' }, other)).status).toBe(403);
      expect((await answer(requestId, { outcome: 'FULFILLED' }, other)).status).toBe(403);
      expect((await list({}, other)).status).toBe(403);
      expect((await report({}, other)).status).toBe(403);
    },
  );

  it('when the checkout client lists or reports, then 403; the auditor cannot record or answer', async () => {
    expect((await list({}, checkout)).body.error.code).toBe('FORBIDDEN');
    expect((await report({}, checkout)).status).toBe(403);
    const { requestId } = await recorded();
    expect((await record({ identityId: randomUUID(), kind: 'ACCESS' }, auditor)).status).toBe(403);
    expect((await answer(requestId, { outcome: 'FULFILLED' }, auditor)).status).toBe(403);
  });

  it('when no key is sent, then 401', async () => {
    await t.http().get('/v1/privacy-requests').expect(401);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
