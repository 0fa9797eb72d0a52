import { Schema, type Connection, type Model } from 'mongoose';
import { AUDIT_PURPOSES } from '../audit/audit-types';
import { CROSS_BORDER_BASES } from '../cross-border/jurisdiction';
import type { DisclosureReceipt, ReceiptsStore } from './disclosure-types';
import { ensureModelIndexes } from '../db/indexes';

const receiptSchema = new Schema<DisclosureReceipt>(
  {
    id: { type: String, required: true },
    at: { type: Date, required: true },
    identityId: { type: String, required: true },
    partnerCode: { type: String, required: true },
    clientId: { type: String, required: true },
    role: { type: String, required: true, enum: ['customs', 'carrier'] },
    // Field names only (`buyer.idNumber`), never values.
    fields: { type: [String], required: true },
    purpose: { type: String, required: true, enum: AUDIT_PURPOSES },
    resourceType: { type: String, required: true, enum: ['declaration', 'shipment'] },
    resourceId: { type: String, required: true },
    orderNo: { type: String, required: true },
    requestId: { type: String, required: true },
    country: { type: String },
    crossBorderBasis: { type: String, enum: CROSS_BORDER_BASES },
  },
  { collection: 'disclosure_receipts', versionKey: false, strict: 'throw' },
);
receiptSchema.index({ id: 1 }, { unique: true });
receiptSchema.index({ identityId: 1, at: 1 });
// A declaration's first disclosure bounds its customs release time.
receiptSchema.index({ resourceId: 1, at: 1 });

/** The stored document without its `_id`: a plain receipt. */
function toReceipt(document: DisclosureReceipt): DisclosureReceipt {
  return {
    id: document.id,
    at: document.at,
    identityId: document.identityId,
    partnerCode: document.partnerCode,
    clientId: document.clientId,
    role: document.role,
    fields: [...document.fields],
    purpose: document.purpose,
    resourceType: document.resourceType,
    resourceId: document.resourceId,
    orderNo: document.orderNo,
    requestId: document.requestId,
    ...(document.country ? { country: document.country } : {}),
    ...(document.crossBorderBasis ? { crossBorderBasis: document.crossBorderBasis } : {}),
  };
}

/**
 * Receipts: PIPL art. 23 wants every provision to another handler recorded
 * (recipient, fields, purpose, time) and shown to the subject. Append-only:
 * no method changes or removes one.
 */
export function createReceiptsStore(connection: Connection): ReceiptsStore {
  const model =
    (connection.models.DisclosureReceipt as Model<DisclosureReceipt> | undefined) ??
    connection.model<DisclosureReceipt>('DisclosureReceipt', receiptSchema);
  return {
    async insertMany(receipts) {
      if (receipts.length > 0) await model.insertMany(receipts, { ordered: true });
    },
    async listForIdentity(identityId) {
      const found = await model
        .find({ identityId })
        .sort({ at: 1, id: 1 })
        .lean<DisclosureReceipt[]>();
      return found.map(toReceipt);
    },
    async firstDisclosedAt(partnerCode, resourceType, resourceId) {
      const first = await model
        .findOne({ resourceId, resourceType, partnerCode })
        .sort({ at: 1 })
        .lean<DisclosureReceipt>();
      return first ? first.at : null;
    },
    async ensureIndexes() {
      await ensureModelIndexes(model);
    },
  };
}
