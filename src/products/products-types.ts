/**
 * The product catalogue: the customs data of what the platform sells
 * (CEB621 InventoryList), keyed by the platform's SKU (CEB621 itemNo).
 * Not personal data. Decimals are exact strings in the canonical form of
 * exact-decimal.ts: `"0.5"`, `"1.25"`, `"2"` (no exponent, no trailing zeros).
 */

/** A product as stored and answered; what declarations build CEB621 lines from. */
export interface ProductData {
  /** The platform's SKU (CEB621 itemNo): at most 30 characters. */
  sku: string;
  /** Chinese goods name (CEB621 gname), 1-250 characters. */
  name: string;
  /** HS code, exactly 10 digits (CEB621 gcode). */
  hsCode: string;
  /** Tax category of the CBEC policy data (src/quota/data/cbec-policy.json). */
  category: string;
  /** Specification and model (CEB621 gmodel), 1-250 characters. */
  spec: string;
  /** Country of origin, customs 3-digit code (CEB621 country), e.g. `116` Japan. */
  originCountry: string;
  /** The declared unit, customs 3-digit code (CEB621 unit), e.g. `142` 瓶. */
  unit: string;
  /** The first legal unit (CEB621 unit1), e.g. `035` 千克. */
  legalUnit: string;
  /** Legal quantity of one declared unit (CEB621 qty1 = qty x this), exact decimal. */
  legalQtyPerUnit: string;
  /** The second legal unit (CEB621 unit2), when the HS code has one. */
  secondUnit: string | null;
  /** Second legal quantity of one declared unit (CEB621 qty2 = qty x this). */
  secondQtyPerUnit: string | null;
  /** Bar code (CEB621 barCode), at most 50 characters. */
  barCode: string | null;
  /** The goods' record number in the bonded-area account book (CEB621 itemRecordNo), <= 30. */
  itemRecordNo: string | null;
  /** Net weight of one declared unit in kg, exact decimal. */
  netWeightKg: string;
  /**
   * The HS code's MFN import tariff, as a decimal (`"0.08"`), for a single
   * piece taxed in full above the per-order limit; null: the category's rate.
   */
  tariffRate: string | null;
  updatedAt: Date;
}

/** What `PUT /v1/products/{sku}` carries, after validation (decimals canonical). */
export interface ProductInput {
  name: string;
  hsCode: string;
  category: string;
  spec: string;
  originCountry: string;
  unit: string;
  legalUnit: string;
  legalQtyPerUnit: string;
  secondUnit?: string;
  secondQtyPerUnit?: string;
  barCode?: string;
  itemRecordNo?: string;
  netWeightKg: string;
  tariffRate?: string;
}

/** A parcel's weights in kg, exact decimals (CEB621 InventoryHead grossWeight, netWeight). */
export interface ParcelWeights {
  grossWeightKg: string;
  netWeightKg: string;
}

/** The port checkout reads the catalogue through: one query for all of an order's SKUs. */
export interface ProductCatalogue {
  /** The catalogued products among `skus`, by SKU; an uncatalogued SKU is simply absent. */
  findMany(skus: readonly string[]): Promise<Map<string, ProductData>>;
}

export interface ProductsStore extends ProductCatalogue {
  /** Inserts or replaces the product atomically; says which it was. */
  put(product: ProductData): Promise<'created' | 'replaced'>;
  find(sku: string): Promise<ProductData | null>;
  ensureIndexes(): Promise<void>;
}
