import type { AuditPurpose } from '../audit/audit-types';
import type { CrossBorderBasis } from '../cross-border/jurisdiction';
import type { ParcelWeights } from '../products/products-types';
import type { DeclaredGoodsLine } from './declaration-goods';
import type { PartnerRole } from './disclosure-policy';

/**
 * AWAITING_WAYBILL until the carrier gives its waybill (CEB621 needs it; the
 * broker does not see the declaration until then), then READY for the broker.
 * Customs receipts move it (customs-receipts.ts): ENTERED (120), UNDER_REVIEW
 * (300), REVIEWED (399), INSPECTION (500), DETAINED (501-503), in any order,
 * until ACCEPTED (800, released) or REJECTED (100); after release CLOSED (899)
 * or RETURNED_ABROAD (700). READY or AWAITING_WAYBILL -> CANCELLED when the
 * order is cancelled before customs answered.
 */
export const DECLARATION_STATUSES = [
  'AWAITING_WAYBILL',
  'READY',
  'ENTERED',
  'UNDER_REVIEW',
  'REVIEWED',
  'INSPECTION',
  'DETAINED',
  'ACCEPTED',
  'REJECTED',
  'CLOSED',
  'RETURNED_ABROAD',
  'CANCELLED',
] as const;
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
 * READY -> ACCEPTED (the carrier's waybill) -> PICKED_UP -> DELIVERED; READY
 * -> PICKED_UP stays allowed (contract v1), the declaration then waits for
 * the waybill. READY or ACCEPTED -> CANCELLED when the order is cancelled or
 * customs rejects the declaration before pick-up.
 */
export const SHIPMENT_STATUSES = [
  'READY',
  'ACCEPTED',
  'PICKED_UP',
  'DELIVERED',
  'CANCELLED',
] as const;
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
  /** The service's own short number of the declaration (CEB621 copNo, <= 20 characters). */
  copNo: string;
  carrierCode: string;
  /** The parcel's weights: given at confirm, else from the catalogue; null before the catalogue. */
  parcel: ParcelWeights | null;
  /** The carrier's waybill number, once known (CEB621 logisticsNo). */
  logisticsNo: string | null;
  goods: DeclaredGoodsLine[];
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
  /** The waybill number the carrier gave with ACCEPTED. */
  logisticsNo: string | null;
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
  /** Statuses never listed to the partner (without `status`). */
  hidden?: readonly S[];
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
  /**
   * Where the recipient was (ISO 3166-1 alpha-2), as registered when it
   * received the data; absent on receipts made before jurisdictions were recorded.
   */
  country?: string;
  /** Only when `country` is outside mainland China: the basis of the transfer (PIPL art. 38-39). */
  crossBorderBasis?: CrossBorderBasis;
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
