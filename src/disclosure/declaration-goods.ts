import type { LifecycleOrder } from '../quota/order-lifecycle-types';
import { parcelOf } from '../products/parcel';
import type { ParcelWeights, ProductData } from '../products/products-types';
import { legalQuantity } from './ceb-format';
import type { Ceb621GoodsLine, GoodsLine } from './ceb621-xml';

/**
 * What a declaration keeps of an order's goods: each line as ordered, with
 * the customs data of its product as catalogued at the order's confirm, so a
 * later change to the catalogue does not change a lodged declaration.
 */

/** A line's product data, as CEB621 needs it (`name` is the declared gname). */
export type DeclaredProduct = Omit<
  ProductData,
  'sku' | 'category' | 'netWeightKg' | 'tariffRate' | 'updatedAt'
>;

export interface DeclaredGoodsLine extends GoodsLine {
  /** Null on declarations made before the catalogue existed: no CEB621 can be built for them. */
  product: DeclaredProduct | null;
}

export function declaredGoods(order: LifecycleOrder): DeclaredGoodsLine[] {
  return order.items.map((item, index) => ({
    gnum: index + 1,
    sku: item.sku,
    name: item.name,
    qty: item.qty,
    unitPriceFen: item.unitPriceFen,
    totalPriceFen: item.qty * item.unitPriceFen,
    product: item.product
      ? {
          name: item.product.name,
          hsCode: item.product.hsCode,
          spec: item.product.spec,
          originCountry: item.product.originCountry,
          unit: item.product.unit,
          legalUnit: item.product.legalUnit,
          legalQtyPerUnit: item.product.legalQtyPerUnit,
          secondUnit: item.product.secondUnit,
          secondQtyPerUnit: item.product.secondQtyPerUnit,
          barCode: item.product.barCode,
          itemRecordNo: item.product.itemRecordNo,
        }
      : null,
  }));
}

/** The parcel given at confirm, else its weights from the catalogue; null when neither exists. */
export function declaredParcel(order: LifecycleOrder): ParcelWeights | null {
  if (order.parcel) return order.parcel;
  return order.items.every((item) => item.product) ? parcelOf(order) : null;
}

/** One CEB621 InventoryList from a declared line; a line without product data yields empty codes. */
export function ceb621Line(line: DeclaredGoodsLine): Ceb621GoodsLine {
  const product = line.product;
  const second =
    product?.secondUnit && product.secondQtyPerUnit
      ? { qty2: legalQuantity(line.qty, product.secondQtyPerUnit), unit2: product.secondUnit }
      : {};
  return {
    itemNo: line.sku,
    ...(product?.itemRecordNo ? { itemRecordNo: product.itemRecordNo } : {}),
    itemName: line.name,
    gcode: product?.hsCode ?? '',
    gname: product?.name ?? line.name,
    gmodel: product?.spec ?? '',
    ...(product?.barCode ? { barCode: product.barCode } : {}),
    country: product?.originCountry ?? '',
    qty: line.qty,
    unit: product?.unit ?? '',
    qty1: product ? legalQuantity(line.qty, product.legalQtyPerUnit) : '',
    unit1: product?.legalUnit ?? '',
    ...second,
    unitPriceFen: line.unitPriceFen,
    totalPriceFen: line.totalPriceFen,
  };
}

/** The service's own short number for a declaration (CEB621 copNo, at most 20 characters). */
export function copNoOf(declarationId: string): string {
  return declarationId.replace(/-/g, '').slice(0, 20).toUpperCase();
}
