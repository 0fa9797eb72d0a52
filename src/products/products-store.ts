import { Schema, type Connection } from 'mongoose';
import { insertUnique } from '../db/duplicate-key';
import { ensureModelIndexes } from '../db/indexes';
import type { ProductData, ProductsStore } from './products-types';

/**
 * Products (`products`), keyed by `_id: sku`. A PUT is one insert, or, when
 * the SKU exists (the `_id` index says so), one replace: each a
 * single-document write, so two racing PUTs each land whole (the later
 * wins) and exactly one of them reports `created`. No delete exists, so a
 * replace always finds the document the insert collided with.
 */
type ProductDocument = Omit<ProductData, 'sku'> & { _id: string };

const productSchema = new Schema<ProductDocument>(
  {
    _id: { type: String, required: true },
    name: { type: String, required: true },
    hsCode: { type: String, required: true },
    category: { type: String, required: true },
    spec: { type: String, required: true },
    originCountry: { type: String, required: true },
    unit: { type: String, required: true },
    legalUnit: { type: String, required: true },
    legalQtyPerUnit: { type: String, required: true },
    secondUnit: { type: String, default: null },
    secondQtyPerUnit: { type: String, default: null },
    barCode: { type: String, default: null },
    itemRecordNo: { type: String, default: null },
    netWeightKg: { type: String, required: true },
    tariffRate: { type: String, default: null },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'products', versionKey: false },
);

function toProduct({ _id, ...rest }: ProductDocument): ProductData {
  return {
    sku: _id,
    name: rest.name,
    hsCode: rest.hsCode,
    category: rest.category,
    spec: rest.spec,
    originCountry: rest.originCountry,
    unit: rest.unit,
    legalUnit: rest.legalUnit,
    legalQtyPerUnit: rest.legalQtyPerUnit,
    secondUnit: rest.secondUnit ?? null,
    secondQtyPerUnit: rest.secondQtyPerUnit ?? null,
    barCode: rest.barCode ?? null,
    itemRecordNo: rest.itemRecordNo ?? null,
    netWeightKg: rest.netWeightKg,
    tariffRate: rest.tariffRate ?? null,
    updatedAt: rest.updatedAt,
  };
}

export function createProductsStore(connection: Connection): ProductsStore {
  const products = connection.model<ProductDocument>('Product', productSchema);

  return {
    async put({ sku, ...rest }) {
      const document = { _id: sku, ...rest };
      const inserted = await insertUnique(() => products.collection.insertOne(document as never));
      if (inserted === 'inserted') return 'created';
      await products.collection.replaceOne({ _id: sku } as never, document as never);
      return 'replaced';
    },

    async find(sku) {
      const found = await products.findById(sku).lean<ProductDocument>();
      return found ? toProduct(found) : null;
    },

    async findMany(skus) {
      const unique = [...new Set(skus)];
      if (unique.length === 0) return new Map();
      const found = await products.find({ _id: { $in: unique } }).lean<ProductDocument[]>();
      return new Map(found.map((document) => [document._id, toProduct(document)]));
    },

    async ensureIndexes() {
      await ensureModelIndexes(products);
    },
  };
}
