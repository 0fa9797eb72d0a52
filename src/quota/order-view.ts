import type { LedgerEntry, LedgerStatus } from './ledger';
import type { LifecycleOrder } from './order-lifecycle-types';
import type { OrderParcel, OrderRecord, OrdersStore } from './orders-types';

/**
 * An order as other capabilities see it: the record's immutable facts with
 * the status the ledger holds (the checkout verdict before the ledger has
 * one) and what its first confirm recorded (products, weights).
 */
export function lifecycleView(
  order: OrderRecord,
  entry: LedgerEntry | undefined,
  parcel: OrderParcel | null,
): LifecycleOrder {
  const products = new Map(parcel?.products.map((product) => [product.sku, product]));
  return {
    orderNo: order.orderNo,
    identityId: order.identityId,
    status: entry?.status ?? order.result.decision,
    items: order.items.map((item) => {
      const product = products.get(item.sku);
      return product ? { ...item, product } : item;
    }),
    goodsValueFen: order.goodsValueFen,
    freightFen: order.freightFen,
    insuranceFen: order.insuranceFen,
    discountFen: order.discountFen,
    taxableFen: order.taxableFen,
    tax: order.tax,
    singleItemException: order.singleItemException,
    customsCode: order.customsCode,
    carrierCode: order.carrierCode,
    orderedAt: order.orderedAt,
    quotaYear: order.quotaYear,
    confirmedAt: entry?.confirmedAt ?? null,
    releasedAt: entry?.releasedAt ?? null,
    parcel: parcel?.weights ?? null,
  };
}

/** The lifecycle view with the order's confirm record read from the store. */
export async function loadLifecycleView(
  ordersStore: OrdersStore,
  order: OrderRecord,
  entry: LedgerEntry | undefined,
): Promise<LifecycleOrder> {
  return lifecycleView(order, entry, await ordersStore.findParcel(order.orderNo));
}

const CONFIRMED_OR_LATER: ReadonlySet<LedgerStatus> = new Set([
  'CONFIRMED',
  'CUSTOMS_RELEASED',
  'CUSTOMS_REJECTED',
  'RETURNED',
]);

/** True when the order was ever confirmed: CONFIRMED or later, or cancelled after its confirm. */
export function everConfirmed(entry: LedgerEntry | undefined): boolean {
  return (
    entry !== undefined && (CONFIRMED_OR_LATER.has(entry.status) || entry.confirmedAt !== null)
  );
}
