import type { EncryptedField } from '../crypto/field-cipher-types';
import type { ParcelWeights, ProductData } from '../products/products-types';
import type {
  ConsigneeData,
  LifecycleOrder,
  OrderItem,
  TaxBreakdown,
} from './order-lifecycle-types';

/** The verify request after validation (`category`, `insuranceFen`, `discountFen` defaulted). */
export interface VerifyRequest {
  orderNo: string;
  identityId: string;
  payer: { name: string; idNumber: string };
  items: OrderItem[];
  freightFen: number;
  insuranceFen: number;
  discountFen: number;
  orderedAt?: Date;
  consignee: ConsigneeData;
  customsCode: string;
  carrierCode: string;
}

export type Verdict = 'APPROVED' | 'REJECTED';

export const REASON_CODES = [
  'IDENTITY_NOT_FOUND',
  'IDENTITY_NOT_VERIFIED',
  'CONSENT_REQUIRED',
  'CONSENT_WITHDRAWN',
  'PAYER_MISMATCH',
  'SINGLE_LIMIT_EXCEEDED',
  'ANNUAL_LIMIT_EXCEEDED',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface Reason {
  code: ReasonCode;
  message: string;
}

export interface QuotaView {
  year: number;
  limitFen: number;
  usedFen: number;
  reservedFen: number;
  remainingFen: number;
}

/** The verify answer, stored with the order so a retry gets exactly the same one. */
export interface CheckoutDecision {
  orderNo: string;
  decision: Verdict;
  reasons: Reason[];
  quota: QuotaView;
  quotaSource: 'LOCAL' | 'CUSTOMS';
  tax: TaxBreakdown;
}

/**
 * How a repeated verify is recognised: a SHA-256 of the request without its
 * personal fields in the clear, and one of the personal fields (payer,
 * consignee) encrypted under the buyer's data key, so the stored digest can
 * neither be brute-forced back to an id number nor outlive the buyer's
 * deletion. Null when there was no buyer to encrypt it for.
 */
export interface RequestFingerprint {
  requestHash: string;
  personalHash: EncryptedField | null;
}

/** The stored order: the lifecycle view's immutable facts plus what only checkout keeps. */
export interface OrderRecord
  extends
    RequestFingerprint,
    Omit<LifecycleOrder, 'status' | 'confirmedAt' | 'releasedAt' | 'items' | 'parcel'> {
  /** The lines as verified, each with the category it was taxed by (its product's, if catalogued). */
  items: OrderItem[];
  /** The ledger the order counts against: the buyer's person (ledger.ts personKeyOf). */
  personKey: string;
  /** `{name, phone, address}` as JSON, under the buyer's data key; only on approved orders. */
  consignee: EncryptedField | null;
  /** The verify answer, returned again for the same request. */
  result: CheckoutDecision;
  createdAt: Date;
}

/**
 * An order with unfinished work: a verify in progress (no order record yet),
 * a reservation waiting for payment, or listeners that have not yet run. The
 * sweeper walks these; they are few, so it never scans the orders.
 */
export interface HoldRecord extends RequestFingerprint {
  orderNo: string;
  identityId: string;
  /** The ledger the order counts against. */
  personKey: string;
  quotaYear: number;
  createdAt: Date;
  /** When the sweeper should next look at it (end of the reservation hold, or a retry time). */
  dueAt: Date;
}

/**
 * What an order was confirmed with (`order_parcels`): written once, by the
 * first confirm that found every SKU catalogued, before the order moves to
 * CONFIRMED; a repeated confirm keeps it. Order records are insert-only, so
 * this is their own small record rather than a field of the order.
 */
export interface OrderParcel {
  orderNo: string;
  /** The weights the confirm gave; null when it gave none. */
  weights: ParcelWeights | null;
  /** The order's products as catalogued then: what its declaration describes. */
  products: ProductData[];
  recordedAt: Date;
}

export interface OrdersStore {
  findOrder(orderNo: string): Promise<OrderRecord | null>;
  /** Every order of one identity (registration), oldest first. */
  listForIdentity(identityId: string): Promise<OrderRecord[]>;
  insertOrder(order: OrderRecord): Promise<'inserted' | 'duplicate'>;
  findHold(orderNo: string): Promise<HoldRecord | null>;
  insertHold(hold: HoldRecord): Promise<'inserted' | 'duplicate'>;
  deleteHold(orderNo: string): Promise<void>;
  findParcel(orderNo: string): Promise<OrderParcel | null>;
  /** Inserts once: a parcel already recorded for the order stays ('duplicate'). */
  insertParcel(parcel: OrderParcel): Promise<'inserted' | 'duplicate'>;
  setHoldDue(orderNo: string, dueAt: Date): Promise<void>;
  /** Moves every order and hold still keyed by its identity onto `personKey`; how many orders changed. */
  assignPersonKey(identityId: string, personKey: string): Promise<number>;
  /**
   * The one update of an order's content (orders are otherwise insert-only):
   * when a legal hold ends, the identity's orders lose their link to the
   * person (identityId `anonymised`, no consignee, no personal hash). The
   * amounts, items and personKey (the quota ledger's pseudonym) stay.
   * Idempotent; answers how many orders changed.
   */
  anonymiseForIdentity(identityId: string): Promise<number>;
  /** Holds due at `now`, in orderNo order, after `after`. */
  listDueHolds(now: Date, after: string | null, limit: number): Promise<HoldRecord[]>;
  ensureIndexes(): Promise<void>;
}

/** What an anonymised record names instead of its identity (OrdersStore.anonymiseForIdentity). */
export const ANONYMISED = 'anonymised';
