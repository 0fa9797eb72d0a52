import type { AuditPurpose } from '../audit/audit-types';
import type { GoodsLine } from './ceb621-xml';
import type { PartnerRole } from './disclosure-policy';

/**
 * READY -> ACCEPTED (customs receipt 800, released) | REJECTED (100);
 * READY -> CANCELLED when the order is cancelled before customs answered.
 * Every other receipt is recorded and leaves the status as it is.
 */
export const DECLARATION_STATUSES = ['READY', 'ACCEPTED', 'REJECTED', 'CANCELLED'] as const;
export type DeclarationStatus = (typeof DECLARATION_STATUSES)[number];

/**
 * Customs receipt codes (CEB622 `returnStatus`, see ceb/README.md): 2
 * lodging at the e-port, 3 sent to customs, 4 send failed, 100 rejected
 * (退单), 120 entered, 300 manual review, 399 reviewed, 500 inspection,
 * 501/502/503 detained, 599 other, 700 returned abroad, 800 released (放行),
 * 899 closed (结关). Text, as in the CEB622 message.
 */
export const RETURN_STATUSES = [
  '2',
  '3',
  '4',
  '100',
  '120',
  '300',
  '399',
  '500',
  '501',
  '502',
  '503',
  '599',
  '700',
  '800',
  '899',
] as const;
export type ReturnStatus = (typeof RETURN_STATUSES)[number];

/** One receipt as the declaration keeps it: customs' code, time and text, and when it came. */
export interface CustomsReceipt {
  returnStatus: ReturnStatus;
  /** Customs' own time of the receipt, when the broker relayed it. */
  returnTime: Date | null;
  /** Customs' text (free text from the partner; never logged). */
  returnInfo: string | null;
  /** When the broker relayed it to this service. */
  at: Date;
}

/**
 * READY -> PICKED_UP -> DELIVERED; READY -> CANCELLED when the order is
 * cancelled or customs rejects the declaration before pick-up.
 */
export const SHIPMENT_STATUSES = ['READY', 'PICKED_UP', 'DELIVERED', 'CANCELLED'] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];

/** Fields every partner record has; no personal data is ever stored in one. */
export interface PartnerRecord<S extends string> {
  id: string;
  /** Monotonic per collection: the pagination key. */
  seq: number;
  orderNo: string;
  /** The partner the record is assigned to: the only one that ever sees it. */
  partnerCode: string;
  /** The data subject (buyer): the key to their personal data and receipts. */
  identityId: string;
  status: S;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeclarationRecord extends PartnerRecord<DeclarationStatus> {
  carrierCode: string;
  goods: GoodsLine[];
  goodsValueFen: number;
  freightFen: number;
  insuranceFen: number;
  taxTotalFen: number;
  /** When the broker last relayed a customs answer. */
  ackedAt: Date | null;
  /** The broker's note with its ack (free text from the partner; never logged). */
  note: string | null;
  /** Customs release time (from 800 / ACCEPTED): the return window counts from it. */
  releasedAt: Date | null;
  /** The last customs receipt code recorded; null before the first. */
  returnStatus: ReturnStatus | null;
  /** Every customs receipt recorded, oldest first. */
  customsReceipts: CustomsReceipt[];
}

export interface ShipmentRecord extends PartnerRecord<ShipmentStatus> {
  itemCount: number;
  goodsValueFen: number;
  pickedUpAt: Date | null;
  deliveredAt: Date | null;
}

export interface Page<T> {
  items: T[];
  /** Seq of the last item when more may follow, else null. */
  nextAfter: number | null;
}

export interface PageQuery<S extends string> {
  partnerCode: string;
  status?: S;
  afterSeq: number;
  limit: number;
}

/** Persistence of one partner-record collection (declarations or shipments). */
export interface PartnerRecordStore<R extends PartnerRecord<S>, S extends string> {
  /** Inserts unless a record for this order exists; returns the stored one either way. */
  insertForOrder(record: Omit<R, 'seq'>): Promise<R>;
  findForOrder(orderNo: string): Promise<R | null>;
  /** Only the partner's own record: another partner's id answers null like an unknown one. */
  findOwn(partnerCode: string, id: string): Promise<R | null>;
  page(query: PageQuery<S>): Promise<Page<R>>;
  /**
   * One conditional update: status moves from one of `from` to `to`. Null
   * when the record was not in one of `from` (or is not the partner's).
   */
  transition(
    match: { id: string; partnerCode?: string },
    from: readonly S[],
    to: S,
    set: Partial<Omit<R, 'id' | 'seq' | 'status'>>,
  ): Promise<R | null>;
  ensureIndexes(): Promise<void>;
}

/**
 * One partner receiving one subject's data once (PIPL art. 23): who got which
 * fields, for what purpose, when. Field names only, never values. The
 * identities export shows the subject every receipt of theirs.
 */
export interface DisclosureReceipt {
  id: string;
  at: Date;
  identityId: string;
  partnerCode: string;
  clientId: string;
  role: PartnerRole;
  fields: string[];
  purpose: AuditPurpose;
  /** The record disclosed: `declaration` or `shipment`, and its id. */
  resourceType: 'declaration' | 'shipment';
  resourceId: string;
  orderNo: string;
  requestId: string;
}

export interface ReceiptsStore {
  insertMany(receipts: DisclosureReceipt[]): Promise<void>;
  /** Oldest first. */
  listForIdentity(identityId: string): Promise<DisclosureReceipt[]>;
  /** When `partnerCode` first received the record's personal data; null if it never did. */
  firstDisclosedAt(
    partnerCode: string,
    resourceType: DisclosureReceipt['resourceType'],
    resourceId: string,
  ): Promise<Date | null>;
  ensureIndexes(): Promise<void>;
}
