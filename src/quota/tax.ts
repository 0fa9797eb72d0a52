import { add, divide, multiply, ONE, roundHalfUp, subtract, ZERO, type Fraction } from './money';
import type { CategoryRates } from './policy';
import type { TaxBreakdown } from './order-lifecycle-types';

/**
 * Taxable value of one goods category within an order, in fen: its goods
 * plus its exact (unrounded) share of freight and insurance.
 */
export interface CategoryValue {
  taxable: Fraction;
  rates: CategoryRates;
}

export type TaxMode =
  /** Within the limits: tariff 0, VAT and consumption tax at `share` (70%). */
  | { kind: 'within-limits'; share: Fraction }
  /** The single-item exception: tariff, consumption tax and VAT in full. */
  | { kind: 'full' };

/**
 * Import taxes of an order (Cai Guan Shui [2016] No. 18; rates from the
 * policy data). With taxable value T, tariff rate t, consumption-tax rate c
 * and VAT rate v:
 *
 *   tariff      = T x t                       (t = 0 within the limits)
 *   consumption = T x (1 + t) x c / (1 - c)   (composite assessable price x c)
 *   VAT         = T x (1 + t) x v / (1 - c)
 *
 * each multiplied by `share` within the limits, so consumption + VAT is
 * T x (c + v) / (1 - c) x 0.7: 9.1% for general goods, 23.06% for high-end
 * cosmetics. Each tax is summed exactly over the order's categories and
 * rounded to the fen once, half up; the total is the sum of the three.
 */
export function computeTax(
  taxableFen: number,
  parts: CategoryValue[],
  mode: TaxMode,
): TaxBreakdown {
  let tariff = ZERO;
  let consumption = ZERO;
  let vat = ZERO;
  for (const { taxable: value, rates } of parts) {
    const tariffRate = mode.kind === 'full' ? rates.tariff : ZERO;
    const share = mode.kind === 'full' ? ONE : mode.share;
    const assessable = multiply(value, add(ONE, tariffRate));
    const composite = divide(assessable, subtract(ONE, rates.consumption));
    tariff = add(tariff, multiply(value, tariffRate));
    consumption = add(consumption, multiply(composite, rates.consumption, share));
    vat = add(vat, multiply(composite, rates.vat, share));
  }
  const tariffFen = roundHalfUp(tariff);
  const consumptionTaxFen = roundHalfUp(consumption);
  const vatFen = roundHalfUp(vat);
  return {
    taxableFen,
    tariffFen,
    vatFen,
    consumptionTaxFen,
    totalTaxFen: tariffFen + vatFen + consumptionTaxFen,
  };
}
