import type { LedgerEntry, LedgerStatus } from '../src/quota/ledger';
import { parseDecimal, fromInteger } from '../src/quota/money';
import { evaluateOrder } from '../src/quota/order-rules';
import { returnWindowOpen } from '../src/quota/order-transitions';
import { everConfirmed, lifecycleView } from '../src/quota/order-view';
import type { OrderRecord } from '../src/quota/orders-types';
import { loadPolicy } from '../src/quota/policy';
import { computeTax } from '../src/quota/tax';

/** Order figures, tax and lifecycle rules, without HTTP or a database. */

const policy = loadPolicy();
const at = new Date('2026-06-01T04:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

function figures(items: { qty: number; unitPriceFen: number }[], freightFen = 0) {
  return evaluateOrder(policy, {
    items: items.map((item, i) => ({ sku: `S${i}`, name: 'x', category: 'general', ...item })),
    freightFen,
    insuranceFen: 0,
    verifiedAt: at,
  });
}

describe('per-order limit', () => {
  it('when two pieces come to exactly RMB 5,000, then the order is within the limit', () => {
    expect(figures([{ qty: 2, unitPriceFen: 250_000 }])).toMatchObject({
      taxableFen: 500_000,
      overPerOrderLimit: false,
      singleItemException: false,
    });
  });

  it('when a single piece is exactly RMB 5,000, then it is not the single-item exception and is taxed within the limits', () => {
    const order = figures([{ qty: 1, unitPriceFen: 500_000 }]);
    expect(order).toMatchObject({ singlePiece: true, singleItemException: false });
    expect(order.tax).toMatchObject({ tariffFen: 0, vatFen: 45_500 });
  });

  it('when one fen more comes from freight on a single piece, then it is the single-item exception', () => {
    const order = figures([{ qty: 1, unitPriceFen: 500_000 }], 1);
    expect(order).toMatchObject({ singleItemException: true, overPerOrderLimit: false });
    expect(order.tax.tariffFen).toBe(50_000); // 10% of 500,001 fen, rounded once
  });

  it('when the goods cost nothing and only freight is paid, then the freight is taxed as the default category', () => {
    const order = figures([{ qty: 1, unitPriceFen: 0 }], 1_000);
    expect(order.goodsValueFen).toBe(0);
    expect(order.tax).toMatchObject({ taxableFen: 1_000, vatFen: 91, totalTaxFen: 91 });
  });
});

describe('tax rounding', () => {
  const half = {
    effectiveFrom: at,
    vat: parseDecimal('0.5'),
    consumption: parseDecimal('0'),
    specificFenPerLitre: parseDecimal('0'),
    tariff: parseDecimal('0'),
    threshold: null,
  };

  it('when two categories each owe half a fen, then the sum is rounded once: 1 fen, not 2', () => {
    const part = { taxable: fromInteger(1), rates: half, volumeMl: 0 };
    expect(computeTax(2, [part, part], { kind: 'full' })).toEqual({
      taxableFen: 2,
      tariffFen: 0,
      vatFen: 1,
      consumptionTaxFen: 0,
      totalTaxFen: 1,
    });
  });

  it('when within the limits, then VAT is charged at the share only', () => {
    const part = { taxable: fromInteger(1_000), rates: half, volumeMl: 0 };
    const tax = computeTax(1_000, [part], { kind: 'within-limits', share: parseDecimal('0.7') });
    expect(tax.vatFen).toBe(350);
  });
});

describe('return window', () => {
  const released = new Date('2026-06-01T00:00:00Z');
  const entry = (releasedAt: Date | null): LedgerEntry => ({
    status: 'CUSTOMS_RELEASED',
    amountFen: 1,
    at: released,
    confirmedAt: released,
    releasedAt,
  });

  it('when exactly 30 days have passed since release, then a return is still allowed', () => {
    const open = returnWindowOpen(30, new Date(released.getTime() + 30 * DAY));
    expect(open(entry(released))).toBe(true);
  });

  it('when 30 days and 1 ms have passed since release, then the window is closed', () => {
    const open = returnWindowOpen(30, new Date(released.getTime() + 30 * DAY + 1));
    expect(open(entry(released))).toBe(false);
  });

  it('when customs never released the goods, then the window is closed', () => {
    expect(returnWindowOpen(30, released)(entry(null))).toBe(false);
  });
});

describe('what other capabilities see of an order', () => {
  const entry = (status: LedgerStatus, confirmedAt: Date | null = null): LedgerEntry => ({
    status,
    amountFen: 1,
    at,
    confirmedAt,
    releasedAt: null,
  });

  it.each<[string, LedgerEntry | undefined, boolean]>([
    ['CONFIRMED', entry('CONFIRMED', at), true],
    ['CUSTOMS_REJECTED', entry('CUSTOMS_REJECTED', at), true],
    ['RETURNED', entry('RETURNED', at), true],
    ['CANCELLED after a confirm', entry('CANCELLED', at), true],
    ['CANCELLED before any confirm', entry('CANCELLED'), false],
    ['APPROVED', entry('APPROVED'), false],
    ['EXPIRED', entry('EXPIRED'), false],
    ['not in the ledger', undefined, false],
  ])('when the order is %s, then ever confirmed is %s', (_label, ledgerEntry, expected) => {
    expect(everConfirmed(ledgerEntry)).toBe(expected);
  });

  it('when the ledger has no entry yet, then the status is the checkout verdict', () => {
    const tax = { taxableFen: 1, tariffFen: 0, vatFen: 0, consumptionTaxFen: 0, totalTaxFen: 0 };
    const quota = { year: 2026, limitFen: 1, usedFen: 0, reservedFen: 1, remainingFen: 0 };
    const order: OrderRecord = {
      orderNo: 'SO-1',
      identityId: 'buyer',
      personKey: 'buyer',
      requestHash: 'hash',
      personalHash: null,
      items: [],
      goodsValueFen: 1,
      freightFen: 0,
      insuranceFen: 0,
      discountFen: 0,
      taxableFen: 1,
      tax,
      singleItemException: false,
      customsCode: 'BROKER1',
      carrierCode: 'SF',
      orderedAt: at,
      quotaYear: 2026,
      consignee: null,
      result: {
        orderNo: 'SO-1',
        decision: 'APPROVED',
        reasons: [],
        quota,
        quotaSource: 'LOCAL',
        tax,
      },
      createdAt: at,
    };
    expect(lifecycleView(order, undefined, null)).toMatchObject({
      status: 'APPROVED',
      confirmedAt: null,
      releasedAt: null,
    });
    expect(lifecycleView(order, entry('CONFIRMED', at), null)).toMatchObject({
      status: 'CONFIRMED',
      confirmedAt: at,
    });
  });
});
