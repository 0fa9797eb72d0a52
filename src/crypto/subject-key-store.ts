import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKey } from '../db/duplicate-key';
import { ensureModelIndexes } from '../db/indexes';
import { findById } from '../db/find-by-id';

/**
 * A data subject's data key, wrapped by a key-encryption key. Kept in its own
 * collection, apart from the data it protects: an identity record never holds
 * its own key, and deleting this one entry makes all of the subject's
 * ciphertext, wherever copies of it live, undecryptable.
 */
export interface SubjectKeyEntry {
  subjectId: string;
  dataKeyVersion: number;
  /** KEK version that wraps the key (0 on a tombstone that never had a key). */
  kekVersion: number;
  /** `dk1.` or `dg1.` envelope (the KEK version's algorithm); null once destroyed. */
  wrappedKey: string | null;
  createdAt: Date;
  /** Set when the key was destroyed (crypto-shredding); the entry stays as a tombstone. */
  destroyedAt: Date | null;
}

export interface SubjectKeyStore {
  find(subjectId: string): Promise<SubjectKeyEntry | null>;
  /** False when the subject has an entry already (live or tombstone). */
  insert(entry: SubjectKeyEntry): Promise<boolean>;
  /** Replaces the wrapped key only if it is still `expected` (compare-and-set). */
  rewrap(
    subjectId: string,
    expected: string,
    wrappedKey: string,
    kekVersion: number,
  ): Promise<boolean>;
  /** Deletes the wrapped key and leaves a tombstone, so the subject never gets a key again. */
  destroy(subjectId: string, at: Date): Promise<void>;
  /** Live keys wrapped by a KEK older than `kekVersion`, in a stable order. */
  listWrappedBefore(kekVersion: number, limit: number): Promise<SubjectKeyEntry[]>;
  countWrappedBefore(kekVersion: number): Promise<number>;
  /** Live keys wrapped by exactly this KEK version. */
  listWrappedWith(kekVersion: number, limit: number): Promise<SubjectKeyEntry[]>;
  ensureIndexes(): Promise<void>;
}

/**
 * The subject id is also the primary key: data keys are looked up on every
 * encrypt and decrypt, and `_id` is the one index every engine serves.
 */
type SubjectKeyDocument = SubjectKeyEntry & { _id: string };

const subjectKeySchema = new Schema<SubjectKeyDocument>(
  {
    _id: { type: String, required: true },
    subjectId: { type: String, required: true },
    dataKeyVersion: { type: Number, required: true },
    kekVersion: { type: Number, required: true },
    wrappedKey: { type: String, default: null },
    createdAt: { type: Date, required: true },
    destroyedAt: { type: Date, default: null },
  },
  { collection: 'subject_keys', versionKey: false },
);
subjectKeySchema.index({ subjectId: 1 }, { unique: true });
subjectKeySchema.index({ kekVersion: 1, subjectId: 1 });

function modelOf(connection: Connection): Model<SubjectKeyDocument> {
  return (
    (connection.models.SubjectKey as Model<SubjectKeyDocument> | undefined) ??
    connection.model<SubjectKeyDocument>('SubjectKey', subjectKeySchema)
  );
}

function toEntry(document: SubjectKeyEntry): SubjectKeyEntry {
  return {
    subjectId: document.subjectId,
    dataKeyVersion: document.dataKeyVersion,
    kekVersion: document.kekVersion,
    wrappedKey: document.wrappedKey ?? null,
    createdAt: document.createdAt,
    destroyedAt: document.destroyedAt ?? null,
  };
}

const LIVE = { wrappedKey: { $ne: null } };

/** One short method per store operation; the list is what makes it long. */
export function createSubjectKeyStore(connection: Connection): SubjectKeyStore {
  const model = modelOf(connection);
  return {
    async find(subjectId) {
      const found = await findById<SubjectKeyEntry>(model, subjectId);
      return found ? toEntry(found) : null;
    },
    async insert(entry) {
      try {
        await model.create({ ...entry, _id: entry.subjectId });
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    },
    async rewrap(subjectId, expected, wrappedKey, kekVersion) {
      const result = await model.updateOne(
        { _id: subjectId, wrappedKey: expected },
        { $set: { wrappedKey, kekVersion } },
      );
      return result.modifiedCount === 1;
    },
    async destroy(subjectId, at) {
      await model.updateOne(
        { _id: subjectId },
        {
          $set: { wrappedKey: null, destroyedAt: at },
          $setOnInsert: {
            subjectId,
            dataKeyVersion: 1,
            kekVersion: 0,
            createdAt: at,
          },
        },
        { upsert: true },
      );
    },
    async listWrappedBefore(kekVersion, limit) {
      const found = await model
        .find({ kekVersion: { $lt: kekVersion }, ...LIVE })
        .sort({ subjectId: 1 })
        .limit(limit)
        .lean<SubjectKeyEntry[]>();
      return found.map(toEntry);
    },
    async countWrappedBefore(kekVersion) {
      return model.countDocuments({ kekVersion: { $lt: kekVersion }, ...LIVE });
    },
    async listWrappedWith(kekVersion, limit) {
      const found = await model
        .find({ kekVersion, ...LIVE })
        .sort({ subjectId: 1 })
        .limit(limit)
        .lean<SubjectKeyEntry[]>();
      return found.map(toEntry);
    },
    async ensureIndexes() {
      await ensureModelIndexes(model);
    },
  };
}
