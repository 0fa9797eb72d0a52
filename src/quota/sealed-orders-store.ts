import type { Connection } from 'mongoose';
import type { SealedField, SealedRecordSource } from '../crypto/stored-data-move';
import { replaceIfUnchanged } from '../db/replace-if-unchanged';
import { orderFieldRef } from './order-fields';
import { ordersModel } from './orders-store';

/**
 * Orders as the profile move walks them (src/crypto/stored-data-move.ts):
 * the consignee and the request digest, sealed under the buyer's data key.
 * Holds are left alone: they last until payment or QUOTA_HOLD_MINUTES, and
 * stay readable.
 */

const SEALED = ['consignee', 'personalHash'] as const;
const FIELD_OF = { consignee: 'consignee', personalHash: 'requestDigest' } as const;
const WITH_SEALED_FIELD = { $or: SEALED.map((field) => ({ [field]: { $ne: null } })) };

interface SealedOrder {
  _id: string;
  identityId: string;
  consignee?: string | null;
  personalHash?: string | null;
}

function sealedFields(order: SealedOrder): SealedField[] {
  const key = { identityId: order.identityId, orderNo: order._id };
  return SEALED.flatMap((name) => {
    const ciphertext = order[name];
    return ciphertext ? [{ name, ref: orderFieldRef(key, FIELD_OF[name]), ciphertext }] : [];
  });
}

export function createSealedOrdersSource(connection: Connection): SealedRecordSource {
  const orders = ordersModel(connection);
  return {
    label: 'orders',
    count: () => orders.countDocuments(WITH_SEALED_FIELD),
    async list(after, limit) {
      const found = await orders
        .find({ ...WITH_SEALED_FIELD, ...(after === null ? {} : { _id: { $gt: after } }) })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<SealedOrder[]>();
      return found.map((order) => ({
        id: order._id,
        subjectId: order.identityId,
        fields: sealedFields(order),
        indexes: [],
      }));
    },
    replace: (id, expected, next) => replaceIfUnchanged(orders, { _id: id }, expected, next),
  };
}
