import type { FieldCipher } from '../crypto/field-cipher-types';
import { Conflict, DecryptionFailed, NotFound, ServiceUnavailable, Unprocessable } from '../errors';
import type { Logger } from '../logger';
import { orderFieldRef } from './checkout-service';
import { canMove, type LedgerEntry, type LedgerStatus } from './ledger';
import type { LedgerService } from './ledger-service';
import type {
  ConsigneeData,
  LifecycleOrder,
  OrderLifecycle,
  OrderListener,
} from './order-lifecycle-types';
import type { HoldRecord, OrderRecord, OrdersStore } from './orders-types';
import type { CbecPolicy } from './policy';

export interface SweepReport {
  expired: number;
  redriven: number;
  cleared: number;
  failed: number;
}

/** The order lifecycle: the OrderLifecycle other capabilities use, plus the HTTP transitions and the sweeper. */
export interface OrderLifecycleService extends OrderLifecycle {
  confirm(orderNo: string): Promise<{ orderNo: string; status: 'CONFIRMED' }>;
  cancel(orderNo: string): Promise<{ orderNo: string; status: 'CANCELLED' }>;
  returnOrder(orderNo: string): Promise<{ orderNo: string; status: 'RETURNED' }>;
  /**
   * One sweep over the holds due at `now`: expires unpaid reservations,
   * re-runs listeners that failed. Stops between holds when `signal` aborts.
   */
  sweep(now?: Date, signal?: AbortSignal): Promise<SweepReport>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Listeners that failed are retried by the sweeper after this long. */
const RETRY_AFTER_MS = 60 * 1000;
const SWEEP_PAGE = 200;

const CONFIRMED_OR_LATER: ReadonlySet<LedgerStatus> = new Set([
  'CONFIRMED',
  'CUSTOMS_RELEASED',
  'CUSTOMS_REJECTED',
  'RETURNED',
]);

export interface LifecycleDeps {
  ordersStore: OrdersStore;
  ledger: LedgerService;
  policy: CbecPolicy;
  fieldCipher: FieldCipher;
  logger: Logger;
  clock: () => Date;
  holdMs: number;
}

type Outcome =
  | { kind: 'moved' | 'already'; entry: LedgerEntry }
  | { kind: 'invalid'; from: LedgerStatus | null }
  | { kind: 'window-closed' };

function invalidTransition(from: LedgerStatus | null, message: string): Conflict {
  const error = new Conflict('INVALID_STATE_TRANSITION', message);
  // The current status is one of a closed list, never request data.
  error.details.push({ path: 'status', message: `is ${from ?? 'PENDING'}` });
  return error;
}

export function createOrderLifecycleService(deps: LifecycleDeps): OrderLifecycleService {
  const { ordersStore, ledger, fieldCipher, logger, clock, holdMs } = deps;
  const confirmedListeners = new Set<OrderListener>();
  const cancelledListeners = new Set<OrderListener>();

  function view(order: OrderRecord, entry: LedgerEntry | undefined): LifecycleOrder {
    return {
      orderNo: order.orderNo,
      identityId: order.identityId,
      status: entry?.status ?? order.result.decision,
      items: order.items,
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
    };
  }

  async function entryOf(order: OrderRecord): Promise<LedgerEntry | undefined> {
    const state = await ledger.read(order.identityId, order.quotaYear, clock());
    return state.entries.get(order.orderNo);
  }

  async function loadOrder(orderNo: string): Promise<OrderRecord> {
    const order = await ordersStore.findOrder(orderNo);
    if (!order) throw new NotFound('order');
    return order;
  }

  /**
   * Moves an order to `to` with one ledger commit: the ledger holds every
   * order's status and serialises all changes of one buyer's year, so two
   * racing transitions of one order cannot both win.
   */
  async function move(
    order: OrderRecord,
    to: LedgerStatus,
    options: {
      now: Date;
      releasedAt?: Date;
      /** Return window: checked against the entry the commit is based on. */
      windowOpen?: (entry: LedgerEntry) => boolean;
    },
  ): Promise<{ entry: LedgerEntry; kind: 'moved' | 'already' }> {
    if (order.result.decision === 'REJECTED') {
      throw invalidTransition('REJECTED', 'The order was rejected at checkout.');
    }
    const { result } = await ledger.update<Outcome>(
      order.identityId,
      order.quotaYear,
      order.orderedAt,
      (state) => {
        const entry = state.entries.get(order.orderNo);
        const from = entry?.status ?? null;
        if (entry && from === to) return { result: { kind: 'already', entry } };
        if (!entry || !canMove(from, to)) return { result: { kind: 'invalid', from } };
        if (options.windowOpen && !options.windowOpen(entry)) {
          return { result: { kind: 'window-closed' } };
        }
        const next: LedgerEntry = {
          status: to,
          amountFen: entry.amountFen,
          at: options.now,
          confirmedAt: to === 'CONFIRMED' ? options.now : entry.confirmedAt,
          releasedAt: options.releasedAt ?? entry.releasedAt,
        };
        return {
          change: { orderNo: order.orderNo, from, to, ...next },
          result: { kind: 'moved', entry: next },
        };
      },
    );
    if (result.kind === 'window-closed') {
      throw new Unprocessable(
        'RETURN_WINDOW_CLOSED',
        'A return is allowed only within the return window after customs release.',
      );
    }
    if (result.kind === 'invalid') {
      throw invalidTransition(
        result.from,
        `The order cannot move to ${to} from its current status.`,
      );
    }
    return { entry: result.entry, kind: result.kind };
  }

  async function emit(listeners: Set<OrderListener>, order: LifecycleOrder): Promise<void> {
    for (const listener of listeners) await listener(order);
  }

  /** Runs listeners, then clears the hold; a failure leaves the hold, due soon, for the sweeper. */
  async function notify(listeners: Set<OrderListener>, order: OrderRecord, entry: LedgerEntry) {
    try {
      await emit(listeners, view(order, entry));
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
  }

  /** True when this call created the hold. */
  async function holdFor(order: OrderRecord, now: Date): Promise<boolean> {
    const inserted = await ordersStore.insertHold({
      orderNo: order.orderNo,
      identityId: order.identityId,
      quotaYear: order.quotaYear,
      requestHash: order.requestHash,
      personalHash: order.personalHash,
      createdAt: now,
      // Due when the listeners would have failed: normally deleted long before.
      dueAt: new Date(now.getTime() + RETRY_AFTER_MS),
    });
    return inserted === 'inserted';
  }

  function returnWindowOpen(now: Date) {
    const windowMs = deps.policy.returnWindowDays * DAY_MS;
    return (entry: LedgerEntry) =>
      entry.releasedAt !== null && now.getTime() - entry.releasedAt.getTime() <= windowMs;
  }

  /** One due hold: decides from the ledger what is left to do for its order. */
  async function sweepHold(hold: HoldRecord, now: Date, report: SweepReport): Promise<void> {
    const state = await ledger.read(hold.identityId, hold.quotaYear, now);
    const entry = state.entries.get(hold.orderNo);
    const notBefore = async (at: number) => {
      if (now.getTime() >= at) return false;
      await ordersStore.setHoldDue(hold.orderNo, new Date(at));
      return true;
    };
    if (!entry) {
      if (await notBefore(hold.createdAt.getTime() + holdMs)) return;
      // A verify that never reached the ledger: close the order number for good.
      await ledger.update(hold.identityId, hold.quotaYear, now, (current) =>
        current.entries.has(hold.orderNo)
          ? { result: null }
          : {
              change: {
                orderNo: hold.orderNo,
                from: null,
                to: 'EXPIRED',
                amountFen: 0,
                at: now,
                confirmedAt: null,
                releasedAt: null,
              },
              result: null,
            },
      );
      report.expired += 1;
      await ordersStore.deleteHold(hold.orderNo);
      return;
    }
    const order = await ordersStore.findOrder(hold.orderNo);
    if (entry.status === 'APPROVED') {
      if (await notBefore(entry.at.getTime() + holdMs)) return;
      try {
        if (order) await move(order, 'EXPIRED', { now });
        else await expireOrphan(hold, now);
      } catch (error) {
        // Confirmed or cancelled in the meantime: the next sweep finds it moved on.
        if (error instanceof Conflict) return;
        throw error;
      }
      report.expired += 1;
      await ordersStore.deleteHold(hold.orderNo);
      return;
    }
    // A confirm or cancel may still be running its listeners: give it time.
    if (await notBefore(entry.at.getTime() + RETRY_AFTER_MS)) return;
    if (order) {
      if (entry.status === 'CONFIRMED') await emit(confirmedListeners, view(order, entry));
      if (entry.status === 'CANCELLED') await emit(cancelledListeners, view(order, entry));
      report.redriven += 1;
    } else report.cleared += 1;
    await ordersStore.deleteHold(hold.orderNo);
  }

  /** A reservation whose verify stopped before writing the order record. */
  async function expireOrphan(hold: HoldRecord, now: Date): Promise<void> {
    await ledger.update(hold.identityId, hold.quotaYear, now, (state) => {
      const entry = state.entries.get(hold.orderNo);
      if (!entry || entry.status !== 'APPROVED') return { result: null };
      return {
        change: {
          orderNo: hold.orderNo,
          from: 'APPROVED',
          to: 'EXPIRED',
          amountFen: entry.amountFen,
          at: now,
          confirmedAt: null,
          releasedAt: null,
        },
        result: null,
      };
    });
  }

  return {
    async confirm(orderNo) {
      const now = clock();
      const order = await loadOrder(orderNo);
      const { entry } = await move(order, 'CONFIRMED', { now });
      // Also on a repeated confirm: listeners are idempotent, and this is how a failed one is retried.
      await notify(confirmedListeners, order, entry);
      return { orderNo, status: 'CONFIRMED' };
    },

    async cancel(orderNo) {
      const now = clock();
      const order = await loadOrder(orderNo);
      // A cancellation owes the listeners a call: hold the order until they ran.
      const held = order.result.decision === 'APPROVED' && (await holdFor(order, now));
      let moved;
      try {
        moved = await move(order, 'CANCELLED', { now });
      } catch (error) {
        // Not cancellable: an approved order still holds its own hold, this one goes.
        if (held && error instanceof Conflict) await ordersStore.deleteHold(orderNo);
        throw error;
      }
      await notify(cancelledListeners, order, moved.entry);
      return { orderNo, status: 'CANCELLED' };
    },

    async returnOrder(orderNo) {
      const now = clock();
      await move(await loadOrder(orderNo), 'RETURNED', { now, windowOpen: returnWindowOpen(now) });
      return { orderNo, status: 'RETURNED' };
    },

    async getConfirmedOrder(orderNo) {
      const order = await ordersStore.findOrder(orderNo);
      if (!order || order.result.decision === 'REJECTED') return null;
      const entry = await entryOf(order);
      const everConfirmed =
        entry !== undefined && (CONFIRMED_OR_LATER.has(entry.status) || entry.confirmedAt !== null);
      return everConfirmed ? view(order, entry) : null;
    },

    async revealConsignee(orderNo): Promise<ConsigneeData> {
      const order = await ordersStore.findOrder(orderNo);
      if (!order || !order.consignee) throw new NotFound('order');
      const text = await fieldCipher.decryptText(
        orderFieldRef(order, 'consignee'),
        order.consignee,
      );
      const parsed = JSON.parse(text) as Partial<ConsigneeData>;
      if (
        typeof parsed.name !== 'string' ||
        typeof parsed.phone !== 'string' ||
        typeof parsed.address !== 'string'
      ) {
        throw new DecryptionFailed();
      }
      return { name: parsed.name, phone: parsed.phone, address: parsed.address };
    },

    async markCustomsAccepted(orderNo, releasedAt) {
      const order = await loadOrder(orderNo);
      const moved = await move(order, 'CUSTOMS_RELEASED', { now: clock(), releasedAt });
      return view(order, moved.entry);
    },

    async markCustomsRejected(orderNo) {
      const order = await loadOrder(orderNo);
      const moved = await move(order, 'CUSTOMS_REJECTED', { now: clock() });
      return view(order, moved.entry);
    },

    onConfirmed(listener) {
      confirmedListeners.add(listener);
      return () => confirmedListeners.delete(listener);
    },

    onCancelled(listener) {
      cancelledListeners.add(listener);
      return () => cancelledListeners.delete(listener);
    },

    async sweep(now = clock(), signal) {
      const report: SweepReport = { expired: 0, redriven: 0, cleared: 0, failed: 0 };
      let after: string | null = null;
      for (;;) {
        const holds = await ordersStore.listDueHolds(now, after, SWEEP_PAGE);
        for (const hold of holds) {
          if (signal?.aborted) return report;
          try {
            await sweepHold(hold, now, report);
          } catch (error) {
            report.failed += 1;
            await ordersStore
              .setHoldDue(hold.orderNo, new Date(now.getTime() + RETRY_AFTER_MS))
              .catch(() => undefined);
            logger.warn(
              { orderNo: hold.orderNo, errorClass: (error as Error)?.constructor?.name },
              'sweep of an order failed; retried later',
            );
          }
        }
        if (holds.length < SWEEP_PAGE) return report;
        after = holds[holds.length - 1]!.orderNo;
      }
    },
  };
}
