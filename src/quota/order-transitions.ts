import { Conflict, NotFound, Unprocessable } from '../errors';
import type { ParcelWeights, ProductCatalogue } from '../products/products-types';
import { productDataMissing, productsOfLines } from './catalogue-items';
import type { LedgerEntry, LedgerStatus } from './ledger';
import { decideTransition, type TransitionOptions } from './ledger-decisions';
import type { LedgerService } from './ledger-service';
import type { LifecycleOrder } from './order-lifecycle-types';
import { holdForListeners, type OrderListeners } from './order-listeners';
import { loadLifecycleView } from './order-view';
import type { OrderRecord, OrdersStore } from './orders-types';
import { decideReturn, exceedsOrder, type ReturnLine } from './order-returns';
import type { CbecPolicy } from './policy';

/** An order's steps after checkout: confirm, cancel, return (HTTP) and customs' answers. */
export interface OrderTransitions {
  /**
   * Payment done. Refuses with 422 PRODUCT_DATA_MISSING, changing nothing,
   * while any line's SKU is not catalogued. `parcel`: the weighed parcel
   * (null: none given; the catalogue's weights then apply, see parcelOf).
   */
  confirm(
    orderNo: string,
    parcel: ParcelWeights | null,
  ): Promise<{ orderNo: string; status: 'CONFIRMED' }>;
  cancel(orderNo: string): Promise<{ orderNo: string; status: 'CANCELLED' }>;
  /** A return of some pieces (null: all not yet returned). */
  returnOrder(orderNo: string, items: readonly ReturnLine[] | null): Promise<ReturnAnswer>;
  markCustomsAccepted(orderNo: string, releasedAt: Date): Promise<LifecycleOrder>;
  markCustomsRejected(orderNo: string): Promise<LifecycleOrder>;
}

/** What a return answers: the order's state and everything returned so far. */
export interface ReturnAnswer {
  orderNo: string;
  status: 'RETURNED' | 'PARTIALLY_RETURNED';
  returned: ReturnLine[];
  /** Taxable value given back to the allowance by the order's returns so far, fen. */
  restoredFen: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function windowClosed(): Unprocessable {
  return new Unprocessable(
    'RETURN_WINDOW_CLOSED',
    'A return is allowed only within the return window after customs release.',
  );
}

function invalidTransition(from: LedgerStatus | null, message: string): Conflict {
  const error = new Conflict('INVALID_STATE_TRANSITION', message);
  // The current status is one of a closed list, never request data.
  error.details.push({ path: 'status', message: `is ${from ?? 'PENDING'}` });
  return error;
}

/**
 * Moves an order to `to` with one ledger commit: the ledger holds every
 * order's status and serialises all changes of one buyer's year, so two
 * racing transitions of one order cannot both win.
 */
export async function moveOrder(
  ledger: LedgerService,
  order: OrderRecord,
  to: LedgerStatus,
  options: TransitionOptions,
): Promise<{ entry: LedgerEntry; kind: 'moved' | 'already' }> {
  if (order.result.decision === 'REJECTED') {
    throw invalidTransition('REJECTED', 'The order was rejected at checkout.');
  }
  const { result } = await ledger.update(
    order.personKey,
    order.quotaYear,
    order.createdAt,
    decideTransition(order.orderNo, to, options),
  );
  if (result.kind === 'window-closed') throw windowClosed();
  if (result.kind === 'invalid') {
    throw invalidTransition(result.from, `The order cannot move to ${to} from its current status.`);
  }
  return { entry: result.entry, kind: result.kind };
}

/** Open while `now` is at most `returnWindowDays` after customs released the goods. */
export function returnWindowOpen(returnWindowDays: number, now: Date) {
  const windowMs = returnWindowDays * DAY_MS;
  return (entry: LedgerEntry) =>
    entry.releasedAt !== null && now.getTime() - entry.releasedAt.getTime() <= windowMs;
}

interface TransitionDeps {
  ordersStore: OrdersStore;
  ledger: LedgerService;
  policy: CbecPolicy;
  listeners: OrderListeners;
  catalogue: ProductCatalogue;
  clock: () => Date;
}

export function createOrderTransitions(deps: TransitionDeps): OrderTransitions {
  return {
    confirm: (orderNo, parcel) => confirm(deps, orderNo, parcel),
    cancel: (orderNo) => cancel(deps, orderNo),
    returnOrder: (orderNo, items) => returnOrder(deps, orderNo, items),
    async markCustomsAccepted(orderNo, releasedAt) {
      const order = await loadOrder(deps, orderNo);
      const moved = await moveOrder(deps.ledger, order, 'CUSTOMS_RELEASED', {
        now: deps.clock(),
        releasedAt,
      });
      return loadLifecycleView(deps.ordersStore, order, moved.entry);
    },
    async markCustomsRejected(orderNo) {
      const order = await loadOrder(deps, orderNo);
      const moved = await moveOrder(deps.ledger, order, 'CUSTOMS_REJECTED', { now: deps.clock() });
      return loadLifecycleView(deps.ordersStore, order, moved.entry);
    },
  };
}

async function loadOrder({ ordersStore }: TransitionDeps, orderNo: string): Promise<OrderRecord> {
  const order = await ordersStore.findOrder(orderNo);
  if (!order) throw new NotFound('order');
  return order;
}

async function confirm(deps: TransitionDeps, orderNo: string, parcel: ParcelWeights | null) {
  const now = deps.clock();
  const order = await loadOrder(deps, orderNo);
  if (order.result.decision === 'APPROVED') await recordParcel(deps, order, parcel, now);
  const { entry } = await moveOrder(deps.ledger, order, 'CONFIRMED', { now });
  // Also on a repeated confirm: listeners are idempotent, and this is how a failed one is retried.
  await deps.listeners.notify('confirmed', order, entry);
  return { orderNo, status: 'CONFIRMED' as const };
}

/**
 * Records what the order is confirmed with (its products as catalogued now,
 * the weights given) before the ledger moves it, so a CONFIRMED order
 * always has it, even after a crash between the two. The first record
 * stays: a repeated confirm neither checks the catalogue again nor changes it.
 */
async function recordParcel(
  { ordersStore, catalogue }: TransitionDeps,
  order: OrderRecord,
  weights: ParcelWeights | null,
  now: Date,
): Promise<void> {
  if (await ordersStore.findParcel(order.orderNo)) return;
  const products = await catalogue.findMany(order.items.map((item) => item.sku));
  const missing = productDataMissing(order.items, products);
  if (missing) throw missing;
  await ordersStore.insertParcel({
    orderNo: order.orderNo,
    weights,
    products: productsOfLines(order.items, products),
    recordedAt: now,
  });
}

async function cancel(deps: TransitionDeps, orderNo: string) {
  const { ordersStore, ledger } = deps;
  const now = deps.clock();
  const order = await loadOrder(deps, orderNo);
  // A cancellation owes the listeners a call: hold the order until they ran.
  const held =
    order.result.decision === 'APPROVED' && (await holdForListeners(ordersStore, order, now));
  let moved;
  try {
    moved = await moveOrder(ledger, order, 'CANCELLED', { now });
  } catch (error) {
    // Not cancellable: an approved order still holds its own hold, this one goes.
    if (held && error instanceof Conflict) await ordersStore.deleteHold(orderNo);
    throw error;
  }
  await deps.listeners.notify('cancelled', order, moved.entry);
  return { orderNo, status: 'CANCELLED' as const };
}

async function returnOrder(
  deps: TransitionDeps,
  orderNo: string,
  items: readonly ReturnLine[] | null,
): Promise<ReturnAnswer> {
  const now = deps.clock();
  const order = await loadOrder(deps, orderNo);
  if (order.result.decision === 'REJECTED') {
    throw invalidTransition('REJECTED', 'The order was rejected at checkout.');
  }
  const windowOpen = returnWindowOpen(deps.policy.returnWindowDays, now);
  const { result } = await deps.ledger.update(
    order.personKey,
    order.quotaYear,
    order.createdAt,
    decideReturn(order, items, { now, windowOpen }),
  );
  switch (result.kind) {
    case 'invalid':
      throw invalidTransition(result.from, 'The order cannot be returned from its current status.');
    case 'window-closed':
      throw windowClosed();
    case 'exceeds':
      throw exceedsOrder(result.line);
    case 'returned':
      return {
        orderNo,
        status: result.entry.status === 'RETURNED' ? 'RETURNED' : 'PARTIALLY_RETURNED',
        returned: Object.entries(result.entry.returned ?? {})
          .filter(([, qty]) => qty > 0)
          .map(([sku, qty]) => ({ sku, qty }))
          .sort((a, b) => (a.sku < b.sku ? -1 : 1)),
        restoredFen: result.restoredFen,
      };
  }
}
