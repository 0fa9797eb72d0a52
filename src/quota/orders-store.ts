import { Schema, type Connection, type Model } from 'mongoose';
import { insertUnique } from '../db/duplicate-key';
import {
  ANONYMISED,
  type HoldRecord,
  type OrderParcel,
  type OrderRecord,
  type OrdersStore,
} from './orders-types';
import { ensureModelIndexes } from '../db/indexes';

/**
 * Orders (`orders`), holds (`order_holds`) and what a confirm recorded
 * (`order_parcels`), all keyed by `_id: orderNo` and written by insert only: a unique `_id` makes "first of this order
 * number" atomic on every engine, and the check is the `_id` index's own.
 * An order's changing status lives in the buyer's ledger, so the
 * order record is updated only to anonymise it and to re-seal its fields
 * when the crypto profile moves (sealed-orders-store.ts).
 */

type OrderDocument = Omit<OrderRecord, 'orderNo'> & { _id: string };
type HoldDocument = Omit<HoldRecord, 'orderNo'> & { _id: string };
type ParcelDocument = Omit<OrderParcel, 'orderNo'> & { _id: string };

const orderSchema = new Schema<OrderDocument>(
  {
    _id: { type: String, required: true },
    identityId: { type: String, required: true },
    personKey: String,
    requestHash: { type: String, required: true },
    personalHash: { type: String, default: null },
    items: [
      {
        _id: false,
        sku: String,
        name: String,
        qty: Number,
        unitPriceFen: Number,
        category: String,
        volumeMl: Number,
      },
    ],
    goodsValueFen: Number,
    freightFen: Number,
    insuranceFen: Number,
    discountFen: Number,
    taxableFen: Number,
    tax: Schema.Types.Mixed,
    singleItemException: Boolean,
    customsCode: String,
    carrierCode: String,
    orderedAt: Date,
    quotaYear: Number,
    consignee: { type: String, default: null },
    result: Schema.Types.Mixed,
    createdAt: Date,
  },
  { collection: 'orders', versionKey: false },
);

const holdSchema = new Schema<HoldDocument>(
  {
    _id: { type: String, required: true },
    identityId: { type: String, required: true },
    personKey: String,
    quotaYear: { type: Number, required: true },
    requestHash: { type: String, required: true },
    personalHash: { type: String, default: null },
    createdAt: { type: Date, required: true },
    dueAt: { type: Date, required: true },
  },
  { collection: 'order_holds', versionKey: false },
);
const parcelSchema = new Schema<ParcelDocument>(
  {
    _id: { type: String, required: true },
    weights: { type: Schema.Types.Mixed, default: null },
    products: Schema.Types.Mixed,
    recordedAt: { type: Date, required: true },
  },
  { collection: 'order_parcels', versionKey: false },
);

holdSchema.index({ dueAt: 1 });
// A person's orders (their export, the person-key migration).
orderSchema.index({ identityId: 1 });

function toOrder({ _id, ...rest }: OrderDocument): OrderRecord {
  return {
    ...rest,
    orderNo: _id,
    // Orders from before person keys counted against their identity's ledger.
    personKey: rest.personKey ?? rest.identityId,
    personalHash: rest.personalHash ?? null,
    consignee: rest.consignee ?? null,
  };
}

function toHold({ _id, ...rest }: HoldDocument): HoldRecord {
  return {
    ...rest,
    orderNo: _id,
    personKey: rest.personKey ?? rest.identityId,
    personalHash: rest.personalHash ?? null,
  };
}

/** The orders model, shared with the profile move's source (sealed-orders-store.ts). */
export function ordersModel(connection: Connection) {
  return (
    (connection.models.CheckoutOrder as Model<OrderDocument> | undefined) ??
    connection.model<OrderDocument>('CheckoutOrder', orderSchema)
  );
}

export function createOrdersStore(connection: Connection): OrdersStore {
  const orders = ordersModel(connection);
  const holds = connection.model<HoldDocument>('CheckoutHold', holdSchema);
  const parcels = connection.model<ParcelDocument>('OrderParcel', parcelSchema);

  return {
    async findOrder(orderNo) {
      const found = await orders.findById(orderNo).lean<OrderDocument>();
      return found ? toOrder(found) : null;
    },

    async listForIdentity(identityId) {
      const found = await orders
        .find({ identityId })
        .sort({ createdAt: 1, _id: 1 })
        .lean<OrderDocument[]>();
      return found.map(toOrder);
    },

    insertOrder({ orderNo, ...rest }) {
      // Raw driver insert on the hot path: the record is built and typed here.
      return insertUnique(() => orders.collection.insertOne({ _id: orderNo, ...rest } as never));
    },

    async findHold(orderNo) {
      const found = await holds.findById(orderNo).lean<HoldDocument>();
      return found ? toHold(found) : null;
    },

    insertHold({ orderNo, ...rest }) {
      return insertUnique(() => holds.collection.insertOne({ _id: orderNo, ...rest } as never));
    },

    async deleteHold(orderNo) {
      await holds.collection.deleteOne({ _id: orderNo } as never);
    },

    async findParcel(orderNo) {
      const found = await parcels.findById(orderNo).lean<ParcelDocument>();
      if (!found) return null;
      const { _id, ...rest } = found;
      return {
        ...rest,
        orderNo: _id,
        weights: rest.weights ?? null,
        products: rest.products ?? [],
      };
    },

    insertParcel({ orderNo, ...rest }) {
      return insertUnique(() => parcels.collection.insertOne({ _id: orderNo, ...rest } as never));
    },

    async setHoldDue(orderNo, dueAt) {
      await holds.collection.updateOne({ _id: orderNo } as never, { $set: { dueAt } });
    },

    async assignPersonKey(identityId, personKey) {
      // Unmigrated orders have no personKey, or their identity's id as one (ledger.ts personKeyOf).
      const unassigned = { identityId, personKey: { $in: [null, identityId] } };
      const set = { $set: { personKey } };
      const changed = await orders.updateMany(unassigned, set);
      await holds.updateMany(unassigned, set);
      return changed.modifiedCount;
    },

    async anonymiseForIdentity(identityId) {
      const changed = await orders.updateMany(
        { identityId },
        { $set: { identityId: ANONYMISED, consignee: null, personalHash: null } },
      );
      return changed.modifiedCount;
    },

    async listDueHolds(now, after, limit) {
      const found = await holds
        .find({ dueAt: { $lte: now }, ...(after === null ? {} : { _id: { $gt: after } }) })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<HoldDocument[]>();
      return found.map(toHold);
    },

    async ensureIndexes() {
      await ensureModelIndexes(orders, holds, parcels);
    },
  };
}
