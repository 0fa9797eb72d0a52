import { fitsAllowance } from './checkout-rules';
import {
  canMove,
  type Balances,
  type LedgerEntry,
  type LedgerState,
  type LedgerStatus,
} from './ledger';
import type { LedgerDecision } from './ledger-service';

/**
 * The decisions the quota's use cases hand to `LedgerService.update`: pure
 * functions of the newest ledger state, run again whenever another writer
 * committed first. Every change of an order's status is one of these.
 */

/** What one verify asks of the ledger. */
export interface ReservationAsk {
  orderNo: string;
  /** False when a rule already refused the order: a rejection is recorded, nothing reserved. */
  eligible: boolean;
  amountFen: number;
  /** What customs has left, when it answered in time. */
  customsRemainingFen: number | null;
  now: Date;
}

export interface ReservationOutcome {
  /** True when the order number had an entry already: decided by an earlier call. */
  existing: boolean;
  status: LedgerStatus;
}

/** A verify: approve (reserve the amount) what fits, reject the rest; decide an order number once. */
export function decideReservation(ask: ReservationAsk) {
  return (state: LedgerState, local: Balances): LedgerDecision<ReservationOutcome> => {
    const entry = state.entries.get(ask.orderNo);
    if (entry) return { result: { existing: true, status: entry.status } };
    const fits =
      ask.eligible && fitsAllowance(ask.amountFen, local.remainingFen, ask.customsRemainingFen);
    const to: LedgerStatus = fits ? 'APPROVED' : 'REJECTED';
    return {
      change: {
        orderNo: ask.orderNo,
        from: null,
        to,
        amountFen: fits ? ask.amountFen : 0,
        at: ask.now,
        confirmedAt: null,
        releasedAt: null,
      },
      result: { existing: false, status: to },
    };
  };
}

/** A reservation given back: an APPROVED entry becomes EXPIRED; any other entry stays. */
export function decideExpiry(orderNo: string, now: Date) {
  return (state: LedgerState): LedgerDecision<null> => {
    const entry = state.entries.get(orderNo);
    if (entry?.status !== 'APPROVED') return { result: null };
    return {
      change: {
        orderNo,
        from: 'APPROVED',
        to: 'EXPIRED',
        amountFen: entry.amountFen,
        at: now,
        confirmedAt: null,
        releasedAt: null,
      },
      result: null,
    };
  };
}

/**
 * The buyer withdrew consent: an unpaid reservation (APPROVED) is cancelled
 * and its amount given back; any other entry stays. True when it cancelled.
 */
export function decideRelease(orderNo: string, now: Date) {
  return (state: LedgerState): LedgerDecision<boolean> => {
    const entry = state.entries.get(orderNo);
    if (entry?.status !== 'APPROVED') return { result: false };
    return {
      change: {
        orderNo,
        from: 'APPROVED',
        to: 'CANCELLED',
        amountFen: entry.amountFen,
        at: now,
        confirmedAt: null,
        releasedAt: null,
      },
      result: true,
    };
  };
}

/**
 * A verify that never reached the ledger: its order number is closed for good
 * (EXPIRED, nothing reserved), so a late retry of it cannot reserve.
 */
export function decideClosing(orderNo: string, now: Date) {
  return (state: LedgerState): LedgerDecision<null> =>
    state.entries.has(orderNo)
      ? { result: null }
      : {
          change: {
            orderNo,
            from: null,
            to: 'EXPIRED',
            amountFen: 0,
            at: now,
            confirmedAt: null,
            releasedAt: null,
          },
          result: null,
        };
}

export type TransitionOutcome =
  | { kind: 'moved' | 'already'; entry: LedgerEntry }
  | { kind: 'invalid'; from: LedgerStatus | null }
  | { kind: 'window-closed' };

export interface TransitionOptions {
  now: Date;
  /** Customs release time, kept on the entry (the first one stays). */
  releasedAt?: Date;
  /** Return window: checked against the entry the commit is based on. */
  windowOpen?: (entry: LedgerEntry) => boolean;
}

/**
 * An order's lifecycle step to `to`: allowed only along `canMove`; a step to
 * the status the order already has changes nothing ('already').
 */
export function decideTransition(orderNo: string, to: LedgerStatus, options: TransitionOptions) {
  return (state: LedgerState): LedgerDecision<TransitionOutcome> => {
    const entry = state.entries.get(orderNo);
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
      change: {
        orderNo,
        from,
        to,
        amountFen: next.amountFen,
        at: next.at,
        confirmedAt: next.confirmedAt,
        releasedAt: next.releasedAt,
      },
      result: { kind: 'moved', entry: next },
    };
  };
}
