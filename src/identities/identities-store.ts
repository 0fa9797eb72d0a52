import { Schema, type Connection, type Model } from 'mongoose';
import { insertUnique } from '../db/duplicate-key';
import {
  IDENTITIES_COLLECTION,
  PHOTO_SIDES,
  PHOTOS_COLLECTION,
  type IdentitiesStore,
  type IdentityRecord,
  type PhotoRecord,
} from './identities-types';
import { ensureModelIndexes } from '../db/indexes';
import { findById } from '../db/find-by-id';

/** Stored shape: the record, with its id repeated as the primary key. */
type IdentityDocument = IdentityRecord & { _id: string; registrationKey?: string };

const identitySchema = new Schema<IdentityDocument>(
  {
    // The identity id is also the primary key: every checkout reads the buyer
    // by it, and `_id` is the one index every engine serves (the embedded ones
    // ignore or scan secondary indexes).
    _id: { type: String, required: true },
    id: { type: String, required: true },
    userId: { type: String, required: true },
    status: { type: String, required: true, enum: ['ACTIVE', 'DELETED'] },
    verificationStatus: {
      type: String,
      required: true,
      enum: ['VERIFIED', 'MISMATCH', 'UNVERIFIED'],
    },
    verifiedAt: { type: Date, default: null },
    idNumberIndex: { type: String, required: true },
    nameIndex: { type: String, default: null },
    personRef: { type: String, default: null },
    // `<userId>:<personRef>` while ACTIVE, absent otherwise (never null: the index is sparse).
    registrationKey: { type: String },
    name: { type: String, default: null },
    idNumber: { type: String, default: null },
    phone: { type: String, default: null },
    flags: { type: [String], default: [] },
    consent: {
      type: new Schema(
        {
          policyVersion: { type: String, required: true },
          sensitiveDataConsent: { type: Boolean, required: true },
          guardianConsent: { type: Boolean, default: null },
          consentedAt: { type: Date, required: true },
        },
        { _id: false },
      ),
      required: true,
    },
    relation: { type: String, required: true, enum: ['self', 'other'] },
    registeredBy: {
      type: new Schema(
        { userId: { type: String, required: true }, clientId: { type: String, required: true } },
        { _id: false },
      ),
      required: true,
    },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    consentWithdrawnAt: { type: Date, default: null },
    deletionStartedAt: { type: Date, default: null },
    deletedAt: { type: Date, default: null },
  },
  { collection: IDENTITIES_COLLECTION, versionKey: false },
);
identitySchema.index({ id: 1 }, { unique: true });
// Idempotent registration: one identity per user and id number (by blind index).
identitySchema.index({ userId: 1, idNumberIndex: 1 }, { unique: true });
// One active registration per user and person whatever blind-index key version made its
// idNumberIndex: during a re-index (keys move-profile) instances may write different versions.
identitySchema.index({ registrationKey: 1 }, { unique: true, sparse: true });
// The auditor's search by person: every record of one person, kept after deletion.
identitySchema.index({ personRef: 1, createdAt: 1 });

const photoSchema = new Schema<PhotoRecord>(
  {
    identityId: { type: String, required: true },
    side: { type: String, required: true, enum: PHOTO_SIDES },
    data: { type: String, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: PHOTOS_COLLECTION, versionKey: false },
);
photoSchema.index({ identityId: 1, side: 1 }, { unique: true });

function modelOf<T>(connection: Connection, name: string, schema: Schema<T>): Model<T> {
  return (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema);
}

function toRecord(document: IdentityRecord): IdentityRecord {
  return {
    id: document.id,
    userId: document.userId,
    status: document.status,
    verificationStatus: document.verificationStatus,
    verifiedAt: document.verifiedAt ?? null,
    idNumberIndex: document.idNumberIndex,
    nameIndex: document.nameIndex ?? null,
    personRef: document.personRef ?? null,
    name: document.name ?? null,
    idNumber: document.idNumber ?? null,
    phone: document.phone ?? null,
    flags: [...(document.flags ?? [])],
    consent: {
      policyVersion: document.consent.policyVersion,
      sensitiveDataConsent: true,
      guardianConsent: document.consent.guardianConsent ?? null,
      consentedAt: document.consent.consentedAt,
    },
    relation: document.relation,
    registeredBy: {
      userId: document.registeredBy.userId,
      clientId: document.registeredBy.clientId,
    },
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
    consentWithdrawnAt: document.consentWithdrawnAt ?? null,
    deletionStartedAt: document.deletionStartedAt ?? null,
    deletedAt: document.deletedAt ?? null,
  };
}

/** `null` also matches a record without the field (written before it existed). */
const WITHOUT_PERSON_REF = { status: 'ACTIVE' as const, personRef: null };

/** The unique key of an active registration: one per user and person. */
export function registrationKeyOf(record: Pick<IdentityRecord, 'userId' | 'personRef'>): string {
  return `${record.userId}:${record.personRef}`;
}

/** The two collections' models, shared with the profile move's store (sealed-identities-store.ts). */
export function identityModels(connection: Connection) {
  return {
    identities: modelOf<IdentityDocument>(connection, 'Identity', identitySchema),
    photos: modelOf(connection, 'IdentityPhoto', photoSchema),
  };
}

/** Long only as a list: one short method per query, each a single driver call. */
export function createIdentitiesStore(connection: Connection): IdentitiesStore {
  const { identities, photos } = identityModels(connection);
  return {
    async insert(record) {
      return insertUnique(() =>
        identities.create({
          ...record,
          _id: record.id,
          ...(record.personRef ? { registrationKey: registrationKeyOf(record) } : {}),
        }),
      );
    },
    async findById(id) {
      const found = await findById<IdentityRecord>(identities, id);
      return found ? toRecord(found) : null;
    },
    async findActiveRegistration(userId, { personRef, idNumberIndexes }) {
      // By person key (one key version, ever), or by id number index for a record without one.
      const found = await identities
        .findOne({
          userId,
          status: 'ACTIVE',
          $or: [{ personRef }, { idNumberIndex: { $in: idNumberIndexes } }],
        })
        .lean<IdentityRecord>();
      return found ? toRecord(found) : null;
    },
    async updateFields(id, changes, at) {
      const result = await identities.updateOne(
        { id, status: 'ACTIVE' },
        { $set: { ...changes, updatedAt: at } },
      );
      return result.matchedCount === 1;
    },
    async remove(id) {
      await identities.deleteOne({ id });
      await photos.deleteMany({ identityId: id });
    },
    async beginDeletion(id, at) {
      const result = await identities.updateOne(
        { id, status: 'ACTIVE' },
        { $set: { deletionStartedAt: at, updatedAt: at } },
      );
      return result.matchedCount === 1;
    },
    async markDeleted(id, at) {
      const result = await identities.updateOne(
        { id, status: 'ACTIVE' },
        {
          $set: {
            status: 'DELETED',
            idNumberIndex: `deleted:${id}`,
            nameIndex: null,
            name: null,
            idNumber: null,
            phone: null,
            deletedAt: at,
            updatedAt: at,
          },
          $unset: { registrationKey: '' },
        },
      );
      return result.modifiedCount === 1;
    },
    async listWithoutPersonRef(after, limit) {
      const found = await identities
        .find({ ...WITHOUT_PERSON_REF, ...(after === null ? {} : { _id: { $gt: after } }) })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<IdentityRecord[]>();
      return found.map(toRecord);
    },
    async listActive(after, limit) {
      const found = await identities
        .find(
          { status: 'ACTIVE', ...(after === null ? {} : { _id: { $gt: after } }) },
          { _id: 1, createdAt: 1, consentWithdrawnAt: 1 },
        )
        .sort({ _id: 1 })
        .limit(limit)
        .lean<{ _id: string; createdAt: Date; consentWithdrawnAt?: Date | null }[]>();
      return found.map((found) => ({
        identityId: found._id,
        createdAt: found.createdAt,
        consentWithdrawnAt: found.consentWithdrawnAt ?? null,
      }));
    },
    countActive: () => identities.countDocuments({ status: 'ACTIVE' }),
    countWithoutPersonRef: () => identities.countDocuments(WITHOUT_PERSON_REF),
    async setPersonRef(id, personRef) {
      const result = await identities.updateOne(
        { _id: id, personRef: null },
        { $set: { personRef } },
      );
      return result.modifiedCount === 1;
    },
    async listIdsByPersonRef(personRef) {
      const found = await identities
        .find({ personRef }, { _id: 1 })
        .sort({ createdAt: 1, _id: 1 })
        .lean<{ _id: string }[]>();
      return found.map((document) => document._id);
    },
    async withdrawConsent(id, at) {
      await identities.updateOne(
        { _id: id, status: 'ACTIVE', consentWithdrawnAt: null },
        { $set: { consentWithdrawnAt: at, updatedAt: at } },
      );
      const found = await findById<IdentityRecord>(identities, id);
      return found && found.status === 'ACTIVE' ? toRecord(found) : null;
    },
    async restoreConsent(id) {
      await identities.updateOne({ _id: id }, { $set: { consentWithdrawnAt: null } });
    },
    async putPhoto(photo) {
      await photos.updateOne(
        { identityId: photo.identityId, side: photo.side },
        { $set: { data: photo.data, updatedAt: photo.updatedAt } },
        { upsert: true },
      );
    },
    async findPhotos(identityId) {
      const found = await photos.find({ identityId }).lean<PhotoRecord[]>();
      return found.map((photo) => ({
        identityId: photo.identityId,
        side: photo.side,
        data: photo.data,
        updatedAt: photo.updatedAt,
      }));
    },
    async deletePhoto(identityId, side) {
      await photos.deleteOne({ identityId, side });
    },
    async deletePhotos(identityId) {
      await photos.deleteMany({ identityId });
    },
    async ensureIndexes() {
      await ensureModelIndexes(identities, photos);
    },
  };
}
