import fc from 'fast-check';
import { applyChange, balances, emptyLedger, type LedgerState } from '../src/quota/ledger';
import { decideReturn, type ReturnableOrder, type ReturnLine } from '../src/quota/order-returns';

/**
 * Partial returns, for random orders and random sequences of returns: a
 * return never gives back more than the order took, each gives back its
 * pieces' share (never negative), and once every piece is back the order
 * holds nothing of the allowance, to the fen.
 */

const LIMIT = { annualFen: 2_600_000, effectiveFrom: new Date('2019-01-01T00:00:00Z') };
const RELEASED = new Date('2026-05-01T00:00:00Z');
const NOW = new Date('2026-05-10T00:00:00Z');
const windowOpen = () => true;

const lineArb = fc.record({
  qty: fc.integer({ min: 1, max: 5 }),
  unitPriceFen: fc.integer({ min: 0, max: 100_000 }),
});

/** An order of 1-5 lines (SKUs may repeat across lines), freight and insurance on top. */
const orderArb = fc
  .record({
    lines: fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), lineArb), {
      minLength: 1,
      maxLength: 5,
    }),
    extrasFen: fc.integer({ min: 0, max: 20_000 }),
  })
  .map(({ lines, extrasFen }): ReturnableOrder => {
    const items = lines.map(([sku, line]) => ({ sku: `SKU-${sku}`, ...line }));
    const goodsValueFen = items.reduce((sum, item) => sum + item.qty * item.unitPriceFen, 0);
    return { orderNo: 'SO-1', items, goodsValueFen, taxableFen: goodsValueFen + extrasFen };
  });

/** A ledger where the order is released and counts its whole taxable value as used. */
function releasedLedger(order: ReturnableOrder): LedgerState {
  return applyChange(emptyLedger('person', 2026, LIMIT), {
    orderNo: order.orderNo,
    from: null,
    to: 'CUSTOMS_RELEASED',
    amountFen: order.taxableFen,
    at: RELEASED,
    confirmedAt: RELEASED,
    releasedAt: RELEASED,
    limitFen: LIMIT.annualFen,
    limitFrom: LIMIT.effectiveFrom,
  });
}

/** One return step: some pieces of every SKU the order has, as chosen by `picks`. */
function returnOf(order: ReturnableOrder, state: LedgerState, picks: number[]): ReturnLine[] {
  const skus = [...new Set(order.items.map((item) => item.sku))];
  const returned = state.entries.get(order.orderNo)?.returned ?? {};
  return skus
    .map((sku, index) => {
      const bought = order.items.filter((i) => i.sku === sku).reduce((s, i) => s + i.qty, 0);
      const left = bought - (returned[sku] ?? 0);
      return { sku, qty: Math.min(left, picks[index % picks.length]!) };
    })
    .filter((line) => line.qty > 0);
}

it('returns by item never give back more than the order took, and all of them give back all of it', () => {
  fc.assert(
    fc.property(
      orderArb,
      fc.array(fc.array(fc.nat(3), { minLength: 1, maxLength: 3 }), { maxLength: 6 }),
      (order, steps) => {
        let state = releasedLedger(order);
        let restoredBefore = 0;
        for (const picks of [...steps, null]) {
          const asked = picks === null ? null : returnOf(order, state, picks);
          if (asked !== null && asked.length === 0) continue;
          const { change, result } = decideReturn(order, asked, { now: NOW, windowOpen })(state);
          if (result.kind !== 'returned') throw new Error(`unexpected ${result.kind}`);
          // Never more than taken, never back down, and what the ledger counts agrees.
          expect(result.restoredFen).toBeGreaterThanOrEqual(restoredBefore);
          expect(result.restoredFen).toBeLessThanOrEqual(order.taxableFen);
          if (change)
            state = applyChange(state, {
              ...change,
              limitFen: LIMIT.annualFen,
              limitFrom: LIMIT.effectiveFrom,
            });
          expect(balances(state).usedFen).toBe(
            result.entry.status === 'RETURNED' ? 0 : order.taxableFen - result.restoredFen,
          );
          restoredBefore = result.restoredFen;
        }
        expect(state.entries.get(order.orderNo)?.status).toBe('RETURNED');
        expect(restoredBefore).toBe(order.taxableFen);
        expect(balances(state).usedFen).toBe(0);
      },
    ),
    { numRuns: 300 },
  );
});

it('a return of more pieces than are left changes nothing', () => {
  fc.assert(
    fc.property(orderArb, fc.integer({ min: 1, max: 3 }), (order, extra) => {
      const state = releasedLedger(order);
      const sku = order.items[0]!.sku;
      const bought = order.items.filter((i) => i.sku === sku).reduce((s, i) => s + i.qty, 0);
      const decision = decideReturn(order, [{ sku, qty: bought + extra }], {
        now: NOW,
        windowOpen,
      })(state);
      expect(decision.change).toBeUndefined();
      expect(decision.result).toEqual({ kind: 'exceeds', line: 0 });
    }),
  );
});
