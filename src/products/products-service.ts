import { NotFound } from '../errors';
import type { ProductData, ProductInput, ProductsStore } from './products-types';

export interface ProductsService {
  /** Creates or replaces the product of `sku`; `created` is true when it is new. */
  put(sku: string, input: ProductInput): Promise<{ product: ProductData; created: boolean }>;
  /** Rejects with NotFound for an uncatalogued SKU. */
  get(sku: string): Promise<ProductData>;
}

export function createProductsService({
  productsStore,
  clock,
}: {
  productsStore: ProductsStore;
  clock: () => Date;
}): ProductsService {
  return {
    async put(sku, input) {
      const product = productData(sku, input, clock());
      const outcome = await productsStore.put(product);
      return { product, created: outcome === 'created' };
    },

    async get(sku) {
      const product = await productsStore.find(sku);
      if (!product) throw new NotFound('product');
      return product;
    },
  };
}

/** A PUT replaces the whole product: an optional field left out becomes null. */
function productData(sku: string, input: ProductInput, now: Date): ProductData {
  return {
    sku,
    name: input.name,
    hsCode: input.hsCode,
    category: input.category,
    spec: input.spec,
    originCountry: input.originCountry,
    unit: input.unit,
    legalUnit: input.legalUnit,
    legalQtyPerUnit: input.legalQtyPerUnit,
    secondUnit: input.secondUnit ?? null,
    secondQtyPerUnit: input.secondQtyPerUnit ?? null,
    barCode: input.barCode ?? null,
    itemRecordNo: input.itemRecordNo ?? null,
    netWeightKg: input.netWeightKg,
    tariffRate: input.tariffRate ?? null,
    updatedAt: now,
  };
}
