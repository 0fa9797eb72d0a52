import { fromScaled, toScaled } from './exact-decimal';
import type { ParcelWeights, ProductData } from './products-types';

/** What parcelOf reads of an order: its lines, each optionally with its catalogued product. */
export interface ParcelOrder {
  items: readonly { sku: string; qty: number; product?: Pick<ProductData, 'netWeightKg'> }[];
}

/**
 * A parcel's weights from the catalogue, for an order confirmed without
 * weights: net = the sum of qty x netWeightKg over its lines, exactly. The
 * packaging is not catalogued, so gross = net: a lower bound the platform
 * should replace by weighing (`parcel` on confirm) where it can.
 * `products` defaults to the products the order's lines carry (LifecycleOrder).
 * Throws when a line's SKU has no product: confirm refuses such orders.
 */
export function parcelOf(
  order: ParcelOrder,
  products?: ReadonlyMap<string, Pick<ProductData, 'netWeightKg'>>,
): ParcelWeights {
  let net = 0n;
  for (const item of order.items) {
    const product = products ? products.get(item.sku) : item.product;
    const perUnit = product ? toScaled(product.netWeightKg) : null;
    if (perUnit === null) throw new RangeError('an order line has no catalogued net weight');
    net += BigInt(item.qty) * perUnit;
  }
  const weight = fromScaled(net);
  return { grossWeightKg: weight, netWeightKg: weight };
}
