import {
  add,
  divide,
  fromInteger,
  multiply,
  ONE,
  roundHalfUp,
  subtract,
  ZERO,
  type Fraction,
} from './money';
import type { CategoryRates } from './policy';
import type { TaxBreakdown } from './order-lifecycle-types';

const ML_PER_LITRE = fromInteger(1000);

/**
 * One goods category within an order: its taxable value in fen (its goods
 * plus its exact, unrounded share of freight and insurance) and the volume
 * its pieces hold, for a per-volume consumption tax.
 */
export interface CategoryValue {
  taxable: Fraction;
  rates: CategoryRates;
  /** Sum of qty x volumeMl over the category's items; 0 when its rates have no per-volume part. */
  volumeMl: number;
}

export type TaxMode =
  /** Within the limits: tariff 0, VAT and consumption tax at `share` (70%). */
  | { kind: 'within-limits'; share: Fraction }
  /** The single-item exception: tariff, consumption tax and VAT in full. */
  | { kind: 'full' };

/**
 * Import taxes of an order (Cai Guan Shui [2016] No. 18; rates from the
 * policy data). With taxable value T, tariff rate t, ad valorem
 * consumption-tax rate c, per-volume part S (fen; 0 for ad valorem
 * categories) and VAT rate v, the statutory amounts are:
 *
 *   tariff      = T x t                                (t = 0 within the limits)
 *   consumption = (T + tariff + S) / (1 - c) x c + S   (composite assessable price x c, plus S)
 *   VAT         = (T + tariff + consumption) x v
 *
 * Within the limits consumption tax and VAT are each multiplied by `share`,
 * so for ad valorem goods consumption + VAT is T x (c + v) / (1 - c) x 0.7:
 * 9.1% for general goods, 23.06% for high-end cosmetics. Each tax is summed
 * exactly over the order's categories and rounded to the fen once, half up;
 * the total is the sum of the three.
 */
export function computeTax(
  taxableFen: number,
  parts: CategoryValue[],
  mode: TaxMode,
): TaxBreakdown {
  let tariff = ZERO;
  let consumption = ZERO;
  let vat = ZERO;
  for (const part of parts) {
    const statutory = statutoryTaxes(part, mode.kind === 'full' ? part.rates.tariff : ZERO);
    const share = mode.kind === 'full' ? ONE : mode.share;
    tariff = add(tariff, statutory.tariff);
    consumption = add(consumption, multiply(statutory.consumption, share));
    vat = add(vat, multiply(statutory.vat, share));
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

/** One category's tariff, consumption tax and VAT in full, exactly. */
function statutoryTaxes({ taxable, rates, volumeMl }: CategoryValue, tariffRate: Fraction) {
  const tariff = multiply(taxable, tariffRate);
  const specific = divide(multiply(fromInteger(volumeMl), rates.specificFenPerLitre), ML_PER_LITRE);
  const composite = divide(add(add(taxable, tariff), specific), subtract(ONE, rates.consumption));
  const consumption = add(multiply(composite, rates.consumption), specific);
  const vat = multiply(add(add(taxable, tariff), consumption), rates.vat);
  return { tariff, consumption, vat };
}
