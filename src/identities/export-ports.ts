import type { CrossBorderBasis } from '../cross-border/jurisdiction';

/**
 * What the export (PIPL art. 45) reads from other capabilities, as ports
 * they implement: identities imports none of their internals.
 */

/** One order of the person, consignee decrypted: what the export shows. */
export interface ExportedOrder {
  orderNo: string;
  /** The order's status as the quota ledger holds it (the checkout verdict before it has one). */
  status: string;
  orderedAt: string;
  quotaYear: number;
  items: { sku: string; name: string; qty: number; unitPriceFen: number; category: string }[];
  amounts: {
    goodsValueFen: number;
    freightFen: number;
    insuranceFen: number;
    discountFen: number;
    taxableFen: number;
    taxFen: {
      tariffFen: number;
      vatFen: number;
      consumptionTaxFen: number;
      totalTaxFen: number;
    };
  };
  /** Null on an order that was never approved (no consignee is kept for it). */
  consignee: { name: string; phone: string; address: string } | null;
  customsCode: string;
  carrierCode: string;
}

/** The orders of one registration (identity), oldest first. */
export interface OrdersOfPerson {
  /**
   * Decrypts each consignee under the buyer's data key: rejects with
   * DecryptionFailed once the key is destroyed. Records nothing itself: the
   * export's one access-log event covers it.
   */
  listForIdentity(identityId: string): Promise<ExportedOrder[]>;
}

/** A year of the person's customs allowance, in fen. */
export interface QuotaYearUsage {
  year: number;
  limitFen: number;
  usedFen: number;
  reservedFen: number;
  remainingFen: number;
}

/** The person's quota ledgers: one per year, shared by every registration of the person. */
export interface QuotaUsage {
  /** Every year the person has a ledger for, oldest first. */
  yearsOf(person: { identityId: string; personRef: string | null }): Promise<QuotaYearUsage[]>;
}

/** A recipient of the person's data, as the data subject is told of it (PIPL art. 23). */
export interface RecipientProfile {
  name: string;
  contact: string | null;
  jurisdiction: string | null;
  crossBorderBasis: CrossBorderBasis | null;
}

/** Partners by the client id that received a disclosure (revoked ones included). */
export interface PartnerDirectory {
  describe(clientId: string): Promise<RecipientProfile | null>;
}

/** Everything the export reads beyond the identity itself. */
export interface ExportSources {
  orders: OrdersOfPerson;
  quota: QuotaUsage;
  partners: PartnerDirectory;
}
