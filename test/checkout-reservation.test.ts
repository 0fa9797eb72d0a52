import {
  checkoutContext,
  inMemoryCheckout,
  KNOWN_BUYER,
  verifyRequest,
} from './helpers/checkout-fixtures';

/**
 * The verify use case and the sweeper on in-memory stores: the order of the
 * writes that makes a crash at any point safe, and how a retry or a sweep
 * finishes what a stopped verify left.
 */

const MINUTE = 60_000;
const HOLD = 30 * MINUTE;

describe('verify: the order of writes', () => {
  it('when an order is approved, then it writes the access-log event, the hold, the ledger version and the order record, in that order', async () => {
    const t = inMemoryCheckout();
    const decision = await t.checkout.verify(verifyRequest(), checkoutContext);
    expect(decision.decision).toBe('APPROVED');
    expect(t.writes).toEqual(['access-log', 'hold', 'ledger APPROVED', 'order']);
  });

  it('when an order is approved, then its hold stays until payment, due when the hold time ends', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    await t.checkout.verify(request, checkoutContext);
    expect(t.orders.holds.get(request.orderNo)?.dueAt).toEqual(
      new Date(t.world.now.getTime() + HOLD),
    );
  });

  it('when a rule refuses the order, then no hold is taken and the ledger records a rejection that reserves nothing', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest({
      payer: { name: 'Someone Else', idNumber: '110105194912310038' },
    });
    const decision = await t.checkout.verify(request, checkoutContext);
    expect(decision.reasons.map((r) => r.code)).toEqual(['PAYER_MISMATCH']);
    expect(t.writes).toEqual(['access-log', 'ledger REJECTED', 'order']);
    expect(decision.quota.reservedFen).toBe(0);
  });

  it('when the annual check fails, then the hold taken for it is dropped after the ledger rejects', async () => {
    const t = inMemoryCheckout();
    const big = { sku: 'B', name: 'Big', qty: 1, unitPriceFen: 2_600_001, category: 'general' };
    const decision = await t.checkout.verify(verifyRequest({ items: [big] }), checkoutContext);
    expect(decision.reasons.map((r) => r.code)).toEqual(['ANNUAL_LIMIT_EXCEEDED']);
    expect(t.writes).toEqual(['access-log', 'hold', 'ledger REJECTED', 'order', 'drop hold']);
  });

  it('when the identity is unknown, then a FAILED access-log event and the order record are all it writes', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest({ identityId: '00000000-0000-4000-8000-000000000000' });
    const decision = await t.checkout.verify(request, checkoutContext);
    expect(decision.reasons.map((r) => r.code)).toEqual(['IDENTITY_NOT_FOUND']);
    expect(t.writes).toEqual(['access-log', 'order']);
    expect(t.events[0]).toMatchObject({ action: 'checkout.verify', outcome: 'FAILED' });
  });

  it('when the access log refuses the event, then 503 and nothing else is written', async () => {
    const t = inMemoryCheckout();
    t.world.accessLogDown = true;
    await expect(t.checkout.verify(verifyRequest(), checkoutContext)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    expect(t.writes).toEqual([]);
  });

  it('when orderedAt is two days old and nothing was verified, then 400 on orderedAt and nothing is written', async () => {
    const t = inMemoryCheckout();
    const orderedAt = new Date(t.world.now.getTime() - 48 * 60 * MINUTE);
    await expect(
      t.checkout.verify(verifyRequest({ orderedAt }), checkoutContext),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'orderedAt', message: 'must be within the last 24 hours' }],
    });
    expect(t.writes).toEqual([]);
  });

  it('when customs has less left than the ledger, then the answer shows what customs has left after the order', async () => {
    const t = inMemoryCheckout({ customsRemainingFen: 25_000 });
    const decision = await t.checkout.verify(verifyRequest(), checkoutContext);
    expect(decision).toMatchObject({ decision: 'APPROVED', quotaSource: 'CUSTOMS' });
    expect(decision.quota.remainingFen).toBe(15_000);
  });
});

describe('verify: repeats and retries', () => {
  it('when the same request comes again, then the stored answer and no second reservation', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    const first = await t.checkout.verify(request, checkoutContext);
    expect(await t.checkout.verify(request, checkoutContext)).toEqual(first);
    expect(t.journal.versions(KNOWN_BUYER.personRef, 2026)).toHaveLength(1);
  });

  it('when only the consignee differs under a used order number, then 409 ORDER_CONFLICT', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    await t.checkout.verify(request, checkoutContext);
    const changed = { ...request, consignee: { ...request.consignee, address: 'Elsewhere 2' } };
    await expect(t.checkout.verify(changed, checkoutContext)).rejects.toMatchObject({
      code: 'ORDER_CONFLICT',
    });
  });

  it('when the order record was lost after the ledger commit, then a retry writes it from the ledger and reserves nothing more', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    const first = await t.checkout.verify(request, checkoutContext);
    t.orders.orders.delete(request.orderNo);
    expect(await t.checkout.verify(request, checkoutContext)).toEqual(first);
    expect(t.orders.orders.has(request.orderNo)).toBe(true);
    expect(t.journal.versions(KNOWN_BUYER.personRef, 2026)).toHaveLength(1);
  });

  it('when a verify stopped after its hold, then a retry of the same request reserves', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    t.journal.beforeNextCommit(async () => {
      throw new Error('process stopped');
    });
    await expect(t.checkout.verify(request, checkoutContext)).rejects.toThrow('process stopped');
    expect(t.orders.holds.has(request.orderNo)).toBe(true);
    const retry = await t.checkout.verify(request, checkoutContext);
    expect(retry.decision).toBe('APPROVED');
    expect(retry.quota.reservedFen).toBe(10_000);
  });

  it('when another request left a hold on the order number, then 409 ORDER_CONFLICT and no reservation', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    t.journal.beforeNextCommit(async () => {
      throw new Error('process stopped');
    });
    await expect(t.checkout.verify(request, checkoutContext)).rejects.toThrow('process stopped');
    const other = { ...request, freightFen: 1 };
    await expect(t.checkout.verify(other, checkoutContext)).rejects.toMatchObject({
      code: 'ORDER_CONFLICT',
    });
    expect(t.journal.versions(KNOWN_BUYER.personRef, 2026)).toHaveLength(0);
  });

  it('when the reservation expired before its order record was written, then a retry is refused with 409 INVALID_STATE_TRANSITION', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    await t.checkout.verify(request, checkoutContext);
    t.orders.orders.delete(request.orderNo);
    t.world.now = new Date(t.world.now.getTime() + HOLD + MINUTE);
    await t.lifecycle.sweep();
    await expect(t.checkout.verify(request, checkoutContext)).rejects.toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
    });
  });

  it('when the order number was answered for an unknown buyer, then a reservation made under it for another buyer is given back', async () => {
    const t = inMemoryCheckout();
    const first = verifyRequest({ identityId: '00000000-0000-4000-8000-000000000000' });
    await t.checkout.verify(first, checkoutContext);
    const second = { ...first, identityId: KNOWN_BUYER.identityId };
    await expect(t.checkout.verify(second, checkoutContext)).rejects.toMatchObject({
      code: 'ORDER_CONFLICT',
    });
    const ledger = await t.ledger.read(KNOWN_BUYER.personRef, 2026, t.world.now);
    expect(ledger.entries.get(first.orderNo)?.status).toBe('EXPIRED');
    expect(t.orders.holds.has(first.orderNo)).toBe(false);
  });
});

describe('sweeper', () => {
  it('when an approval is not confirmed within the hold, then the sweep after it gives the amount back, not before', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    await t.checkout.verify(request, checkoutContext);
    const placed = t.world.now.getTime();
    expect(await t.lifecycle.sweep(new Date(placed + HOLD - 1))).toMatchObject({ expired: 0 });
    expect(await t.lifecycle.sweep(new Date(placed + HOLD))).toMatchObject({ expired: 1 });
    const ledger = await t.ledger.read(KNOWN_BUYER.personRef, 2026, t.world.now);
    expect(ledger.entries.get(request.orderNo)?.status).toBe('EXPIRED');
    expect(t.orders.holds.size).toBe(0);
  });

  it('when a verify stopped before the ledger, then after the hold the sweep closes its order number for good', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    t.journal.beforeNextCommit(async () => {
      throw new Error('process stopped');
    });
    await expect(t.checkout.verify(request, checkoutContext)).rejects.toThrow('process stopped');
    await t.lifecycle.sweep(new Date(t.world.now.getTime() + HOLD));
    const ledger = await t.ledger.read(KNOWN_BUYER.personRef, 2026, t.world.now);
    expect(ledger.entries.get(request.orderNo)).toMatchObject({ status: 'EXPIRED', amountFen: 0 });
    await expect(t.checkout.verify(request, checkoutContext)).rejects.toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
    });
  });

  it('when a confirm listener failed, then the sweep a minute later runs it again and clears the hold', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    await t.checkout.verify(request, checkoutContext);
    let failing = true;
    const heard: string[] = [];
    t.lifecycle.onConfirmed(async (order) => {
      heard.push(order.status);
      if (failing) throw new Error('declarations down');
    });
    await expect(t.lifecycle.confirm(request.orderNo, null)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    failing = false;
    const report = await t.lifecycle.sweep(new Date(t.world.now.getTime() + MINUTE));
    expect(report).toMatchObject({ redriven: 1, failed: 0 });
    expect(heard).toEqual(['CONFIRMED', 'CONFIRMED']);
    expect(t.orders.holds.size).toBe(0);
  });

  it('when a listener fails again in the sweep, then it is counted as failed and due again a minute later', async () => {
    const t = inMemoryCheckout();
    const request = verifyRequest();
    await t.checkout.verify(request, checkoutContext);
    t.lifecycle.onConfirmed(async () => {
      throw new Error('declarations down');
    });
    await expect(t.lifecycle.confirm(request.orderNo, null)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    const sweptAt = new Date(t.world.now.getTime() + MINUTE);
    expect(await t.lifecycle.sweep(sweptAt)).toMatchObject({ redriven: 0, failed: 1 });
    expect(t.orders.holds.get(request.orderNo)?.dueAt).toEqual(
      new Date(sweptAt.getTime() + MINUTE),
    );
  });
});
