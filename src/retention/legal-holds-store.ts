import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKey } from '../db/duplicate-key';
import { ensureModelIndexes } from '../db/indexes';
import { AppError, ServiceUnavailable } from '../errors';
import {
  HOLD_STATUSES,
  LEGAL_HOLDS_COLLECTION,
  REQUEST_TYPES,
  type LegalHoldRecord,
  type LegalHoldsStore,
  type LegalHoldSummary,
} from './retention-types';

type HoldDocument = Omit<LegalHoldRecord, 'holdId'> & { _id: string };

const requestSchema = new Schema(
  {
    requestType: { type: String, required: true, enum: REQUEST_TYPES },
    // The authority and its reasons, in clear: they name the requester, never the person.
    requestedBy: { type: String, required: true },
    reference: { type: String, required: true },
    reason: { type: String, required: true },
    clientId: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { _id: false },
);

const holdSchema = new Schema<HoldDocument>(
  {
    _id: { type: String, required: true },
    identityId: { type: String, required: true },
    personRef: { type: String, default: null },
    orderNos: { type: [String], required: true },
    basis: { type: String, required: true },
    heldFrom: { type: Date, required: true },
    heldUntil: { type: Date, required: true },
    keyVersion: { type: Number, required: true },
    sealed: { type: String },
    status: { type: String, required: true, enum: HOLD_STATUSES },
    destroyedAt: { type: Date, default: null },
    accessRequests: { type: [requestSchema], default: [] },
  },
  { collection: LEGAL_HOLDS_COLLECTION, versionKey: false, strict: 'throw' },
);
// The list by person, and the retention job's scan of ended holds.
holdSchema.index({ identityId: 1 });
holdSchema.index({ status: 1, heldUntil: 1 });

function toRecord({ _id, ...rest }: HoldDocument): LegalHoldRecord {
  return {
    ...rest,
    holdId: _id,
    personRef: rest.personRef ?? null,
    sealed: rest.sealed ?? null,
    destroyedAt: rest.destroyedAt ?? null,
    accessRequests: (rest.accessRequests ?? []).map((request) => ({ ...request })),
  };
}

function toSummary(document: HoldDocument): LegalHoldSummary {
  const { sealed, ...summary } = toRecord(document);
  void sealed;
  return summary;
}

/** Any failure to write a hold is a 503: the erasure waiting on it must not go on. */
function unavailable(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new ServiceUnavailable('The legal hold could not be recorded.', { cause: error });
}

export function createLegalHoldsStore(connection: Connection): LegalHoldsStore {
  const holds =
    (connection.models.LegalHold as Model<HoldDocument> | undefined) ??
    connection.model<HoldDocument>('LegalHold', holdSchema);

  const expired = (now: Date) => ({ status: 'HELD' as const, heldUntil: { $lte: now } });

  return {
    async findById(holdId) {
      const found = await holds.findById(holdId).lean<HoldDocument>();
      return found ? toRecord(found) : null;
    },

    async insertOrKeep({ holdId, ...rest }) {
      try {
        await holds.create({ _id: holdId, ...rest });
        return 'inserted';
      } catch (error) {
        // One hold per identity (`_id` from its id): a retry keeps the first. A duplicate on
        // any other index is a refused write, not a hold that exists.
        if (isDuplicateKey(error) && (await holds.exists({ _id: holdId }))) return 'kept';
        throw unavailable(error);
      }
    },

    async appendRequest(holdId, request) {
      const result = await holds.updateOne(
        { _id: holdId, status: 'HELD' },
        { $push: { accessRequests: request } },
      );
      return result.matchedCount === 1;
    },

    async list({ identityId, status }) {
      const found = await holds
        .find({ ...(identityId ? { identityId } : {}), ...(status ? { status } : {}) })
        .sort({ heldFrom: 1, _id: 1 })
        .lean<HoldDocument[]>();
      return found.map(toSummary);
    },

    async listExpired(now, after, limit) {
      const found = await holds
        .find({ ...expired(now), ...(after === null ? {} : { _id: { $gt: after } }) })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<HoldDocument[]>();
      return found.map(toRecord);
    },

    countExpired: (now) => holds.countDocuments(expired(now)),

    async destroy(holdId, at) {
      await holds.updateOne(
        { _id: holdId, status: 'HELD' },
        { $set: { status: 'DESTROYED', destroyedAt: at }, $unset: { sealed: 1 } },
      );
    },

    async ensureIndexes() {
      await ensureModelIndexes(holds);
    },
  };
}

/**
 * The partner records (declarations, shipments) and disclosure receipts of
 * an identity whose hold ended: they keep the order and the amounts, and
 * name `anonymised` instead of the identity. Written here, on the raw
 * collections, because this one retention update is the only change those
 * capabilities' records ever get outside their own lifecycle. Idempotent.
 */
export function createDisclosureAnonymiser(connection: Connection) {
  const collections = ['declarations', 'shipments', 'disclosure_receipts'];
  return {
    async anonymiseRecords(identityId: string, anonymised: string): Promise<number> {
      let changed = 0;
      for (const name of collections) {
        const result = await connection
          .collection(name)
          .updateMany({ identityId }, { $set: { identityId: anonymised } });
        changed += result.modifiedCount;
      }
      return changed;
    },
  };
}
