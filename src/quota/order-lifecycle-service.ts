import { decideRelease } from './ledger-decisions';
import type { FieldCipher } from '../crypto/field-cipher-types';
import { NotFound } from '../errors';
import type { ProductCatalogue } from '../products/products-types';
import type { Logger } from '../logger';
import type { LedgerEntry } from './ledger';
import type { LedgerService } from './ledger-service';
import type { OrderLifecycle } from './order-lifecycle-types';
import { openConsignee } from './order-fields';
import { createOrderListeners } from './order-listeners';
import { createOrderTransitions, type OrderTransitions } from './order-transitions';
import { everConfirmed, loadLifecycleView } from './order-view';
import type { OrderRecord, OrdersStore } from './orders-types';
import type { CbecPolicy } from './policy';
import { createReservationSweeper, type SweepReport } from './reservation-sweeper';

/** The order lifecycle: the OrderLifecycle other capabilities use, plus the HTTP transitions and the sweeper. */
export interface OrderLifecycleService extends OrderLifecycle, OrderTransitions {
  /**
   * One sweep over the holds due at `now`: expires unpaid reservations,
   * re-runs listeners that failed. Stops between holds when `signal` aborts.
   */
  sweep(now?: Date, signal?: AbortSignal): Promise<SweepReport>;
  /**
   * The buyer withdrew consent: every unpaid reservation of the identity is
   * cancelled (APPROVED only: a paid order stands). The order numbers released.
   */
  releaseOpenReservations(identityId: string, at: Date): Promise<string[]>;
}

export interface LifecycleDeps {
  ordersStore: OrdersStore;
  ledger: LedgerService;
  policy: CbecPolicy;
  /** Confirm reads the order's products from it. */
  catalogue: ProductCatalogue;
  fieldCipher: FieldCipher;
  logger: Logger;
  clock: () => Date;
  holdMs: number;
}

export function createOrderLifecycleService(deps: LifecycleDeps): OrderLifecycleService {
  const { ordersStore, ledger, policy, catalogue, fieldCipher, logger, clock, holdMs } = deps;
  const listeners = createOrderListeners({ ordersStore, logger, clock });
  const transitions = createOrderTransitions({
    ordersStore,
    ledger,
    policy,
    listeners,
    catalogue,
    clock,
  });
  const sweeper = createReservationSweeper({ ordersStore, ledger, listeners, logger, holdMs });

  async function entryOf(order: OrderRecord): Promise<LedgerEntry | undefined> {
    const state = await ledger.read(order.personKey, order.quotaYear, clock());
    return state.entries.get(order.orderNo);
  }

  return {
    ...transitions,

    async releaseOpenReservations(identityId, at) {
      const released: string[] = [];
      for (const order of await ordersStore.listForIdentity(identityId)) {
        if (order.result.decision !== 'APPROVED') continue;
        const { result } = await ledger.update(
          order.personKey,
          order.quotaYear,
          at,
          decideRelease(order.orderNo, at),
        );
        if (result) released.push(order.orderNo);
      }
      return released;
    },

    async getConfirmedOrder(orderNo) {
      const order = await ordersStore.findOrder(orderNo);
      if (!order || order.result.decision === 'REJECTED') return null;
      const entry = await entryOf(order);
      return everConfirmed(entry) ? loadLifecycleView(ordersStore, order, entry) : null;
    },

    async revealConsignee(orderNo) {
      const order = await ordersStore.findOrder(orderNo);
      if (!order || !order.consignee) throw new NotFound('order');
      return openConsignee(fieldCipher, order, order.consignee);
    },

    onConfirmed: (listener) => listeners.subscribe('confirmed', listener),
    onCancelled: (listener) => listeners.subscribe('cancelled', listener),
    sweep: (now = clock(), signal) => sweeper.sweep(now, signal),
  };
}
