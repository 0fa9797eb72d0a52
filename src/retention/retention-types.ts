import type { RetentionCounts } from '../audit/audit-types';
import type { ExportedOrder } from '../identities/export-ports';

/**
 * Legal holds (E-Commerce Law art. 31; Customs Law): what erasure keeps of a
 * person because the law requires it, sealed under the legal-retention key
 * and readable only for an authority's request, until the period ends.
 */
export const LEGAL_HOLDS_COLLECTION = 'legal_holds';
export const HOLD_BASIS = 'E-Commerce Law art. 31; Customs Law';
export const HOLD_STATUSES = ['HELD', 'DESTROYED'] as const;
export type HoldStatus = (typeof HOLD_STATUSES)[number];
export const REQUEST_TYPES = ['CUSTOMS_REQUEST', 'COURT_ORDER', 'REGULATOR_REQUEST'] as const;
export type LegalRequestType = (typeof REQUEST_TYPES)[number];

/** An authority's request for held data, as recorded on the hold (it names the authority, not the person). */
export interface AccessRequest {
  requestType: LegalRequestType;
  requestedBy: string;
  reference: string;
  reason: string;
  /** Who at the service asked (the `legal` client), and when. */
  clientId: string;
  at: Date;
}

/** One hold as stored. `sealed` is gone once the hold is destroyed. */
export interface LegalHoldRecord {
  holdId: string;
  identityId: string;
  personRef: string | null;
  orderNos: string[];
  basis: string;
  heldFrom: Date;
  heldUntil: Date;
  keyVersion: number;
  /** `lr1.<nonce>.<ciphertext>.<tag>` (base64url) under the legal-retention key; null once destroyed. */
  sealed: string | null;
  status: HoldStatus;
  destroyedAt: Date | null;
  accessRequests: AccessRequest[];
}

/** A hold without its sealed data: what the list shows. */
export type LegalHoldSummary = Omit<LegalHoldRecord, 'sealed'>;

/** What is sealed: the buyer and their transaction records. */
export interface RetainedData {
  buyer: { name: string; idNumber: string; phone: string };
  orders: Pick<ExportedOrder, 'orderNo' | 'consignee' | 'items' | 'amounts' | 'status'>[];
}

/** One order's lifecycle times, as checkout's ledger holds them. */
export interface OrderActivity {
  orderNo: string;
  status: string;
  orderedAt: Date;
  /** The ledger entry's last change (or the order time, before it has one). */
  lastChangeAt: Date;
  confirmedAt: Date | null;
  releasedAt: Date | null;
}

/** Checkout's port: the lifecycle of an identity's orders. */
export interface OrderActivityOf {
  ofIdentity(identityId: string): Promise<OrderActivity[]>;
}

/** Checkout's port: the one anonymising update of an identity's orders. */
export interface OrderAnonymiser {
  anonymiseOrders(identityId: string): Promise<number>;
}

export interface LegalHoldsStore {
  findById(holdId: string): Promise<LegalHoldRecord | null>;
  /** Inserts unless a hold with this id exists: 'kept' then. Throws ServiceUnavailable when it cannot write. */
  insertOrKeep(record: LegalHoldRecord): Promise<'inserted' | 'kept'>;
  /** Appends a request to a HELD hold; false when it is not (any longer) HELD. */
  appendRequest(holdId: string, request: AccessRequest): Promise<boolean>;
  list(filter: { identityId?: string; status?: HoldStatus }): Promise<LegalHoldSummary[]>;
  /** HELD holds whose period ended by `now`, after `after` in id order. */
  listExpired(now: Date, after: string | null, limit: number): Promise<LegalHoldRecord[]>;
  countExpired(now: Date): Promise<number>;
  /** Drops the sealed data for good: status DESTROYED. Idempotent. */
  destroy(holdId: string, at: Date): Promise<void>;
  ensureIndexes(): Promise<void>;
}

export interface RetentionRunOptions {
  dryRun: boolean;
  now: Date;
  batchSize: number;
  /** Told after each identity or hold examined, with how many of the estimated total. */
  onProgress?(done: number, total: number): void;
}

export type RetentionReport = RetentionCounts & { dryRun: boolean; examined: number };
