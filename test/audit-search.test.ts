import { auth, registerBuyer, registerSamePerson, type Buyer } from './helpers/checkout-fixtures';
import { idNumberFor } from './helpers/identity-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';

/**
 * POST /v1/audit-events/search: every event about the person with an id
 * number, across all their identity records, deleted ones too. The number
 * goes in the body and nowhere else: not the log, not the logs, not errors.
 */
let t: TestApp;
let checkoutKey: string;
let auditorKey: string;
let first: Buyer;
let second: Buyer;
let stranger: Buyer;

type Event = { subjectRef: string | null; action: string; requestId: string; fields: string[] };
type Page = { items: Event[]; next: string | null };

const events = () => t.connection.collection('audit_events');

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  checkoutKey = (await t.clientKey('checkout')).apiKey;
  auditorKey = (await t.clientKey('auditor')).apiKey;
  first = await registerBuyer(t, checkoutKey);
  // The same person under another user account: a second identity record.
  second = await registerSamePerson(t, checkoutKey, first, 'second-account');
  stranger = await registerBuyer(t, checkoutKey);
  await t.http().get(`/v1/identities/${first.identityId}`).set(auth(checkoutKey)).expect(200);
  await t.http().delete(`/v1/identities/${second.identityId}`).set(auth(checkoutKey)).expect(204);
});
afterAll(() => t.close());

function search(body: object, key = auditorKey, requestId?: string) {
  const request = t.http().post('/v1/audit-events/search').set(auth(key));
  return (requestId ? request.set('X-Request-Id', requestId) : request).send(body);
}

/** The pseudonym the log gave an identity, from its create event (the list filter by identity). */
async function subjectRefOf(buyer: Buyer): Promise<string> {
  const response = await t
    .http()
    .get('/v1/audit-events')
    .query({ identityId: buyer.identityId, action: 'identity.create' })
    .set(auth(auditorKey))
    .expect(200);
  return (response.body as Page).items[0]!.subjectRef as string;
}

/** Every stored event, as one string, for scanning. */
async function storedLog(): Promise<string> {
  return JSON.stringify(await events().find({}).toArray());
}

describe('POST /v1/audit-events/search', () => {
  it('when an auditor searches by id number, then events of every registration of that person are returned, the deleted one included, and no one else', async () => {
    const response = await search({ idNumber: first.person.idNumber, limit: 500 }).expect(200);
    const page = response.body as Page;
    const [firstRef, secondRef, strangerRef] = await Promise.all(
      [first, second, stranger].map(subjectRefOf),
    );

    const about = (ref: string) => page.items.filter((event) => event.subjectRef === ref);
    expect(about(firstRef).map((event) => event.action)).toEqual(
      expect.arrayContaining(['identity.create', 'identity.read']),
    );
    expect(about(secondRef).map((event) => event.action)).toEqual(
      expect.arrayContaining(['identity.create', 'identity.delete']),
    );
    expect(about(strangerRef)).toEqual([]);
    for (const event of page.items) expect([firstRef, secondRef]).toContain(event.subjectRef);
    expect(page.next).toBeNull();
  });

  it('when the id number is written in lower case or with spaces around it, then the same person is found', async () => {
    const upper = await search({ idNumber: first.person.idNumber, limit: 500 }).expect(200);
    const variant = ` ${first.person.idNumber.toLowerCase()} `;
    const lower = await search({ idNumber: variant, limit: 500 }).expect(200);
    const creates = (page: Page) =>
      page.items.filter((event) => event.action === 'identity.create').length;
    expect(creates(lower.body)).toBe(2);
    expect(creates(lower.body)).toBe(creates(upper.body));
  });

  it('when a search is made, then it is itself an audit.read event of the auditor for security review, holding no id number', async () => {
    const response = await search(
      { idNumber: first.person.idNumber },
      auditorKey,
      'req-search-own',
    ).expect(200);

    const stored = await events().find({ requestId: 'req-search-own' }).toArray();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      action: 'audit.read',
      purpose: 'security-review',
      outcome: 'SUCCESS',
      actor: { role: 'auditor' },
      resource: { route: '/v1/audit-events/search', id: null },
      fields: [],
    });
    // Its subject is a pseudonym of the person's registration: later searches show it.
    expect([await subjectRefOf(first), await subjectRefOf(second)]).toContain(
      stored[0]!.subjectRef,
    );
    expect(
      (response.body as Page).items.some((event) => event.requestId === 'req-search-own'),
    ).toBe(true);

    const log = await storedLog();
    expect(log).not.toContain(first.person.idNumber);
    expect(log).not.toContain(first.person.idNumber.slice(0, 17));
  });

  it('when the id number was never registered, then the page is empty and the search is still recorded', async () => {
    // Born in 1900: no synthetic buyer of this file is (they are born 1960-1999).
    const idNumber = idNumberFor({ region: '310101', birth: '19000101' });
    const response = await search({ idNumber }, auditorKey, 'req-search-unknown').expect(200);
    expect(response.body).toEqual({ items: [], next: null });
    const stored = await events().find({ requestId: 'req-search-unknown' }).toArray();
    expect(stored).toMatchObject([{ action: 'audit.read', subjectRef: null }]);
  });

  it('when a limit is given, then pages follow `next` without repeating an event', async () => {
    const one = await search({ idNumber: first.person.idNumber, limit: 1 }).expect(200);
    expect(one.body.items).toHaveLength(1);
    expect(one.body.next).toEqual(expect.any(String));
    const two = await search({
      idNumber: first.person.idNumber,
      limit: 1,
      after: one.body.next,
    }).expect(200);
    expect(two.body.items).toHaveLength(1);
    expect(two.body.items[0].hash).not.toBe(one.body.items[0].hash);
  });

  it('when the window ends before the person was registered, then nothing is returned', async () => {
    const response = await search({
      idNumber: first.person.idNumber,
      to: '2000-01-01T00:00:00Z',
    }).expect(200);
    expect(response.body).toEqual({ items: [], next: null });
  });

  it('when the id number is malformed, then 400 names idNumber and never quotes it', async () => {
    const wrongCheck =
      first.person.idNumber.slice(0, 17) + (first.person.idNumber.endsWith('0') ? '1' : '0');
    for (const idNumber of [wrongCheck, '12345', first.person.idNumber.slice(0, 17)]) {
      const response = await search({ idNumber }).expect(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
      expect(response.body.error.details).toEqual([
        { path: 'idNumber', message: expect.any(String) },
      ]);
      expect(JSON.stringify(response.body)).not.toContain(idNumber);
    }
    const missing = await search({}).expect(400);
    expect(missing.body.error.details).toEqual([{ path: 'idNumber', message: 'is required' }]);
    const notText = await search({ idNumber: 42 }).expect(400);
    expect(notText.body.error.details).toEqual([{ path: 'idNumber', message: 'must be a string' }]);
  });

  it('when a role other than auditor searches, then 403 FORBIDDEN', async () => {
    const keys = [
      ADMIN_KEY,
      checkoutKey,
      (await t.clientKey('customs', 'BROKER3301')).apiKey,
      (await t.clientKey('carrier', 'SF')).apiKey,
    ];
    for (const key of keys) {
      const response = await search({ idNumber: first.person.idNumber }, key).expect(403);
      expect(response.body.error.code).toBe('FORBIDDEN');
    }
    await search({ idNumber: first.person.idNumber }, 'not-a-key').expect(401);
  });

  it('when every search above has run, then no log line and no stored event holds the id number', async () => {
    const logs = t.logs.join('');
    expect(logs).toContain('/v1/audit-events/search');
    for (const person of [first.person, stranger.person]) {
      expect(logs).not.toContain(person.idNumber);
      expect(logs).not.toContain(person.idNumber.slice(0, 17));
      expect(logs).not.toContain(person.idNumber.toLowerCase());
    }
    expect(await storedLog()).not.toContain(first.person.idNumber.slice(0, 17));
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
