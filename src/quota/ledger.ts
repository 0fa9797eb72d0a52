import type { OrderStatus } from './order-lifecycle-types';

/**
 * A buyer's quota ledger for one Beijing calendar year, and the lifecycle
 * state of every order that touched it. The ledger is the single authority
 * on an order's status after verify: each status change is one committed
 * ledger version, so a confirm racing a cancel or an expiry for the same
 * order can never both win, and the balances never drift from the orders.
 */

/** Status of an order as the ledger records it (PENDING never reaches the ledger). */
export type LedgerStatus = Exclude<OrderStatus, 'PENDING'>;

export interface LedgerEntry {
  status: LedgerStatus;
  /** The order's taxable value, fen. */
  amountFen: number;
  /** When the entry got its current status. */
  at: Date;
  /** When the order was confirmed (payment done), if it was. */
  confirmedAt: Date | null;
  /** When customs released the goods, if it did. */
  releasedAt: Date | null;
  /** Pieces returned so far, by SKU (partial returns); absent when none. */
  returned?: ReturnedItems;
}

/** Quantities by SKU. */
export type ReturnedItems = Readonly<Record<string, number>>;

export interface LedgerState {
  /**
   * Whose allowance: the person's keyed pseudonym (BuyerIdentity.personRef),
   * so every registration of one person shares one ledger.
   */
  personKey: string;
  year: number;
  /** Version number; 0 before the first commit. */
  seq: number;
  limitFen: number;
  /** Effective date of the policy entry limitFen comes from. */
  limitFrom: Date;
  entries: Map<string, LedgerEntry>;
}

export interface Balances {
  limitFen: number;
  usedFen: number;
  reservedFen: number;
  remainingFen: number;
}

/** One committed change: an order entry moves to a status (and the limit may be raised or lowered). */
export interface LedgerChange {
  orderNo: string;
  from: LedgerStatus | null;
  to: LedgerStatus;
  amountFen: number;
  at: Date;
  confirmedAt: Date | null;
  releasedAt: Date | null;
  /** The entry's returned pieces after the change (partial returns). */
  returned?: ReturnedItems;
  limitFen: number;
  limitFrom: Date;
}

const RESERVED: ReadonlySet<LedgerStatus> = new Set(['APPROVED']);
const USED: ReadonlySet<LedgerStatus> = new Set(['CONFIRMED', 'CUSTOMS_RELEASED']);

/** Allowed transitions; `null` is "no entry yet". */
const NEXT: ReadonlyMap<LedgerStatus | null, ReadonlySet<LedgerStatus>> = new Map([
  [null, new Set<LedgerStatus>(['APPROVED', 'REJECTED', 'EXPIRED'])],
  ['APPROVED', new Set<LedgerStatus>(['CONFIRMED', 'CANCELLED', 'EXPIRED'])],
  ['CONFIRMED', new Set<LedgerStatus>(['CANCELLED', 'CUSTOMS_RELEASED', 'CUSTOMS_REJECTED'])],
  ['CUSTOMS_RELEASED', new Set<LedgerStatus>(['RETURNED'])],
]);

export function canMove(from: LedgerStatus | null, to: LedgerStatus): boolean {
  return NEXT.get(from)?.has(to) ?? false;
}

/** Balances are derived from the entries, never kept as counters that could drift. */
export function balances(state: LedgerState): Balances {
  let usedFen = 0;
  let reservedFen = 0;
  for (const entry of state.entries.values()) {
    if (USED.has(entry.status)) usedFen += entry.amountFen;
    else if (RESERVED.has(entry.status)) reservedFen += entry.amountFen;
  }
  return {
    limitFen: state.limitFen,
    usedFen,
    reservedFen,
    remainingFen: state.limitFen - usedFen - reservedFen,
  };
}

export function emptyLedger(
  personKey: string,
  year: number,
  limit: { annualFen: number; effectiveFrom: Date },
): LedgerState {
  return {
    personKey,
    year,
    seq: 0,
    limitFen: limit.annualFen,
    limitFrom: limit.effectiveFrom,
    entries: new Map(),
  };
}

/** The state after a change (a new object; the input is not modified). */
export function applyChange(state: LedgerState, change: LedgerChange): LedgerState {
  const entries = new Map(state.entries);
  entries.set(change.orderNo, {
    status: change.to,
    amountFen: change.amountFen,
    at: change.at,
    confirmedAt: change.confirmedAt,
    releasedAt: change.releasedAt,
    ...(change.returned ? { returned: change.returned } : {}),
  });
  return {
    ...state,
    seq: state.seq + 1,
    limitFen: change.limitFen,
    limitFrom: change.limitFrom,
    entries,
  };
}

/**
 * The ledger a buyer's orders count against: the person's. A registration
 * made before person keys existed and not yet migrated (`npm run
 * quota:migrate`) counts against its own, as it did.
 */
export function personKeyOf(buyer: { identityId: string; personRef: string | null }): string {
  return buyer.personRef ?? buyer.identityId;
}
