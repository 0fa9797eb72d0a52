import { randomUUID } from 'node:crypto';
import {
  auth,
  orderBody,
  quota,
  registerBuyer,
  transition,
  verify,
  type Buyer,
} from './helpers/checkout-fixtures';
import { randomPerson, registration } from './helpers/identity-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/*
 * Issue 12: the contract's types, enforced at the edge. Integers are JSON
 * numbers, timestamps carry their offset, query integers are plain digits,
 * and no caller identifier may carry an id number or a phone number.
 */

let t: TestApp;
let checkout: string;
let broker: string;
let carrier: string;
let buyer: Buyer;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  checkout = (await t.clientKey('checkout')).apiKey;
  broker = (await t.clientKey('customs', 'BROKER1')).apiKey;
  carrier = (await t.clientKey('carrier', 'SF')).apiKey;
  buyer = await registerBuyer(t, checkout);
});
afterAll(() => t.close());

interface ErrorBody {
  error?: { code: string; details: { path: string }[] };
}

/** What a test asserts of a refusal: status, error code and the paths named. */
function refusal(response: { status: number; body: ErrorBody }) {
  const error = response.body.error;
  return { status: response.status, code: error?.code, paths: error?.details.map((d) => d.path) };
}

/** The refusal every test below expects: 400 VALIDATION_FAILED naming `path`. */
const refusedOn = (path: string) => ({
  status: 400,
  code: 'VALIDATION_FAILED',
  paths: expect.arrayContaining([path]),
});

type Json = Record<string, unknown>;

/** A verify body with one value replaced at `path` (dot-separated). */
function verifyBodyWith(path: string, value: unknown): Json {
  const body = orderBody(buyer) as unknown as Json;
  const keys = path.split('.');
  let target = body;
  for (const key of keys.slice(0, -1)) target = target[key] as Json;
  target[keys[keys.length - 1]!] = value;
  return body;
}

const LOOSE_INTEGERS = ['1e2', ' 100 ', '+100', '100', '100.0'];

describe('POST /v1/checkout/verify: integers are JSON numbers', () => {
  it.each(
    ['freightFen', 'insuranceFen', 'discountFen', 'items.0.unitPriceFen', 'items.0.qty'].flatMap(
      (path) => LOOSE_INTEGERS.map((text) => [path, text] as const),
    ),
  )('when %s is the string %j, then 400 VALIDATION_FAILED on that path', async (path, text) => {
    const response = await verify(t, checkout, verifyBodyWith(path, text));
    expect(refusal(response)).toEqual(refusedOn(path));
  });

  it('when every amount is a JSON number, then the order is verified', async () => {
    const response = await verify(t, checkout, orderBody(buyer, { freightFen: 100 }));
    expect(response.status).toBe(200);
    expect(response.body.decision).toBe('APPROVED');
  });
});

describe('timestamps carry an offset', () => {
  const anHourAgo = () => new Date(Date.now() - 3_600_000);
  it.each([
    ['no offset', () => isoWithOffset(anHourAgo(), 'Z').slice(0, -1)],
    ['no seconds and no offset', () => isoWithOffset(anHourAgo(), 'Z').slice(0, 16)],
    ['only a date', () => new Date().toISOString().slice(0, 10)],
    ['an offset without a colon', () => isoWithOffset(anHourAgo(), '+08:00').replace(/:00$/, '00')],
    ['a day that does not exist', () => '2026-02-30T10:00:00Z'],
    ['a number', () => anHourAgo().getTime()],
  ])('when orderedAt has %s, then 400 VALIDATION_FAILED on orderedAt', async (_label, make) => {
    const response = await verify(t, checkout, verifyBodyWith('orderedAt', make()));
    expect(refusal(response)).toEqual(refusedOn('orderedAt'));
  });

  it.each(['Z', '+08:00', '-05:30'])(
    'when orderedAt an hour ago ends in %s, then the order is verified',
    async (suffix) => {
      const orderedAt = isoWithOffset(anHourAgo(), suffix);
      const response = await verify(t, checkout, verifyBodyWith('orderedAt', orderedAt));
      expect(response.status).toBe(200);
    },
  );

  it('when a declaration ack has releasedAt without an offset, then 400 on releasedAt', async () => {
    const releasedAt = isoWithOffset(anHourAgo(), 'Z').slice(0, -1);
    const response = await t
      .http()
      .post(`/v1/declarations/${randomUUID()}/ack`)
      .set(auth(broker))
      .send({ status: 'ACCEPTED', releasedAt });
    expect(refusal(response)).toEqual(refusedOn('releasedAt'));
  });
});

/** `at` written in the time zone of `suffix` (Z, +08:00, -05:30). */
function isoWithOffset(at: Date, suffix: string): string {
  if (suffix === 'Z') return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sign = suffix.startsWith('-') ? -1 : 1;
  const [hours, minutes] = suffix.slice(1).split(':').map(Number);
  const local = new Date(at.getTime() + sign * (hours! * 60 + minutes!) * 60_000);
  return local.toISOString().replace(/\.\d{3}Z$/, suffix);
}

describe('query integers are plain decimal digits', () => {
  it.each(['1e1', '+10', ' 10', '10.0', '-1', '0x10'])(
    'when limit is %j, then 400 VALIDATION_FAILED on limit',
    async (limit) => {
      for (const [path, key] of [
        ['/v1/declarations', broker],
        ['/v1/shipments', carrier],
      ] as const) {
        const response = await t.http().get(path).query({ limit }).set(auth(key));
        expect(refusal(response)).toEqual(refusedOn('limit'));
      }
    },
  );

  it.each(['2.026e3', '+2026', ' 2026'])(
    'when year is %j, then 400 VALIDATION_FAILED on year',
    async (year) => {
      const response = await t
        .http()
        .get(`/v1/identities/${buyer.identityId}/quota`)
        .query({ year })
        .set(auth(checkout));
      expect(refusal(response)).toEqual(refusedOn('year'));
    },
  );

  it('when limit and year are plain digits, then they are read as numbers', async () => {
    const page = await t.http().get('/v1/shipments?limit=10').set(auth(carrier));
    expect(page.status).toBe(200);
    const year = new Date().getUTCFullYear();
    const response = await quota(t, checkout, buyer.identityId, year);
    expect(response.status).toBe(200);
    expect(response.body.year).toBe(year);
  });
});

/** Synthetic: shaped like the real thing, never a real person's. */
const ID_NUMBER = '11010519850101120X';
const MOBILE = '13912345678';
const PERSONAL_IDENTIFIERS = [
  ID_NUMBER,
  'ORD-11010519850101120X',
  '110105-19850101-120X',
  MOBILE,
  '139-1234-5678',
  '86-139-1234-5678',
  '8613912345678',
  `${MOBILE}-01`,
];

describe('identifiers never carry an id number or a phone number', () => {
  it.each(PERSONAL_IDENTIFIERS)(
    'when orderNo is %j, then 400 VALIDATION_FAILED on orderNo',
    async (orderNo) => {
      const response = await verify(t, checkout, verifyBodyWith('orderNo', orderNo));
      expect(refusal(response)).toEqual(refusedOn('orderNo'));
    },
  );

  it('when orderNo has 61 characters, then 400 VALIDATION_FAILED on orderNo', async () => {
    const response = await verify(t, checkout, verifyBodyWith('orderNo', `T-${'A'.repeat(59)}`));
    expect(refusal(response)).toEqual(refusedOn('orderNo'));
  });

  it('when orderNo has 60 characters or 19 digits, then the order is verified', async () => {
    for (const orderNo of [`T-${'B'.repeat(58)}`, '2026112500000000001']) {
      const response = await verify(t, checkout, verifyBodyWith('orderNo', orderNo));
      expect(response.status).toBe(200);
    }
  });

  it.each([
    ['a SKU', 'items.0.sku', `SKU.${MOBILE}`],
    ['a SKU', 'items.0.sku', `${ID_NUMBER}`],
    ['the customs code', 'customsCode', MOBILE],
    ['the carrier code', 'carrierCode', `CN_${ID_NUMBER}`],
  ])('when %s (%s) is %j, then 400 VALIDATION_FAILED on that path', async (_label, path, value) => {
    const response = await verify(t, checkout, verifyBodyWith(path, value));
    expect(refusal(response)).toEqual(refusedOn(path));
  });

  it.each(['confirm', 'cancel', 'return'] as const)(
    'when an order is %sed under an id number, then 400 VALIDATION_FAILED on orderNo',
    async (action) => {
      const response = await transition(t, checkout, ID_NUMBER, action);
      expect(refusal(response)).toEqual(refusedOn('orderNo'));
    },
  );

  it.each([MOBILE, `wx.${MOBILE}`, '+86.139.1234.5678', `u:${ID_NUMBER}`])(
    'when an identity is registered with userId %j, then 400 VALIDATION_FAILED on userId',
    async (userId) => {
      const response = await t
        .http()
        .post('/v1/identities')
        .set(auth(checkout))
        .send(registration(randomPerson({ userId })));
      expect(refusal(response)).toEqual(refusedOn('userId'));
    },
  );
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
