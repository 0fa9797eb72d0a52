import type { OrderItem, TaxBreakdown } from './order-lifecycle-types';
import { divide, fromInteger, multiply, parseDecimal, ZERO } from './money';
import { PolicyError, type CategoryRates, type CbecPolicy } from './policy';
import { computeTax, type CategoryValue } from './tax';
import { beijingYear } from '../beijing-time';

/** The money side of an order, as the CBEC rules see it. */
export interface OrderFigures {
  goodsValueFen: number;
  /** goods + freight + insurance; discounts (non-cash deductions) are not subtracted. */
  taxableFen: number;
  /** Exactly one piece: one item line with qty 1. */
  singlePiece: boolean;
  perOrderLimitFen: number;
  /** Above the per-order limit with more than one piece: not allowed through CBEC. */
  overPerOrderLimit: boolean;
  /** Above the per-order limit as a single piece: allowed, taxed in full, counted. */
  singleItemException: boolean;
  tax: TaxBreakdown;
  quotaYear: number;
}

export interface OrderMoney {
  items: OrderItem[];
  freightFen: number;
  insuranceFen: number;
  /**
   * When the service verifies the order (its own clock): it decides the quota
   * year, the limits and the rates. A client's `orderedAt` never does, so a
   * backdated order cannot move into another year.
   */
  verifiedAt: Date;
}

export function evaluateOrder(policy: CbecPolicy, order: OrderMoney): OrderFigures {
  const goodsValueFen = order.items.reduce((sum, item) => sum + item.qty * item.unitPriceFen, 0);
  const taxableFen = goodsValueFen + order.freightFen + order.insuranceFen;
  const pieces = order.items.reduce((sum, item) => sum + item.qty, 0);
  const singlePiece = pieces === 1;
  const { perOrderFen } = policy.limitsAt(order.verifiedAt);
  const overLimit = taxableFen > perOrderFen;
  const mode =
    overLimit && singlePiece
      ? ({ kind: 'full' } as const)
      : ({ kind: 'within-limits', share: policy.withinLimitShareAt(order.verifiedAt) } as const);
  return {
    goodsValueFen,
    taxableFen,
    singlePiece,
    perOrderLimitFen: perOrderFen,
    overPerOrderLimit: overLimit && !singlePiece,
    singleItemException: overLimit && singlePiece,
    tax: computeTax(
      taxableFen,
      withProductTariff(apportion(policy, order, goodsValueFen, taxableFen), order, mode),
      mode,
    ),
    quotaYear: beijingYear(order.verifiedAt),
  };
}

/**
 * Splits the taxable value by the goods category whose rates apply (a piece
 * below its category's price threshold counts as the fallback category),
 * freight and insurance pro rata to goods value, exactly (fractions of a fen
 * are kept until the final rounding). Free goods and freight alone: the
 * freight is taxed as the default category.
 */
function apportion(
  policy: CbecPolicy,
  order: OrderMoney,
  goodsValueFen: number,
  taxableFen: number,
): CategoryValue[] {
  const at = order.verifiedAt;
  const groups = new Map<string, { goods: number; volumeMl: number }>();
  for (const item of order.items) {
    const category = policy.taxCategoryOf(item.category, item.unitPriceFen, at);
    const group = groups.get(category) ?? { goods: 0, volumeMl: 0 };
    group.goods += item.qty * item.unitPriceFen;
    group.volumeMl += item.qty * volumeOf(item, policy.ratesAt(category, at));
    groups.set(category, group);
  }
  const scale =
    goodsValueFen === 0 ? ZERO : divide(fromInteger(taxableFen), fromInteger(goodsValueFen));
  const parts = [...groups].map(([category, { goods, volumeMl }]) => ({
    taxable: multiply(fromInteger(goods), scale),
    rates: policy.ratesAt(category, at),
    volumeMl,
  }));
  if (goodsValueFen > 0) return parts;
  const freight = {
    taxable: fromInteger(taxableFen),
    rates: policy.ratesAt(policy.defaultCategory, at),
    volumeMl: 0,
  };
  return [...parts, freight];
}

/**
 * A single piece taxed in full pays its HS code's tariff when the catalogue
 * has it; the category's rate is the fallback. Within the limits the tariff is 0.
 */
function withProductTariff(
  parts: CategoryValue[],
  order: OrderMoney,
  mode: { kind: 'full' | 'within-limits' },
): CategoryValue[] {
  const tariffRate = order.items.length === 1 ? order.items[0]!.tariffRate : undefined;
  if (mode.kind !== 'full' || !tariffRate || parts.length !== 1) return parts;
  return [{ ...parts[0]!, rates: { ...parts[0]!.rates, tariff: parseDecimal(tariffRate) } }];
}

/** One piece's volume where its rates tax volume; the request schema requires it there. */
function volumeOf(item: OrderItem, rates: CategoryRates): number {
  if (rates.specificFenPerLitre.n === 0n) return 0;
  if (item.volumeMl === undefined) {
    throw new PolicyError('an item of a category taxed by volume has no volumeMl');
  }
  return item.volumeMl;
}
