import { Schema, type Connection } from 'mongoose';
import type { Client, ClientsStore } from './clients-types';
import { CROSS_BORDER_BASES } from '../cross-border/jurisdiction';
import { ROLES } from '../http/route';
import { ensureModelIndexes } from '../db/indexes';
import { findById } from '../db/find-by-id';

/**
 * The key hash is the primary key: authentication runs on every request, and
 * `_id` is the one index every engine serves.
 */
interface ClientDocument extends Client {
  _id: string;
  keyHash: string;
}

const clientSchema = new Schema<ClientDocument>(
  {
    _id: { type: String, required: true },
    id: { type: String, required: true },
    name: { type: String, required: true },
    role: { type: String, required: true, enum: ROLES },
    partnerCode: { type: String, default: null },
    keyHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
    revokedAt: { type: Date, default: null },
    certificatePem: { type: String, default: null },
    jurisdiction: { type: String, default: null },
    crossBorderBasis: { type: String, default: null, enum: [...CROSS_BORDER_BASES, null] },
    contact: { type: String, default: null },
  },
  { collection: 'clients', versionKey: false },
);
clientSchema.index({ id: 1 }, { unique: true });
clientSchema.index({ keyHash: 1 }, { unique: true });

function toClient(document: ClientDocument): Client {
  return {
    id: document.id,
    name: document.name,
    role: document.role,
    partnerCode: document.partnerCode ?? null,
    createdAt: document.createdAt,
    revokedAt: document.revokedAt ?? null,
    certificatePem: document.certificatePem ?? null,
    jurisdiction: document.jurisdiction ?? null,
    crossBorderBasis: document.crossBorderBasis ?? null,
    contact: document.contact ?? null,
  };
}

export function createClientsStore(connection: Connection): ClientsStore {
  const model = connection.model<ClientDocument>('Client', clientSchema);
  return {
    async insert(client, keyHash) {
      await model.create({ ...client, _id: keyHash, keyHash });
    },
    async findByKeyHash(keyHash) {
      const found = await findById<ClientDocument>(model, keyHash);
      return found ? toClient(found) : null;
    },
    async findById(id) {
      const found = await model.findOne({ id }).lean<ClientDocument>();
      return found ? toClient(found) : null;
    },
    async revoke(id, at) {
      const result = await model.updateOne({ id, revokedAt: null }, { $set: { revokedAt: at } });
      return result.modifiedCount === 1;
    },
    async setCertificate(id, certificatePem) {
      const result = await model.updateOne({ id, revokedAt: null }, { $set: { certificatePem } });
      return result.matchedCount === 1;
    },
    async ensureIndexes() {
      await ensureModelIndexes(model);
    },
  };
}
