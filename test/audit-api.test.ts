import { auth } from './helpers/checkout-fixtures';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

let t: TestApp;
let auditor: { id: string; apiKey: string };
beforeAll(async () => {
  t = await createTestApp();
  auditor = await t.clientKey('auditor');
});
afterAll(() => t.close());

const events = () => t.connection.collection('audit_events');

/** The stored events of one request, by its request id. */
async function eventsOf(requestId: string) {
  return events().find({ requestId }).toArray();
}

type Page = { items: Array<Record<string, unknown>>; next: string | null };

/** GET /v1/audit-events as the auditor. */
function list(query: Record<string, string | number>) {
  return t.http().get('/v1/audit-events').query(query).set(auth(auditor.apiKey));
}

describe('GET /v1/audit-events', () => {
  it('when an auditor reads the log, then an audit.read event with that actor is written before the answer', async () => {
    const response = await t
      .http()
      .get('/v1/audit-events')
      .set(auth(auditor.apiKey))
      .set('X-Request-Id', 'req-read-1')
      .expect(200);
    // The read is on record before the page was read, so the page already holds it.
    const own = response.body.items.find(
      (item: { requestId: string }) => item.requestId === 'req-read-1',
    );
    expect(own).toMatchObject({
      actor: { clientId: auditor.id, role: 'auditor', partnerCode: null },
      action: 'audit.read',
      purpose: 'security-review',
      outcome: 'SUCCESS',
      subjectRef: null,
      resource: { route: '/v1/audit-events', id: null },
      fields: [],
      sourceIp: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$|^::1$/),
      seq: expect.any(Number),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await eventsOf('req-read-1')).toHaveLength(1);
  });

  it('when a stored event is read back, then it holds exactly the whitelisted fields', async () => {
    await t
      .http()
      .get('/v1/audit-events')
      .set(auth(auditor.apiKey))
      .set('X-Request-Id', 'req-keys')
      .expect(200);
    const [stored] = await eventsOf('req-keys');
    expect(Object.keys(stored!).sort()).toEqual(
      [
        '_id',
        'v',
        'stream',
        'seq',
        'at',
        'actor',
        'action',
        'purpose',
        'subjectRef',
        'subjectRefKeyId',
        'resource',
        'fields',
        'outcome',
        'requestId',
        'sourceIp',
        'prevHash',
        'hash',
      ].sort(),
    );
    expect(Object.keys(stored!.actor).sort()).toEqual(['clientId', 'partnerCode', 'role']);
    expect(Object.keys(stored!.resource).sort()).toEqual(['id', 'route']);
  });

  it('when the request has no API key, then 401 and a DENIED event with no actor', async () => {
    const response = await t
      .http()
      .get('/v1/audit-events')
      .set('X-Request-Id', 'req-401')
      .expect(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
    const stored = await eventsOf('req-401');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      actor: null,
      action: 'audit.read',
      outcome: 'DENIED',
      resource: { route: '/v1/audit-events', id: null },
    });
  });

  it.each(['admin', 'checkout', 'customs', 'carrier'])(
    'when the %s role reads the log, then 403 and a DENIED event naming the client',
    async (role) => {
      const partner = role === 'customs' || role === 'carrier' ? 'P9' : undefined;
      const client =
        role === 'admin'
          ? { id: 'bootstrap-admin', apiKey: ADMIN_KEY }
          : await t.clientKey(role, partner);
      const requestId = `req-403-${role}`;
      const response = await t
        .http()
        .get('/v1/audit-events/export')
        .set(auth(client.apiKey))
        .set('X-Request-Id', requestId)
        .expect(403);
      expect(response.body.error.code).toBe('FORBIDDEN');
      const stored = await eventsOf(requestId);
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({
        actor: { clientId: client.id, role, partnerCode: partner ?? null },
        action: 'audit.export',
        outcome: 'DENIED',
        resource: { route: '/v1/audit-events/export', id: null },
      });
    },
  );

  it('when filtered by actorId, action and outcome, then only matching events come back', async () => {
    const other = await t.clientKey('auditor');
    await t.http().get('/v1/audit-events/verify').set(auth(other.apiKey)).expect(200);
    await t.http().get('/v1/audit-events/verify').set(auth('cik_unknown')).expect(401);

    const byActor: Page = (await list({ actorId: other.id, limit: 500 }).expect(200)).body;
    expect(byActor.items.length).toBeGreaterThan(0);
    expect(
      byActor.items.every((item) => (item.actor as { clientId: string }).clientId === other.id),
    ).toBe(true);

    const verifies: Page = (await list({ action: 'audit.verify', limit: 500 }).expect(200)).body;
    expect(verifies.items.length).toBeGreaterThanOrEqual(2);
    expect(verifies.items.every((item) => item.action === 'audit.verify')).toBe(true);

    const denied: Page = (
      await list({ outcome: 'DENIED', action: 'audit.verify', limit: 500 }).expect(200)
    ).body;
    expect(denied.items).toHaveLength(1);
    expect(denied.items[0]).toMatchObject({ actor: null, outcome: 'DENIED' });
  });

  it('when filtered by identityId, then it matches the subject pseudonym, never the id itself', async () => {
    const identityId = '6d3c1a52-0d8e-4c59-8f4f-0b1d2e3f4a5b';
    // A read filtered by identity is itself recorded against that subject.
    const first: Page = (await list({ identityId }).expect(200)).body;
    expect(first.items).toHaveLength(1);
    const subjectRef = first.items[0]!.subjectRef as string;
    expect(subjectRef).toMatch(/^[0-9a-f]{64}$/);
    expect(first.items[0]!.subjectRefKeyId).toMatch(/^sr-[0-9a-f]{16}$/);
    const second: Page = (await list({ identityId }).expect(200)).body;
    expect(second.items).toHaveLength(2);
    expect(second.items.every((item) => item.subjectRef === subjectRef)).toBe(true);
    expect(JSON.stringify(await events().find({}).toArray())).not.toContain(identityId);
    const otherSubject: Page = (
      await list({ identityId: '11111111-2222-4333-8444-555555555555' }).expect(200)
    ).body;
    expect(otherSubject.items.every((item) => item.subjectRef !== subjectRef)).toBe(true);
  });

  it('when filtered by a time window, then only events inside [from, to) come back', async () => {
    const all: Page = (await list({ limit: 500 }).expect(200)).body;
    const middle = all.items[Math.floor(all.items.length / 2)]!;
    const from = middle.at as string;
    const after: Page = (await list({ from, limit: 500 }).expect(200)).body;
    expect(after.items.length).toBeGreaterThan(0);
    expect(after.items.every((item) => (item.at as string) >= from)).toBe(true);
    const before: Page = (await list({ to: from, limit: 500 }).expect(200)).body;
    expect(before.items.every((item) => (item.at as string) < from)).toBe(true);
  });

  it('when paging with the cursor while new events arrive, then every event appears once, in a stable order', async () => {
    for (let i = 0; i < 7; i += 1) {
      await t.http().get('/v1/audit-events/verify').set(auth(auditor.apiKey)).expect(200);
    }
    const to = new Date(Date.now() + 1).toISOString();
    const whole: Page = (await list({ limit: 500, to }).expect(200)).body;
    const seen: Array<Record<string, unknown>> = [];
    let after: string | null = null;
    do {
      // Every page read appends an audit.read event: pages after it must stay put.
      const page: Page = (
        await list({
          limit: 4,
          to,
          ...(after ? { after } : {}),
        }).expect(200)
      ).body;
      expect(page.items.length).toBeLessThanOrEqual(4);
      seen.push(...page.items);
      after = page.next;
    } while (after);
    expect(seen.map((item) => `${item.stream}:${item.seq}`)).toEqual(
      whole.items.map((item) => `${item.stream}:${item.seq}`),
    );
    const keys = seen.map(
      (item) => `${item.at}|${item.stream}|${String(item.seq).padStart(8, '0')}`,
    );
    expect([...keys].sort()).toEqual(keys);
  });

  it.each([
    ['after', { after: 'bm90LWEtY3Vyc29y' }],
    ['action', { action: 'identity.steal' }],
    ['outcome', { outcome: 'MAYBE' }],
    ['limit', { limit: 0 }],
    ['from', { from: 'yesterday' }],
    ['actorId', { actorId: '$ne' }],
  ])(
    'when %s is invalid, then 400 VALIDATION_FAILED on that path and no event',
    async (path, query) => {
      const requestId = `req-400-${path}`;
      const response = await t
        .http()
        .get('/v1/audit-events')
        .query(query)
        .set(auth(auditor.apiKey))
        .set('X-Request-Id', requestId)
        .expect(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
      expect(response.body.error.details.map((detail: { path: string }) => detail.path)).toEqual([
        path,
      ]);
      expect(await eventsOf(requestId)).toHaveLength(0);
    },
  );

  it.each(['post', 'put', 'patch', 'delete'] as const)(
    'when an auditor tries %s on the log, then no route exists and no event changes',
    async (method) => {
      const before = await events().countDocuments();
      const response = await t
        .http()
        [method]('/v1/audit-events')
        .set(auth(auditor.apiKey))
        .send({});
      expect(response.status).toBe(404);
      expect(await events().countDocuments()).toBe(before);
    },
  );
});

describe('GET /v1/audit-events/verify', () => {
  it('when the log is intact, then ok with the count checked, and the verification itself is an event', async () => {
    const response = await t
      .http()
      .get('/v1/audit-events/verify')
      .set(auth(auditor.apiKey))
      .set('X-Request-Id', 'req-verify')
      .expect(200);
    expect(response.body).toMatchObject({ ok: true, checked: await events().countDocuments() });
    expect(response.body.firstInvalid).toBeUndefined();
    const [stored] = await eventsOf('req-verify');
    expect(stored).toMatchObject({
      action: 'audit.verify',
      outcome: 'SUCCESS',
      actor: { clientId: auditor.id },
    });
  });
});

describe('GET /v1/audit-events/export', () => {
  it('when an auditor exports, then NDJSON with ECS names streams out, starting with nothing unrecorded', async () => {
    const response = await t
      .http()
      .get('/v1/audit-events/export?format=ndjson')
      .set(auth(auditor.apiKey))
      .set('X-Request-Id', 'req-export')
      .expect(200);
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = response.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.length).toBe(await events().countDocuments());
    const own = lines.find((line) => line.http.request.id === 'req-export');
    expect(own).toMatchObject({
      '@timestamp': expect.any(String),
      event: {
        action: 'audit.export',
        outcome: 'success',
        sequence: expect.any(Number),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
      user: { id: auditor.id, roles: ['auditor'] },
      url: { path: '/v1/audit-events/export' },
      customs_identity: {
        purpose: 'security-review',
        fields: [],
        chain: { stream: expect.any(String), prev_hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      },
    });
    const denied = lines.find(
      (line) => line.customs_identity.outcome === 'DENIED' && line.user.roles.length === 0,
    );
    expect(denied).toMatchObject({ event: { outcome: 'failure' } });
    const partner = lines.find((line) => line.organization);
    expect(partner.organization.id).toBe('P9');
  });

  it('when the format is not ndjson, then 400 on path format', async () => {
    const response = await t
      .http()
      .get('/v1/audit-events/export?format=csv')
      .set(auth(auditor.apiKey))
      .expect(400);
    expect(response.body.error.details[0].path).toBe('format');
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
