/**
 * Customs receipts (CEB622 `returnStatus`) for an import inventory, as the
 * cross-border e-commerce message standard lists them (ceb/README.md), and
 * the rules of what each one does to a declaration.
 */
import type { ErrorDetail } from '../errors';
import type { CustomsReceipt, DeclarationStatus, ReturnStatus } from './disclosure-types';

/** Customs released the goods: the order is released and the return window starts. */
export const RELEASED: ReturnStatus = '800';
/** Customs refused the inventory: the order's value goes back to the buyer's quota. */
export const REFUSED: ReturnStatus = '100';
/** Where each progress receipt puts a declaration customs is still handling. */
const PROGRESS: Partial<Record<ReturnStatus, DeclarationStatus>> = {
  '120': 'ENTERED',
  '300': 'UNDER_REVIEW',
  '399': 'REVIEWED',
  '500': 'INSPECTION',
  '501': 'DETAINED',
  '502': 'DETAINED',
  '503': 'DETAINED',
};

/** What customs may still say about goods it has released, and where it leaves them. */
const AFTER_RELEASE: Partial<Record<ReturnStatus, DeclarationStatus>> = {
  '899': 'CLOSED',
  '700': 'RETURNED_ABROAD',
};

/** Lodged with customs and not yet answered: progress receipts may come in any order. */
const WITH_CUSTOMS: ReadonlySet<DeclarationStatus> = new Set([
  'READY',
  'ENTERED',
  'UNDER_REVIEW',
  'REVIEWED',
  'INSPECTION',
  'DETAINED',
]);

/** Released: what customs may say after 800. */
const RELEASED_STATES: ReadonlySet<DeclarationStatus> = new Set([
  'ACCEPTED',
  'CLOSED',
  'RETURNED_ABROAD',
]);

/**
 * What a receipt does to a declaration in `status`: release or refuse it (the
 * order is told), record it (and move to statusAfter), repeat an answer
 * already given, or conflict with it.
 */
export type ReceiptDecision = 'RELEASE' | 'REFUSE' | 'RECORD' | 'REPLAY' | 'CONFLICT';

export function decideReceipt(status: DeclarationStatus, code: ReturnStatus): ReceiptDecision {
  if (WITH_CUSTOMS.has(status)) {
    return code === RELEASED ? 'RELEASE' : code === REFUSED ? 'REFUSE' : 'RECORD';
  }
  if (RELEASED_STATES.has(status)) {
    if (code === RELEASED) return 'REPLAY';
    return AFTER_RELEASE[code] ? 'RECORD' : 'CONFLICT';
  }
  if (status === 'REJECTED') return code === REFUSED ? 'REPLAY' : 'CONFLICT';
  // AWAITING_WAYBILL (not lodged: the broker cannot have it) and CANCELLED.
  return 'CONFLICT';
}

/** The status a receipt leaves the declaration in; codes without a state (2, 3, 4, 599) keep it. */
export function statusAfter(status: DeclarationStatus, code: ReturnStatus): DeclarationStatus {
  if (WITH_CUSTOMS.has(status)) {
    if (code === RELEASED) return 'ACCEPTED';
    if (code === REFUSED) return 'REJECTED';
    return PROGRESS[code] ?? status;
  }
  if (RELEASED_STATES.has(status)) return AFTER_RELEASE[code] ?? status;
  return status;
}

/** True when the same receipt (code, customs time and text) was already recorded: a retry. */
export function isRecorded(receipts: readonly CustomsReceipt[], receipt: CustomsReceipt): boolean {
  return receipts.some(
    (known) =>
      known.returnStatus === receipt.returnStatus &&
      (known.returnTime?.getTime() ?? null) === (receipt.returnTime?.getTime() ?? null) &&
      known.returnInfo === receipt.returnInfo,
  );
}

/** How far a release time may lie ahead of this service's clock (as for a checkout's orderedAt). */
export const RELEASE_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Why a release time cannot be customs' release, or null when it can: it is
 * not in the future (beyond the clock skew) and not before the broker first
 * received the declaration, since customs cannot release an inventory that
 * was never lodged. A backdated release would shorten the buyer's 30-day
 * return window, or close it outright.
 */
export function releaseTimeProblem(
  releasedAt: Date,
  bounds: { now: Date; disclosedAt: Date },
  path: string,
): ErrorDetail | null {
  if (releasedAt.getTime() > bounds.now.getTime() + RELEASE_CLOCK_SKEW_MS) {
    return { path, message: 'must not be in the future' };
  }
  if (releasedAt.getTime() < bounds.disclosedAt.getTime()) {
    return { path, message: 'must not be before the declaration was disclosed to the broker' };
  }
  return null;
}
