import { Conflict } from '../errors';
import type { Logger } from '../logger';
import type { LedgerEntry } from './ledger';
import { decideClosing, decideExpiry } from './ledger-decisions';
import type { LedgerService } from './ledger-service';
import { RETRY_AFTER_MS, type OrderListeners } from './order-listeners';
import { moveOrder } from './order-transitions';
import { loadLifecycleView } from './order-view';
import type { HoldRecord, OrderRecord, OrdersStore } from './orders-types';

/**
 * The sweeper walks the holds that are due (they are few, so it never scans
 * the orders) and finishes what each order has left: expires unpaid
 * reservations, closes order numbers whose verify stopped before the ledger,
 * and re-runs listeners that failed. The ledger says which of these applies.
 */

export interface SweepReport {
  expired: number;
  redriven: number;
  cleared: number;
  failed: number;
}

const SWEEP_PAGE = 200;

/** What one due hold came to: counted in the report, or left for a later sweep. */
type Settled = 'expired' | 'redriven' | 'cleared' | 'later';

export interface ReservationSweeper {
  /** One sweep over the holds due at `now`; stops between holds when `signal` aborts. */
  sweep(now: Date, signal?: AbortSignal): Promise<SweepReport>;
}

interface SweeperDeps {
  ordersStore: OrdersStore;
  ledger: LedgerService;
  listeners: OrderListeners;
  logger: Logger;
  /** How long an approval holds quota unconfirmed. */
  holdMs: number;
}

export function createReservationSweeper(deps: SweeperDeps): ReservationSweeper {
  return {
    async sweep(now, signal) {
      const report: SweepReport = { expired: 0, redriven: 0, cleared: 0, failed: 0 };
      let after: string | null = null;
      for (;;) {
        const holds = await deps.ordersStore.listDueHolds(now, after, SWEEP_PAGE);
        for (const hold of holds) {
          if (signal?.aborted) return report;
          await sweepHold(deps, hold, now, report);
        }
        if (holds.length < SWEEP_PAGE) return report;
        after = holds[holds.length - 1]!.orderNo;
      }
    },
  };
}

/** Settles one hold; a failure is counted, logged and retried by a later sweep. */
async function sweepHold(
  deps: SweeperDeps,
  hold: HoldRecord,
  now: Date,
  report: SweepReport,
): Promise<void> {
  try {
    const settled = await settle(deps, hold, now);
    if (settled === 'later') return;
    report[settled] += 1;
    // Nothing is left to do for the order.
    await deps.ordersStore.deleteHold(hold.orderNo);
  } catch (error) {
    report.failed += 1;
    await deps.ordersStore
      .setHoldDue(hold.orderNo, new Date(now.getTime() + RETRY_AFTER_MS))
      .catch(() => undefined);
    deps.logger.warn(
      { orderNo: hold.orderNo, errorClass: (error as Error)?.constructor?.name },
      'sweep of an order failed; retried later',
    );
  }
}

/** One due hold: decides from the ledger what is left to do for its order. */
async function settle(deps: SweeperDeps, hold: HoldRecord, now: Date): Promise<Settled> {
  const state = await deps.ledger.read(hold.personKey, hold.quotaYear, now);
  const entry = state.entries.get(hold.orderNo);
  if (!entry) return closeUnreached(deps, hold, now);
  const order = await deps.ordersStore.findOrder(hold.orderNo);
  if (entry.status === 'APPROVED') return expireUnpaid(deps, { hold, entry, order }, now);
  return redrive(deps, { hold, entry, order }, now);
}

/** A due hold with what the ledger and the orders hold for its order number. */
interface DueOrder {
  hold: HoldRecord;
  entry: LedgerEntry;
  /** Null when the verify stopped before writing the order record. */
  order: OrderRecord | null;
}

/** True (and the hold due again at `at`) when it is too early to act. */
async function tooEarly(
  { ordersStore }: SweeperDeps,
  hold: HoldRecord,
  now: Date,
  at: number,
): Promise<boolean> {
  if (now.getTime() >= at) return false;
  await ordersStore.setHoldDue(hold.orderNo, new Date(at));
  return true;
}

/** A verify that never reached the ledger: close the order number for good. */
async function closeUnreached(deps: SweeperDeps, hold: HoldRecord, now: Date): Promise<Settled> {
  if (await tooEarly(deps, hold, now, hold.createdAt.getTime() + deps.holdMs)) return 'later';
  await deps.ledger.update(hold.personKey, hold.quotaYear, now, decideClosing(hold.orderNo, now));
  return 'expired';
}

/** An approval not confirmed within the hold: the reservation goes back to the quota. */
async function expireUnpaid(
  deps: SweeperDeps,
  { hold, entry, order }: DueOrder,
  now: Date,
): Promise<Settled> {
  if (await tooEarly(deps, hold, now, entry.at.getTime() + deps.holdMs)) return 'later';
  try {
    if (order) await moveOrder(deps.ledger, order, 'EXPIRED', { now });
    // A reservation whose verify stopped before writing the order record.
    else
      await deps.ledger.update(
        hold.personKey,
        hold.quotaYear,
        now,
        decideExpiry(hold.orderNo, now),
      );
  } catch (error) {
    // Confirmed or cancelled in the meantime: the next sweep finds it moved on.
    if (error instanceof Conflict) return 'later';
    throw error;
  }
  return 'expired';
}

/** A confirm or cancel whose listeners may not have run: runs them again. */
async function redrive(
  deps: SweeperDeps,
  { hold, entry, order }: DueOrder,
  now: Date,
): Promise<Settled> {
  // A confirm or cancel may still be running its listeners: give it time.
  if (await tooEarly(deps, hold, now, entry.at.getTime() + RETRY_AFTER_MS)) return 'later';
  if (!order) return 'cleared';
  const view = await loadLifecycleView(deps.ordersStore, order, entry);
  if (entry.status === 'CONFIRMED') await deps.listeners.emit('confirmed', view);
  if (entry.status === 'CANCELLED') await deps.listeners.emit('cancelled', view);
  return 'redriven';
}

/** Runs `sweep` every `intervalMs`, one sweep at a time; `stop` aborts and awaits the running one. */
export function createSweepSchedule({
  sweeper,
  clock,
  logger,
  intervalMs,
}: {
  sweeper: ReservationSweeper;
  clock: () => Date;
  logger: Logger;
  intervalMs: number;
}): { start(): void; stop(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let sweeping: Promise<unknown> | null = null;
  let stopping: AbortController | null = null;
  const sweepNow = () => {
    if (sweeping) return;
    stopping = new AbortController();
    sweeping = sweeper
      .sweep(clock(), stopping.signal)
      .catch((error: unknown) =>
        logger.warn({ errorClass: (error as Error)?.constructor?.name }, 'quota sweep failed'),
      )
      .finally(() => {
        sweeping = null;
      });
  };
  return {
    start() {
      if (timer) return;
      timer = setInterval(sweepNow, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      stopping?.abort();
      await sweeping;
    },
  };
}
