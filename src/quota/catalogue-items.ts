import { Unprocessable, ValidationFailed, type ErrorDetail } from '../errors';
import type { ProductData } from '../products/products-types';
import type { OrderItem } from './order-lifecycle-types';

/**
 * How checkout uses the product catalogue: a catalogued SKU is taxed by
 * its product's category whatever the request says (the catalogue is the
 * platform's considered classification, the request's category a hint),
 * and an order is confirmed only when every SKU is catalogued, since its
 * declaration needs each line's customs data.
 */

/**
 * The items with their catalogued categories. An item whose product's
 * category is taxed by volume must carry `volumeMl`, as the request schema
 * requires of such a category named in the request.
 */
export function withCatalogueCategories(
  items: readonly OrderItem[],
  products: ReadonlyMap<string, ProductData>,
  volumeTaxedCategories: readonly string[],
): OrderItem[] {
  const details: ErrorDetail[] = [];
  const resolved = items.map((item, index) => {
    const product = products.get(item.sku);
    const category = product?.category ?? item.category;
    if (volumeTaxedCategories.includes(category) && item.volumeMl === undefined) {
      details.push({ path: `items.${index}.volumeMl`, message: 'is required for this category' });
    }
    const tariffRate = product?.tariffRate ?? undefined;
    if (category === item.category && !tariffRate) return item;
    return { ...item, category, ...(tariffRate ? { tariffRate } : {}) };
  });
  if (details.length > 0) throw new ValidationFailed(details);
  return resolved;
}

/** 422 naming every line whose SKU is not catalogued (by its path, with a fixed message). */
export function productDataMissing(
  items: readonly OrderItem[],
  products: ReadonlyMap<string, ProductData>,
): Unprocessable | null {
  const details = items.flatMap((item, index) =>
    products.has(item.sku)
      ? []
      : [{ path: `items.${index}.sku`, message: 'is not in the product catalogue' }],
  );
  if (details.length === 0) return null;
  return new Unprocessable(
    'PRODUCT_DATA_MISSING',
    'Every item must be catalogued (PUT /v1/products/{sku}) before the order is confirmed.',
    details,
  );
}

/** The products of an order's lines, once per SKU, in line order. */
export function productsOfLines(
  items: readonly OrderItem[],
  products: ReadonlyMap<string, ProductData>,
): ProductData[] {
  const skus = [...new Set(items.map((item) => item.sku))];
  return skus.flatMap((sku) => {
    const product = products.get(sku);
    return product ? [product] : [];
  });
}
