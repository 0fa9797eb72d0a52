import { isDuplicateKey } from '../db/duplicate-key';
import { Schema, type Connection, type Model } from 'mongoose';
import { ensureModelIndexes } from '../db/indexes';
import { CIPHER_ALGORITHMS, MAC_ALGORITHMS, type KeyAlgorithm } from './crypto-profile';

/** What a keyring entry is for: wrapping data keys, one blind index each, or sealing legal holds. */
export const KEY_PURPOSES = [
  'kek',
  'blind-index:idNumber',
  'blind-index:name',
  'blind-index:person',
  /** Seals what erasure keeps under a legal hold (src/retention/); used for nothing else. */
  'legal-retention',
] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

/**
 * pending: known to every instance but not yet used for writing (a new
 * blind-index version: lookups try it before any record carries it);
 * active: in use (for KEKs the highest active version wraps new data keys);
 * retiring: a newer version exists and a rotation is moving data keys off it;
 * retired: no data key uses it and its wrapped material is gone.
 */
export const KEY_STATUSES = ['pending', 'active', 'retiring', 'retired'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

/** One symmetric key of the hierarchy as stored: wrapped by the master public key. */
export interface KeyringEntry {
  purpose: KeyPurpose;
  version: number;
  status: KeyStatus;
  /**
   * What the key is used with, fixed for the version's life. Absent on entries
   * written before profiles existed: they are the intl algorithms (see
   * `algorithmOf` in keyring.ts), so no migration is needed.
   */
  algorithm?: KeyAlgorithm;
  /** RSA-OAEP (SHA-256) ciphertext of the key, base64; null once retired. */
  wrapped: string | null;
  /** Which master key wrapped it (SHA-256 of its public key). */
  masterKeyFingerprint: string;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface KeyringStore {
  list(): Promise<KeyringEntry[]>;
  /** False when that purpose and version exist already (another process won the race). */
  insert(entry: KeyringEntry): Promise<boolean>;
  /** Moves a version to `retiring` unless it is retired already. */
  markRetiring(purpose: KeyPurpose, version: number): Promise<void>;
  /** Moves a `pending` version to `active`. */
  activate(purpose: KeyPurpose, version: number): Promise<void>;
  /** Marks a version retired and deletes its wrapped material for good. */
  retire(purpose: KeyPurpose, version: number, at: Date): Promise<void>;
  status(purpose: KeyPurpose, version: number): Promise<KeyStatus | null>;
  ensureIndexes(): Promise<void>;
}

/** What master-key rotation needs beyond KeyringStore (src/crypto/master-key-rotation.ts). */
export interface KeyringRewrapStore {
  /**
   * Replaces one entry's wrapped material and master key fingerprint if it is
   * still `expected` (compare-and-set); false when another writer got there first.
   */
  rewrap(
    purpose: KeyPurpose,
    version: number,
    expected: string,
    next: { wrapped: string; masterKeyFingerprint: string },
  ): Promise<boolean>;
}

const keyringSchema = new Schema<KeyringEntry>(
  {
    purpose: { type: String, required: true, enum: KEY_PURPOSES },
    version: { type: Number, required: true },
    status: { type: String, required: true, enum: KEY_STATUSES },
    algorithm: { type: String, enum: [...CIPHER_ALGORITHMS, ...MAC_ALGORITHMS] },
    wrapped: { type: String, default: null },
    masterKeyFingerprint: { type: String, required: true },
    createdAt: { type: Date, required: true },
    retiredAt: { type: Date, default: null },
  },
  { collection: 'keyring', versionKey: false },
);
keyringSchema.index({ purpose: 1, version: 1 }, { unique: true });

function modelOf(connection: Connection): Model<KeyringEntry> {
  return (
    (connection.models.KeyringEntry as Model<KeyringEntry> | undefined) ??
    connection.model<KeyringEntry>('KeyringEntry', keyringSchema)
  );
}

function toEntry(document: KeyringEntry): KeyringEntry {
  return {
    purpose: document.purpose,
    version: document.version,
    status: document.status,
    ...(document.algorithm ? { algorithm: document.algorithm } : {}),
    wrapped: document.wrapped ?? null,
    masterKeyFingerprint: document.masterKeyFingerprint,
    createdAt: document.createdAt,
    retiredAt: document.retiredAt ?? null,
  };
}

export function createKeyringStore(connection: Connection): KeyringStore & KeyringRewrapStore {
  const model = modelOf(connection);
  return {
    async list() {
      const found = await model.find().sort({ purpose: 1, version: 1 }).lean<KeyringEntry[]>();
      return found.map(toEntry);
    },
    async insert(entry) {
      try {
        await model.create(entry);
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    },
    async markRetiring(purpose, version) {
      await model.updateOne(
        { purpose, version, status: 'active' },
        { $set: { status: 'retiring' } },
      );
    },
    async activate(purpose, version) {
      await model.updateOne(
        { purpose, version, status: 'pending' },
        { $set: { status: 'active' } },
      );
    },
    async retire(purpose, version, at) {
      await model.updateOne(
        { purpose, version },
        { $set: { status: 'retired', wrapped: null, retiredAt: at } },
      );
    },
    async rewrap(purpose, version, expected, next) {
      const result = await model.updateOne(
        { purpose, version, wrapped: expected },
        { $set: { wrapped: next.wrapped, masterKeyFingerprint: next.masterKeyFingerprint } },
      );
      return result.modifiedCount === 1;
    },
    async status(purpose, version) {
      const found = await model.findOne({ purpose, version }, { status: 1 }).lean<KeyringEntry>();
      return found?.status ?? null;
    },
    async ensureIndexes() {
      await ensureModelIndexes(model);
    },
  };
}
