import { auth, quota, transition } from './helpers/checkout-fixtures';
import {
  confirmedOrder,
  pullAll,
  rawCall,
  type ConfirmedOrder,
} from './helpers/disclosure-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * Customs receipts (CEB622 `returnStatus`) relayed by the broker on the
 * declaration ack: 800 releases, 100 rejects, every other code is recorded.
 */
let t: TestApp;
let checkout: string;
let broker: string;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  checkout = (await t.clientKey('checkout')).apiKey;
  broker = (await t.clientKey('customs', 'BROKER1')).apiKey;
});
afterAll(() => t.close());

const ack = (id: string, body: object) =>
  rawCall(t.http().post(`/v1/declarations/${id}/ack`).set(auth(broker)).send(body));

/** A confirmed order of 1234 yuan and its declaration, pulled by the broker (disclosed). */
async function disclosedDeclaration(): Promise<{ order: ConfirmedOrder; declarationId: string }> {
  const order = await confirmedOrder(t, checkout, { items: [{ qty: 1, unitPriceFen: 123400 }] });
  const items = await pullAll(t, broker, '/v1/declarations');
  const found = items.find((item) => item.orderNo === order.orderNo);
  if (!found) throw new Error('declaration not listed');
  return { order, declarationId: found.declarationId };
}

async function usedFen(order: ConfirmedOrder): Promise<number> {
  return (await quota(t, checkout, order.buyer.identityId).expect(200)).body.usedFen;
}

async function declarationStatus(order: ConfirmedOrder): Promise<string> {
  const items = await pullAll(t, broker, '/v1/declarations');
  return items.find((item) => item.orderNo === order.orderNo)!.status;
}

describe('release (800)', () => {
  it('when customs releases with a returnTime, then ACCEPTED at that time and a return works within 30 days', async () => {
    const { order, declarationId } = await disclosedDeclaration();
    const returnTime = new Date().toISOString();
    const response = await ack(declarationId, { returnStatus: '800', returnTime });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      declarationId,
      orderNo: order.orderNo,
      status: 'ACCEPTED',
      returnStatus: '800',
      ackedAt: expect.any(String),
      releasedAt: returnTime,
    });
    await transition(t, checkout, order.orderNo, 'return').expect(200);
  });

  it('when the release time is in 1970, then 422 RELEASE_TIME_INVALID on returnTime and nothing changes', async () => {
    const { order, declarationId } = await disclosedDeclaration();
    const before = await usedFen(order);
    const response = await ack(declarationId, {
      returnStatus: '800',
      returnTime: '1970-01-01T00:00:00Z',
    });
    expect(response.status).toBe(422);
    expect(response.json().error).toMatchObject({
      code: 'RELEASE_TIME_INVALID',
      details: [{ path: 'returnTime', message: expect.any(String) }],
    });
    expect(await usedFen(order)).toBe(before);
    expect(await declarationStatus(order)).toBe('READY');
    // Not released: a return is refused as before release.
    await transition(t, checkout, order.orderNo, 'return').expect(409);
  });

  it('when the release time is before the broker first received the declaration, then 422', async () => {
    const order = await confirmedOrder(t, checkout);
    const beforeDisclosure = new Date(Date.now() - 1000).toISOString();
    const items = await pullAll(t, broker, '/v1/declarations');
    const { declarationId } = items.find((item) => item.orderNo === order.orderNo)!;
    const response = await ack(declarationId, {
      returnStatus: '800',
      returnTime: beforeDisclosure,
    });
    expect(response.status).toBe(422);
    expect(response.json().error.code).toBe('RELEASE_TIME_INVALID');
  });

  it('when the ACCEPTED alias carries a backdated releasedAt, then 422 on releasedAt and nothing changes', async () => {
    const { order, declarationId } = await disclosedDeclaration();
    const response = await ack(declarationId, {
      status: 'ACCEPTED',
      releasedAt: '1970-01-01T00:00:00Z',
    });
    expect(response.status).toBe(422);
    expect(response.json().error).toMatchObject({
      code: 'RELEASE_TIME_INVALID',
      details: [{ path: 'releasedAt', message: expect.any(String) }],
    });
    expect(await declarationStatus(order)).toBe('READY');
  });

  it.each([
    ['returnTime', { returnStatus: '800', returnTime: '2999-01-01T00:00:00Z' }],
    ['releasedAt', { status: 'ACCEPTED', releasedAt: '2999-01-01T00:00:00Z' }],
  ])(
    'when the release time (%s) is in the future, then 422 RELEASE_TIME_INVALID on it',
    async (path, body) => {
      const { order, declarationId } = await disclosedDeclaration();
      const response = await ack(declarationId, body);
      expect(response.status).toBe(422);
      expect(response.json().error).toMatchObject({
        code: 'RELEASE_TIME_INVALID',
        details: [{ path }],
      });
      expect(await declarationStatus(order)).toBe('READY');
    },
  );

  it('when the release time is within the clock-skew allowance, then it is accepted', async () => {
    const { declarationId } = await disclosedDeclaration();
    const returnTime = new Date(Date.now() + 60_000).toISOString();
    const response = await ack(declarationId, { returnStatus: '800', returnTime });
    expect(response.status).toBe(200);
    expect(response.json().releasedAt).toBe(returnTime);
  });

  it('when the declaration was never disclosed to the broker, then 800 is 409 DECLARATION_NOT_DISCLOSED', async () => {
    const order = await confirmedOrder(t, checkout);
    const stored = await t.connection
      .collection('declarations')
      .findOne({ orderNo: order.orderNo });
    const response = await ack(stored!.id as string, { returnStatus: '800' });
    expect(response.status).toBe(409);
    expect(response.json().error.code).toBe('DECLARATION_NOT_DISCLOSED');
    expect(await declarationStatus(order)).toBe('READY');
  });

  it('when 800 is repeated, then 200 with the first release time; 899 closes and 700 returns abroad', async () => {
    const { order, declarationId } = await disclosedDeclaration();
    const first = (await ack(declarationId, { returnStatus: '800' })).json();
    const replay = await ack(declarationId, { returnStatus: '800' });
    expect(replay.status).toBe(200);
    expect(replay.json()).toEqual(first);
    const closed = await ack(declarationId, { returnStatus: '899', returnInfo: 'closed' });
    expect(closed.status).toBe(200);
    expect(closed.json()).toMatchObject({
      status: 'CLOSED',
      returnStatus: '899',
      releasedAt: first.releasedAt,
    });
    const returned = await ack(declarationId, { returnStatus: '700' });
    expect(returned.json()).toMatchObject({ status: 'RETURNED_ABROAD', returnStatus: '700' });
    expect(await usedFen(order)).toBe(order.taxableFen);
    const stored = await t.connection.collection('declarations').findOne({ id: declarationId });
    expect(stored!.customsReceipts.map((r: { returnStatus: string }) => r.returnStatus)).toEqual([
      '800',
      '899',
      '700',
    ]);
  });
});

describe('rejection (100)', () => {
  it('when customs rejects with 100, then the buyer’s quota comes back and the shipment is withdrawn', async () => {
    const { order, declarationId } = await disclosedDeclaration();
    expect(await usedFen(order)).toBe(order.taxableFen);
    const response = await ack(declarationId, {
      returnStatus: '100',
      returnTime: new Date().toISOString(),
      returnInfo: 'HS code mismatch',
    });
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'REJECTED',
      returnStatus: '100',
      releasedAt: null,
    });
    expect(await usedFen(order)).toBe(0);
    const shipment = (await t.connection
      .collection('shipments')
      .findOne({ orderNo: order.orderNo }))!;
    expect(shipment.status).toBe('CANCELLED');
  });

  it('when a released declaration gets 100, or a rejected one 800, then 409 INVALID_STATE_TRANSITION', async () => {
    const released = await disclosedDeclaration();
    expect((await ack(released.declarationId, { returnStatus: '800' })).status).toBe(200);
    const refused = await ack(released.declarationId, { returnStatus: '100' });
    expect(refused.status).toBe(409);
    expect(refused.json().error.code).toBe('INVALID_STATE_TRANSITION');
    expect(await usedFen(released.order)).toBe(released.order.taxableFen);

    const rejected = await disclosedDeclaration();
    expect((await ack(rejected.declarationId, { status: 'REJECTED' })).status).toBe(200);
    const conflict = await ack(rejected.declarationId, { returnStatus: '800' });
    expect(conflict.status).toBe(409);
    expect(conflict.json().error.code).toBe('INVALID_STATE_TRANSITION');
    // The alias and the code are one answer: 100 after REJECTED is a replay.
    const replay = await ack(rejected.declarationId, { returnStatus: '100' });
    expect(replay.status).toBe(200);
    expect(replay.json()).toMatchObject({ status: 'REJECTED', returnStatus: '100' });
  });
});

describe('intermediate receipts', () => {
  it.each([
    ['120', 'ENTERED'],
    ['399', 'REVIEWED'],
    ['500', 'INSPECTION'],
  ])(
    'when customs sends %s, then the declaration is %s and neither the order nor the quota changes',
    async (code, status) => {
      const { order, declarationId } = await disclosedDeclaration();
      const response = await ack(declarationId, {
        returnStatus: code,
        returnTime: new Date().toISOString(),
        returnInfo: 'customs receipt',
      });
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({
        status,
        returnStatus: code,
        releasedAt: null,
      });
      expect(await usedFen(order)).toBe(order.taxableFen);
      expect(await declarationStatus(order)).toBe(status);
      // Not released: cancel is still possible and a return is not.
      await transition(t, checkout, order.orderNo, 'return').expect(409);
      const stored = await t.connection.collection('declarations').findOne({ id: declarationId });
      expect(stored!.customsReceipts).toEqual([
        {
          returnStatus: code,
          returnTime: expect.any(Date),
          returnInfo: 'customs receipt',
          at: expect.any(Date),
        },
      ]);
    },
  );

  it('when receipts precede the release, then the history keeps them all and 800 still releases', async () => {
    const { order, declarationId } = await disclosedDeclaration();
    for (const code of ['2', '120', '399']) {
      expect((await ack(declarationId, { returnStatus: code })).status).toBe(200);
    }
    // The same receipt again is a replay, not a second entry.
    expect((await ack(declarationId, { returnStatus: '399' })).status).toBe(200);
    const released = await ack(declarationId, { returnStatus: '800' });
    expect(released.json()).toMatchObject({ status: 'ACCEPTED', returnStatus: '800' });
    const stored = await t.connection.collection('declarations').findOne({ id: declarationId });
    expect(stored!.customsReceipts.map((r: { returnStatus: string }) => r.returnStatus)).toEqual([
      '2',
      '120',
      '399',
      '800',
    ]);
    await transition(t, checkout, order.orderNo, 'return').expect(200);
  });
});

describe('ack body', () => {
  it.each([
    ['an unknown code', { returnStatus: '801' }, 'returnStatus'],
    ['a code that is not a code', { returnStatus: 'RELEASED' }, 'returnStatus'],
    ['the code as a JSON number', { returnStatus: 800 }, 'returnStatus'],
    ['both status and returnStatus', { status: 'ACCEPTED', returnStatus: '800' }, 'status'],
    ['neither status nor returnStatus', { returnTime: new Date().toISOString() }, 'status'],
    [
      'releasedAt with a returnStatus',
      { returnStatus: '800', releasedAt: '2026-01-01T00:00:00Z' },
      'releasedAt',
    ],
    ['returnInfo with the alias', { status: 'REJECTED', returnInfo: 'x' }, 'returnInfo'],
    [
      'a returnTime without an offset',
      { returnStatus: '800', returnTime: '2026-01-01T00:00:00' },
      'returnTime',
    ],
    [
      'a returnInfo over 1000 characters',
      { returnStatus: '120', returnInfo: 'x'.repeat(1001) },
      'returnInfo',
    ],
    [
      'an id number in returnInfo',
      { returnStatus: '120', returnInfo: 'id 11010519491231002X' },
      'returnInfo',
    ],
  ])(
    'when the body has %s, then 400 VALIDATION_FAILED on that path',
    async (_label, body, path) => {
      const { declarationId } = await disclosedDeclaration();
      const response = await ack(declarationId, body);
      expect(response.status).toBe(400);
      expect(response.json().error.code).toBe('VALIDATION_FAILED');
      expect(response.json().error.details.map((d: { path: string }) => d.path)).toContain(path);
    },
  );
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
