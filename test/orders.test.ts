import type { LifecycleOrder } from '../src/quota/order-lifecycle-types';
import {
  catalogue,
  orderBody,
  quota,
  registerBuyer,
  transition,
  verify,
  type Buyer,
} from './helpers/checkout-fixtures';
import { createTestApp, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

let t: TestApp;
let key: string;
let now = new Date();
const DAY = 86_400_000;
const MINUTE = 60_000;

beforeAll(async () => {
  t = await createTestApp(
    { RATE_LIMIT_PER_MINUTE: '100000', QUOTA_HOLD_MINUTES: '30' },
    { clock: () => now },
  );
  key = (await t.clientKey('checkout')).apiKey;
  // Confirm needs every SKU catalogued: the default ones of orderBody.
  await catalogue(t, key, ['SKU-1', 'SKU-2', 'SKU-3']);
});
afterAll(() => t.close());
beforeEach(() => {
  now = new Date();
});

/** A fresh buyer with one approved order of `fen` (one piece). */
async function approvedOrder(fen = 100000): Promise<{ buyer: Buyer; orderNo: string }> {
  const buyer = await registerBuyer(t, key);
  const body = orderBody(buyer, { items: [{ qty: 1, unitPriceFen: fen }] });
  const response = await verify(t, key, body).expect(200);
  expect(response.body.decision).toBe('APPROVED');
  return { buyer, orderNo: body.orderNo };
}

async function quotaOf(buyer: Buyer) {
  return (await quota(t, key, buyer.identityId).expect(200)).body;
}

async function expectTransitionRefused(orderNo: string, action: 'confirm' | 'cancel' | 'return') {
  const response = await transition(t, key, orderNo, action).expect(409);
  expect(response.body.error.code).toBe('INVALID_STATE_TRANSITION');
  return response.body.error;
}

describe('confirm', () => {
  it('when an approved order is confirmed, then the reservation becomes used quota', async () => {
    const { buyer, orderNo } = await approvedOrder();
    const response = await transition(t, key, orderNo, 'confirm').expect(200);
    expect(response.body).toEqual({ orderNo, status: 'CONFIRMED' });
    expect(await quotaOf(buyer)).toMatchObject({
      usedFen: 100000,
      reservedFen: 0,
      remainingFen: 2500000,
    });
  });

  it('when confirm is repeated, then 200 again and nothing more is used', async () => {
    const { buyer, orderNo } = await approvedOrder();
    await transition(t, key, orderNo, 'confirm').expect(200);
    await transition(t, key, orderNo, 'confirm').expect(200);
    expect((await quotaOf(buyer)).usedFen).toBe(100000);
  });

  it('when an order is confirmed, then onConfirmed listeners get it once per call with no personal data', async () => {
    const seen: LifecycleOrder[] = [];
    const stop = t.orderLifecycle.onConfirmed(async (order) => {
      seen.push(order);
    });
    try {
      const { buyer, orderNo } = await approvedOrder(123400);
      await transition(t, key, orderNo, 'confirm').expect(200);
      const mine = seen.filter((o) => o.orderNo === orderNo);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({
        orderNo,
        identityId: buyer.identityId,
        status: 'CONFIRMED',
        taxableFen: 123400,
        customsCode: 'BROKER1',
        carrierCode: 'SF',
      });
      expect(JSON.stringify(mine[0])).not.toContain(buyer.person.name);
      expect(await t.orderLifecycle.getConfirmedOrder(orderNo)).toMatchObject({
        orderNo,
        status: 'CONFIRMED',
      });
      expect(await t.orderLifecycle.revealConsignee(orderNo)).toEqual({
        name: buyer.person.name,
        phone: buyer.person.phone,
        address: '上海市浦东新区世纪大道100号',
      });
    } finally {
      stop();
    }
  });

  it('when a listener fails, then 503, the order stays confirmed, and the sweeper retries it', async () => {
    let failing = true;
    const calls: string[] = [];
    const stop = t.orderLifecycle.onConfirmed(async (order) => {
      calls.push(order.orderNo);
      if (failing) throw new Error('declaration store down');
    });
    try {
      const { buyer, orderNo } = await approvedOrder();
      const response = await transition(t, key, orderNo, 'confirm').expect(503);
      expect(response.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect((await quotaOf(buyer)).usedFen).toBe(100000);
      failing = false;
      await t.orderLifecycle.sweep(new Date(Date.now() + 2 * MINUTE));
      expect(calls.filter((n) => n === orderNo)).toHaveLength(2);
      await t.orderLifecycle.sweep(new Date(Date.now() + 4 * MINUTE));
      expect(calls.filter((n) => n === orderNo)).toHaveLength(2);
    } finally {
      stop();
    }
  });

  it('when the order number is unknown, then 404 NOT_FOUND', async () => {
    const response = await transition(t, key, 'NO-SUCH-ORDER', 'confirm').expect(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });

  it('when a rejected order is confirmed, then 409 INVALID_STATE_TRANSITION', async () => {
    const buyer = await registerBuyer(t, key);
    const body = orderBody(buyer, { items: [{ qty: 2, unitPriceFen: 300000 }] });
    expect((await verify(t, key, body).expect(200)).body.decision).toBe('REJECTED');
    const error = await expectTransitionRefused(body.orderNo, 'confirm');
    expect(error.details).toEqual([{ path: 'status', message: 'is REJECTED' }]);
  });
});

describe('cancel', () => {
  it('when an approved order is cancelled, then its reservation is released', async () => {
    const { buyer, orderNo } = await approvedOrder();
    const cancelled: string[] = [];
    const stop = t.orderLifecycle.onCancelled(async (order) => {
      cancelled.push(order.orderNo);
    });
    try {
      await transition(t, key, orderNo, 'cancel').expect(200, { orderNo, status: 'CANCELLED' });
    } finally {
      stop();
    }
    expect(cancelled).toContain(orderNo);
    expect(await quotaOf(buyer)).toMatchObject({
      usedFen: 0,
      reservedFen: 0,
      remainingFen: 2600000,
    });
    await expectTransitionRefused(orderNo, 'confirm');
  });

  it('when a confirmed order is cancelled before customs accepted it, then the used quota comes back', async () => {
    const { buyer, orderNo } = await approvedOrder();
    await transition(t, key, orderNo, 'confirm').expect(200);
    await transition(t, key, orderNo, 'cancel').expect(200);
    expect(await quotaOf(buyer)).toMatchObject({ usedFen: 0, remainingFen: 2600000 });
  });

  it('when customs accepted the declaration, then cancel is 409 and the quota stays used', async () => {
    const { buyer, orderNo } = await approvedOrder();
    await transition(t, key, orderNo, 'confirm').expect(200);
    await t.orderLifecycle.markCustomsAccepted(orderNo, new Date());
    const error = await expectTransitionRefused(orderNo, 'cancel');
    expect(error.details).toEqual([{ path: 'status', message: 'is CUSTOMS_RELEASED' }]);
    expect((await quotaOf(buyer)).usedFen).toBe(100000);
  });

  it('when confirm and cancel race, then exactly one wins and the quota matches it', async () => {
    const { buyer, orderNo } = await approvedOrder();
    const [confirm, cancel] = await Promise.all([
      transition(t, key, orderNo, 'confirm'),
      transition(t, key, orderNo, 'cancel'),
    ]);
    const q = await quotaOf(buyer);
    if (confirm.status === 200 && cancel.status === 200) {
      // Confirm first, then cancel (allowed before customs acceptance): nothing is held.
      expect(q).toMatchObject({ usedFen: 0, reservedFen: 0 });
    } else {
      expect([confirm.status, cancel.status].sort()).toEqual([200, 409]);
      expect(q.usedFen + q.reservedFen).toBe(confirm.status === 200 ? 100000 : 0);
    }
  });
});

describe('return', () => {
  async function releasedOrder(releasedAt: Date) {
    const order = await approvedOrder();
    await transition(t, key, order.orderNo, 'confirm').expect(200);
    await t.orderLifecycle.markCustomsAccepted(order.orderNo, releasedAt);
    return order;
  }

  it('when a released order is returned within 30 days, then the value goes back to the quota', async () => {
    const { buyer, orderNo } = await releasedOrder(new Date(now.getTime() - 29 * DAY));
    expect((await quotaOf(buyer)).usedFen).toBe(100000);
    await transition(t, key, orderNo, 'return').expect(200, {
      orderNo,
      status: 'RETURNED',
      returned: [{ sku: 'SKU-1', qty: 1 }],
      restoredFen: 100000,
    });
    expect(await quotaOf(buyer)).toMatchObject({
      usedFen: 0,
      reservedFen: 0,
      remainingFen: 2600000,
    });
  });

  it('when the return comes more than 30 days after release, then 422 RETURN_WINDOW_CLOSED', async () => {
    const { buyer, orderNo } = await releasedOrder(new Date(now.getTime() - 31 * DAY));
    const response = await transition(t, key, orderNo, 'return').expect(422);
    expect(response.body.error.code).toBe('RETURN_WINDOW_CLOSED');
    expect((await quotaOf(buyer)).usedFen).toBe(100000);
  });

  it('when customs acknowledges the release twice, then the first release time counts', async () => {
    const first = new Date(now.getTime() - 10 * DAY);
    const { orderNo } = await releasedOrder(first);
    const again = await t.orderLifecycle.markCustomsAccepted(orderNo, new Date());
    expect(again).toMatchObject({ status: 'CUSTOMS_RELEASED', releasedAt: first });
  });

  it('when the order was not yet released by customs, then return is 409', async () => {
    const { orderNo } = await approvedOrder();
    await transition(t, key, orderNo, 'confirm').expect(200);
    const error = await expectTransitionRefused(orderNo, 'return');
    expect(error.details).toEqual([{ path: 'status', message: 'is CONFIRMED' }]);
  });

  it('when customs rejects the declaration, then the value goes back and the order cannot be returned', async () => {
    const { buyer, orderNo } = await approvedOrder();
    await transition(t, key, orderNo, 'confirm').expect(200);
    const order = await t.orderLifecycle.markCustomsRejected(orderNo);
    expect(order.status).toBe('CUSTOMS_REJECTED');
    expect((await quotaOf(buyer)).usedFen).toBe(0);
    await expectTransitionRefused(orderNo, 'return');
  });
});

describe('reservation expiry', () => {
  it('when an approved order is not confirmed within the hold, then the sweeper releases it', async () => {
    const placed = new Date();
    now = placed;
    const { buyer, orderNo } = await approvedOrder();
    await t.orderLifecycle.sweep(new Date(placed.getTime() + 29 * MINUTE));
    expect((await quotaOf(buyer)).reservedFen).toBe(100000);
    const report = await t.orderLifecycle.sweep(new Date(placed.getTime() + 31 * MINUTE));
    expect(report.expired).toBeGreaterThanOrEqual(1);
    expect(await quotaOf(buyer)).toMatchObject({ reservedFen: 0, remainingFen: 2600000 });
    const error = await expectTransitionRefused(orderNo, 'confirm');
    expect(error.details).toEqual([{ path: 'status', message: 'is EXPIRED' }]);
  });

  it('when a confirmed order is swept after the hold, then it stays confirmed', async () => {
    const placed = new Date();
    now = placed;
    const { buyer, orderNo } = await approvedOrder();
    await transition(t, key, orderNo, 'confirm').expect(200);
    await t.orderLifecycle.sweep(new Date(placed.getTime() + 60 * MINUTE));
    expect((await quotaOf(buyer)).usedFen).toBe(100000);
    expect((await t.orderLifecycle.getConfirmedOrder(orderNo))?.status).toBe('CONFIRMED');
  });

  it('when a verify stopped after reserving, then a retry writes its order record and reserves nothing more', async () => {
    // Simulates a crash between the ledger reservation and the order record: the
    // order record is removed, the hold and the ledger entry stay.
    const buyer = await registerBuyer(t, key);
    const body = orderBody(buyer, { items: [{ qty: 1, unitPriceFen: 80000 }] });
    const first = await verify(t, key, body).expect(200);
    await t.connection.collection('orders').deleteOne({ _id: body.orderNo } as never);
    const retry = await verify(t, key, body).expect(200);
    expect(retry.body.decision).toBe(first.body.decision);
    expect((await quotaOf(buyer)).reservedFen).toBe(80000);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
