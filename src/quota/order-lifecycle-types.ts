import type { ParcelWeights, ProductData } from '../products/products-types';

/**
 * What other capabilities (disclosure: declarations and shipments) need from
 * checkout orders. Disclosure is built against this interface alone, so its
 * members stay as they are; a new member, if any, is optional.
 *
 * Errors: methods reject with the service's AppErrors, so a route may let them
 * propagate: NotFound (404 NOT_FOUND) for an unknown order number, and
 * Conflict INVALID_STATE_TRANSITION (409) when the order's status does not
 * allow the transition.
 */

/**
 * An order's life. PENDING is internal (a verify in progress) and never seen
 * through this interface.
 *
 * APPROVED -> CONFIRMED -> CUSTOMS_RELEASED -> RETURNED
 * APPROVED -> CANCELLED | EXPIRED;  CONFIRMED -> CANCELLED | CUSTOMS_REJECTED
 * REJECTED is final.
 */
export const ORDER_STATUSES = [
  'PENDING',
  'APPROVED',
  'REJECTED',
  'CONFIRMED',
  'CANCELLED',
  'EXPIRED',
  'CUSTOMS_RELEASED',
  'CUSTOMS_REJECTED',
  'RETURNED',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface OrderItem {
  sku: string;
  name: string;
  qty: number;
  unitPriceFen: number;
  /** Tax category key from the policy data; `general` when the request named none. */
  category: string;
  /**
   * Volume of one piece in ml. Required for a category taxed by volume
   * (spirits: 0.5 yuan per 500 ml on top of the ad valorem rate); optional otherwise.
   */
  volumeMl?: number;
  /** The catalogued product's MFN tariff (decimal), used only when the piece is taxed in full. */
  tariffRate?: string;
}

/** An order line as other capabilities see it: with its catalogued customs data once confirmed. */
export interface LifecycleItem extends OrderItem {
  /**
   * The SKU's product as catalogued at the order's first confirm (CEB621
   * gname, gcode, gmodel, country, units, qty1/qty2 per unit, weight).
   * Absent before the confirm, and on orders confirmed before the catalogue existed.
   */
  product?: ProductData;
}

/** The contract's `tax` object. Integer fen. */
export interface TaxBreakdown {
  taxableFen: number;
  tariffFen: number;
  vatFen: number;
  consumptionTaxFen: number;
  totalTaxFen: number;
}

/** The consignee, decrypted. Personal data: disclose only what a recipient needs. */
export interface ConsigneeData {
  name: string;
  phone: string;
  address: string;
}

/** An order as other capabilities see it: no personal data (see revealConsignee). */
export interface LifecycleOrder {
  orderNo: string;
  /** The buyer (orderer, taxpayer): an identity id for IdentityDirectory.revealBuyer. */
  identityId: string;
  status: OrderStatus;
  items: LifecycleItem[];
  /** Sum of qty x unitPriceFen. */
  goodsValueFen: number;
  freightFen: number;
  insuranceFen: number;
  /** Non-cash deduction; not subtracted from the taxable value. */
  discountFen: number;
  /** goods + freight + insurance: what counts against the quota. */
  taxableFen: number;
  tax: TaxBreakdown;
  /** True when the order cleared above the per-order limit as a single piece (taxed in full). */
  singleItemException: boolean;
  /** Customs broker (partnerCode of a customs client) the declaration goes to. */
  customsCode: string;
  /** Carrier (partnerCode of a carrier client) the shipment goes to. */
  carrierCode: string;
  orderedAt: Date;
  /** Calendar year in Asia/Shanghai of the verify (the service's clock, not orderedAt): the quota year. */
  quotaYear: number;
  confirmedAt: Date | null;
  /** When customs released the goods (set by markCustomsAccepted); starts the return window. */
  releasedAt: Date | null;
  /**
   * The weights given with the first confirm (`{parcel}` of POST
   * /v1/orders/{orderNo}/confirm); null when none were given: then they
   * come from the catalogue, `parcelOf(order)` (src/products/parcel.ts).
   */
  parcel: ParcelWeights | null;
}

/**
 * Called after an order's new status is durably stored. Must be idempotent
 * (keyed on orderNo): it is called again when a client retries a confirm or
 * cancel, and by the background sweeper when an earlier call failed or the
 * process stopped before it ran. A listener that rejects makes the HTTP call
 * that triggered it answer 503 (the status change itself stays).
 */
export type OrderListener = (order: LifecycleOrder) => Promise<void>;

export interface OrderLifecycle {
  /**
   * The order if it was ever confirmed (status CONFIRMED or a later one:
   * CUSTOMS_RELEASED, CUSTOMS_REJECTED, RETURNED, or CANCELLED after confirm),
   * else null (unknown, not yet confirmed, rejected, expired).
   */
  getConfirmedOrder(orderNo: string): Promise<LifecycleOrder | null>;

  /**
   * Decrypts the order's consignee (stored under the buyer's data key).
   * Rejects with DecryptionFailed once the buyer's identity is deleted, and
   * NotFound for an unknown or never-approved order. Records nothing itself:
   * the caller records its own access-log event (e.g. shipment.disclose)
   * before handing any of it out.
   */
  revealConsignee(orderNo: string): Promise<ConsigneeData>;

  /**
   * Customs accepted the declaration and released the goods: CONFIRMED ->
   * CUSTOMS_RELEASED. From then on the order can no longer be cancelled, and
   * a return is allowed within the return window counted from releasedAt.
   * Idempotent: on an order already CUSTOMS_RELEASED it changes nothing and
   * returns the order (the first releasedAt is kept).
   */
  markCustomsAccepted(orderNo: string, releasedAt: Date): Promise<LifecycleOrder>;

  /**
   * Customs rejected the declaration: CONFIRMED -> CUSTOMS_REJECTED, and the
   * order's value goes back to the buyer's annual quota. Idempotent.
   */
  markCustomsRejected(orderNo: string): Promise<LifecycleOrder>;

  /** Subscribes to confirmations (declaration and shipment become READY). Returns an unsubscribe. */
  onConfirmed(listener: OrderListener): () => void;

  /**
   * Subscribes to cancellations (status CANCELLED), e.g. to withdraw a READY
   * declaration or shipment. Returns an unsubscribe.
   */
  onCancelled(listener: OrderListener): () => void;
}
