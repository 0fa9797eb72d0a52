import { Conflict } from '../errors';
import type { EarlierVerify } from './checkout-replay';
import { orderConflict } from './checkout-replay';
import { balances, type Balances, type LedgerStatus } from './ledger';
import { decideExpiry, decideReservation, type ReservationAsk } from './ledger-decisions';
import type { LedgerService } from './ledger-service';
import type {
  CheckoutDecision,
  OrderRecord,
  OrdersStore,
  RequestFingerprint,
} from './orders-types';

/**
 * The reservation protocol of one verify: three inserts with unique keys, in
 * the one order that leaves a crash at any point safe.
 *
 *  1. The hold (`order_holds`) marks "reservation in progress": a crash from
 *     here on is finished by a retry of the same request or undone by the
 *     sweeper.
 *  2. One ledger commit (the next journal version) decides; an entry already
 *     there means this order number was decided before (a repeat, or a retry
 *     after a crash).
 *  3. The order record, holding the answer a repeat gets back.
 *
 * A repeated order number is found by these inserts' unique keys, so the
 * common path never searches the orders.
 */

export interface ReservationRequest extends ReservationAsk {
  identityId: string;
  /** Whose ledger: the buyer's person. */
  personKey: string;
  quotaYear: number;
  fingerprint: RequestFingerprint;
}

/** What the ledger holds for the order after step 2. */
export interface Reserved {
  /** True when an earlier call decided it (this one found the entry). */
  existing: boolean;
  approved: boolean;
  /** The ledger's balances after the commit. */
  balances: Balances;
}

export interface Reservations {
  /**
   * Runs the protocol and returns the answer. `recordFor` turns what the
   * ledger holds into the order record to insert; its `result` is the answer.
   */
  reserve(
    request: ReservationRequest,
    earlier: EarlierVerify,
    recordFor: (reserved: Reserved) => OrderRecord,
  ): Promise<CheckoutDecision>;
}

/** What the protocol writes through. */
interface ReservationStores {
  ordersStore: OrdersStore;
  ledger: LedgerService;
  /** How long an approval holds quota unconfirmed. */
  holdMs: number;
}

export function createReservations(stores: ReservationStores): Reservations {
  return {
    reserve: (request, earlier, recordFor) => reserve(stores, request, earlier, recordFor),
  };
}

async function reserve(
  stores: ReservationStores,
  request: ReservationRequest,
  earlier: EarlierVerify,
  recordFor: (reserved: Reserved) => OrderRecord,
): Promise<CheckoutDecision> {
  // Step 1: the hold; a refused order reserves nothing, so it needs none.
  const held = request.eligible ? await hold(stores, request, earlier) : 'not-held-here';
  if (typeof held === 'object') return held.answer;

  // Step 2: one ledger commit decides.
  const { result: decided, state } = await stores.ledger.update(
    request.personKey,
    request.quotaYear,
    request.now,
    decideReservation(request),
  );
  const approved = decided.status === 'APPROVED';
  // An approval keeps its hold until payment (the sweeper expires it); anything else drops it.
  const dropHold = async () => {
    if (held === 'held-here' && !approved) await stores.ordersStore.deleteHold(request.orderNo);
  };
  if (decided.existing) {
    const answered = await earlierDecision(decided.status, earlier, dropHold);
    if (answered) return answered;
    // Decided, but the order record was never written (a crash): write it now.
  }

  // Step 3: the order record.
  const reserved = { existing: decided.existing, approved, balances: balances(state) };
  const order = recordFor(reserved);
  if ((await stores.ordersStore.insertOrder(order)) === 'duplicate') {
    // Only an order recorded without a ledger entry gets here (its buyer
    // was unknown then): give back what this call reserved, answer as then.
    if (approved && !decided.existing) await release(stores, request);
    await dropHold();
    return (await earlier.answer()) ?? Promise.reject(orderConflict());
  }
  await dropHold();
  return order.result;
}

type HoldOutcome = 'held-here' | 'not-held-here' | { answer: CheckoutDecision };

/**
 * Step 1. When the order number is held already: the stored answer if there
 * is one, else on to the ledger, provided the hold is from the same request.
 */
async function hold(
  { ordersStore, holdMs }: ReservationStores,
  request: ReservationRequest,
  earlier: EarlierVerify,
): Promise<HoldOutcome> {
  const inserted = await ordersStore.insertHold({
    orderNo: request.orderNo,
    identityId: request.identityId,
    personKey: request.personKey,
    quotaYear: request.quotaYear,
    requestHash: request.fingerprint.requestHash,
    personalHash: request.fingerprint.personalHash,
    createdAt: request.now,
    dueAt: new Date(request.now.getTime() + holdMs),
  });
  if (inserted === 'inserted') return 'held-here';
  const answer = await earlier.answer();
  if (answer) return { answer };
  const existing = await ordersStore.findHold(request.orderNo);
  if (existing) await earlier.assertSameRequest(existing);
  return 'not-held-here';
}

/**
 * The ledger decided this order number before: its stored answer, or null
 * when its order record was never written. 409 when the reservation expired.
 */
async function earlierDecision(
  status: LedgerStatus,
  earlier: EarlierVerify,
  dropHold: () => Promise<void>,
): Promise<CheckoutDecision | null> {
  const answered = await earlier.answer();
  if (answered) {
    await dropHold();
    return answered;
  }
  if (status !== 'APPROVED' && status !== 'REJECTED') {
    await dropHold();
    throw new Conflict('INVALID_STATE_TRANSITION', 'The reservation for this order expired.');
  }
  return null;
}

/** Gives back what this call reserved (the ledger entry expires) and its hold. */
async function release(
  { ordersStore, ledger }: ReservationStores,
  request: ReservationRequest,
): Promise<void> {
  await ledger.update(
    request.personKey,
    request.quotaYear,
    request.now,
    decideExpiry(request.orderNo, request.now),
  );
  await ordersStore.deleteHold(request.orderNo);
}
