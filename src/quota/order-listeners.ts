import { ServiceUnavailable } from '../errors';
import type { Logger } from '../logger';
import type { LedgerEntry } from './ledger';
import type { LifecycleOrder, OrderListener } from './order-lifecycle-types';
import { loadLifecycleView } from './order-view';
import type { OrderRecord, OrdersStore } from './orders-types';

/**
 * Who hears of confirmations and cancellations (disclosure: declarations and
 * shipments). A call owed to the listeners is kept as a hold on the order
 * until they ran, so a failure or a crash leaves it for the sweeper to re-run.
 */

/** Listeners that failed are retried by the sweeper after this long. */
export const RETRY_AFTER_MS = 60 * 1000;

export type OrderEvent = 'confirmed' | 'cancelled';

export interface OrderListeners {
  subscribe(event: OrderEvent, listener: OrderListener): () => void;
  /** Runs every listener of `event` in turn; rejects with the first failure. */
  emit(event: OrderEvent, order: LifecycleOrder): Promise<void>;
  /**
   * Runs the listeners, then clears the order's hold. A failure leaves the
   * hold, due soon, for the sweeper, and rejects with 503.
   */
  notify(event: OrderEvent, order: OrderRecord, entry: LedgerEntry): Promise<void>;
}

export function createOrderListeners({
  ordersStore,
  logger,
  clock,
}: {
  ordersStore: OrdersStore;
  logger: Logger;
  clock: () => Date;
}): OrderListeners {
  const listeners: Record<OrderEvent, Set<OrderListener>> = {
    confirmed: new Set(),
    cancelled: new Set(),
  };

  async function emit(event: OrderEvent, order: LifecycleOrder): Promise<void> {
    for (const listener of listeners[event]) await listener(order);
  }

  return {
    subscribe(event, listener) {
      listeners[event].add(listener);
      return () => listeners[event].delete(listener);
    },

    emit,

    async notify(event, order, entry) {
      try {
        await emit(event, await loadLifecycleView(ordersStore, order, entry));
      } catch (error) {
        await ordersStore
          .setHoldDue(order.orderNo, new Date(clock().getTime() + RETRY_AFTER_MS))
          .catch(() => undefined);
        logger.warn(
          { orderNo: order.orderNo, errorClass: (error as Error)?.constructor?.name },
          'order listener failed; the sweeper will retry',
        );
        throw new ServiceUnavailable('The order changed, but follow-up work failed; retry.', {
          cause: error,
        });
      }
      await ordersStore.deleteHold(order.orderNo);
    },
  };
}

/**
 * Holds the order until the listeners of a change ran. True when this call
 * created the hold (an approved order waiting for payment has one already).
 */
export async function holdForListeners(
  ordersStore: OrdersStore,
  order: OrderRecord,
  now: Date,
): Promise<boolean> {
  const inserted = await ordersStore.insertHold({
    orderNo: order.orderNo,
    identityId: order.identityId,
    personKey: order.personKey,
    quotaYear: order.quotaYear,
    requestHash: order.requestHash,
    personalHash: order.personalHash,
    createdAt: now,
    // Due when the listeners would have failed: normally deleted long before.
    dueAt: new Date(now.getTime() + RETRY_AFTER_MS),
  });
  return inserted === 'inserted';
}
