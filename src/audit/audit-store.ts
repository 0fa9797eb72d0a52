import { Schema, type Connection, type mongo } from 'mongoose';

type Document = mongo.Document;
type Filter<T> = mongo.Filter<T>;
type FindCursor<T> = mongo.FindCursor<T>;
import { eventId, type AuditEventRecord, type CheckpointRecord } from './audit-chain';
import type { AuditAction, AuditOutcome } from './audit-types';
import { ensureModelIndexes } from '../db/indexes';

export const EVENTS_COLLECTION = 'audit_events';
export const CHECKPOINTS_COLLECTION = 'audit_checkpoints';

/** Stored event: `_id` is `stream:seq`, so the chain position is also the primary key. */
export type AuditEventDocument = AuditEventRecord & { _id: string };
export type CheckpointDocument = CheckpointRecord & { _id?: unknown };

/** Filters of `GET /v1/audit-events` (identityId already turned into subjectRef). */
export interface EventFilter {
  actorId?: string;
  subjectRef?: string;
  action?: AuditAction;
  outcome?: AuditOutcome;
  from?: Date;
  to?: Date;
}

/** Position in the list order (at, stream, seq), for keyset pagination. */
export interface ListPosition {
  at: Date;
  stream: string;
  seq: number;
}

/** `{w: majority, j: true}`: an append counts only once it is on disk on a majority. */
const DURABLE = { w: 'majority', j: true } as const;

/** The list order, and every filter's index ends with it so a filtered page is one index range. */
const LIST_ORDER = { at: 1, stream: 1, seq: 1 } as const;

// Schemas exist only to declare indexes: documents are written and read with the
// driver so that what is stored is exactly what was hashed (no casting, no defaults).
const eventIndexes = new Schema(
  {},
  { collection: EVENTS_COLLECTION, strict: false, autoCreate: false },
);
eventIndexes.index({ stream: 1, seq: 1 }, { unique: true, name: 'chain_position' });
eventIndexes.index(LIST_ORDER, { name: 'by_time' });
eventIndexes.index({ 'actor.clientId': 1, ...LIST_ORDER }, { name: 'by_actor' });
eventIndexes.index({ subjectRef: 1, ...LIST_ORDER }, { name: 'by_subject' });
eventIndexes.index({ action: 1, ...LIST_ORDER }, { name: 'by_action' });
eventIndexes.index({ outcome: 1, ...LIST_ORDER }, { name: 'by_outcome' });

const checkpointIndexes = new Schema(
  {},
  { collection: CHECKPOINTS_COLLECTION, strict: false, autoCreate: false },
);
checkpointIndexes.index({ stream: 1, seq: 1, at: 1 }, { name: 'by_stream' });

export interface AuditStore {
  ensureIndexes(): Promise<void>;
  /** Ordered insert; rejects (with the driver's error) unless all are durably written. */
  insertEvents(records: readonly AuditEventRecord[]): Promise<void>;
  insertCheckpoint(checkpoint: CheckpointRecord): Promise<void>;
  /** One page in list order, after `after` when given. */
  findPage(
    filter: EventFilter,
    after: ListPosition | null,
    limit: number,
  ): Promise<AuditEventRecord[]>;
  /** Every matching event in list order, as a driver cursor (export). */
  listCursor(filter: EventFilter): FindCursor<AuditEventDocument>;
  /** Every event in chain order (stream, seq) (verify). */
  chainCursor(batchSize: number): FindCursor<AuditEventDocument>;
  /** Events of one stream with fromSeq <= seq < toSeq, in seq order. */
  findRange(stream: string, fromSeq: number, toSeq: number): Promise<AuditEventDocument[]>;
  allCheckpoints(): Promise<CheckpointDocument[]>;
  /** The raw collection, for the benchmark's baseline. */
  readonly events: mongo.Collection<Document>;
}

export function createAuditStore(connection: Connection): AuditStore {
  const eventsModel = connection.model('AuditEvent', eventIndexes);
  const checkpointsModel = connection.model('AuditCheckpoint', checkpointIndexes);
  // Untyped on purpose: the driver's Filter<T> over these shapes is costly for tsc and adds nothing here.
  const events = connection.collection(EVENTS_COLLECTION) as unknown as mongo.Collection<Document>;
  const checkpoints = connection.collection(
    CHECKPOINTS_COLLECTION,
  ) as unknown as mongo.Collection<Document>;

  return {
    events,

    async ensureIndexes() {
      await ensureModelIndexes(eventsModel, checkpointsModel);
    },

    async insertEvents(records) {
      const documents = records.map((record) => ({
        _id: eventId(record.stream, record.seq),
        ...record,
      }));
      await events.insertMany(documents as Document[], { ordered: true, writeConcern: DURABLE });
    },

    async insertCheckpoint(checkpoint) {
      await checkpoints.insertOne({ ...checkpoint }, { writeConcern: DURABLE });
    },

    async findPage(filter, after, limit) {
      const query = and(toQuery(filter), after ? afterQuery(after) : null);
      const found = await events.find(query, { sort: LIST_ORDER, limit }).toArray();
      return found.map(withoutId);
    },

    listCursor(filter) {
      return events.find(toQuery(filter), {
        sort: LIST_ORDER,
        batchSize: 1000,
      }) as unknown as FindCursor<AuditEventDocument>;
    },

    chainCursor(batchSize) {
      return events.find(
        {},
        { sort: { stream: 1, seq: 1 }, batchSize },
      ) as unknown as FindCursor<AuditEventDocument>;
    },

    async findRange(stream, fromSeq, toSeq) {
      return (await events
        .find({ stream, seq: { $gte: fromSeq, $lt: toSeq } }, { sort: { seq: 1 } })
        .toArray()) as unknown as AuditEventDocument[];
    },

    async allCheckpoints() {
      return (await checkpoints.find({}).toArray()) as unknown as CheckpointDocument[];
    },
  };
}

function withoutId(document: Document): AuditEventRecord {
  const { _id, ...record } = document;
  void _id;
  return record as AuditEventRecord;
}

function toQuery(filter: EventFilter): Filter<Document> {
  const query: Filter<Document> = {};
  if (filter.actorId !== undefined) query['actor.clientId'] = filter.actorId;
  if (filter.subjectRef !== undefined) query.subjectRef = filter.subjectRef;
  if (filter.action !== undefined) query.action = filter.action;
  if (filter.outcome !== undefined) query.outcome = filter.outcome;
  if (filter.from || filter.to) {
    query.at = {
      ...(filter.from ? { $gte: filter.from } : {}),
      ...(filter.to ? { $lt: filter.to } : {}),
    };
  }
  return query;
}

/** Strictly after a position in (at, stream, seq) order. */
function afterQuery({ at, stream, seq }: ListPosition): Filter<Document> {
  return {
    $or: [{ at: { $gt: at } }, { at, stream: { $gt: stream } }, { at, stream, seq: { $gt: seq } }],
  };
}

function and(...parts: (Filter<Document> | null)[]): Filter<Document> {
  const present = parts.filter(
    (part): part is Filter<Document> => part !== null && Object.keys(part).length > 0,
  );
  if (present.length === 0) return {};
  if (present.length === 1) return present[0]!;
  return { $and: present };
}
