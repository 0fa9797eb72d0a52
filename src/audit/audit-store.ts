import { Schema, type Connection, type mongo } from 'mongoose';
import { isDatabaseUnavailable } from '../db/database-errors';
import { isDuplicateKey } from '../db/duplicate-key';
import { ensureModelIndexes } from '../db/indexes';
import { AppError, Conflict, DatabaseUnavailable, InternalError } from '../errors';
import { eventId, type AuditEventRecord, type CheckpointRecord } from './audit-chain';
import type { AuditAction, AuditOutcome } from './audit-types';

type Document = mongo.Document;
type Filter = mongo.Filter<Document>;

export const EVENTS_COLLECTION = 'audit_events';
export const CHECKPOINTS_COLLECTION = 'audit_checkpoints';

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

/**
 * The outcome of an ordered insert: the first `written` events are durable;
 * when `failure` is set, none after them can be counted on.
 */
export interface InsertOutcome {
  written: number;
  failure: AppError | null;
}

/**
 * Persistence of the access log. Events and checkpoints come back as found in
 * the database, unchecked: a tampered document may not match its type, and
 * telling so is verify's business. Every driver error leaves as the
 * service's own (DatabaseUnavailable, Conflict, InternalError).
 */
export interface AuditStore {
  ensureIndexes(): Promise<void>;
  /** Ordered insert of one chained batch: how many leading events are durable. Never rejects. */
  insertEvents(records: readonly AuditEventRecord[]): Promise<InsertOutcome>;
  insertCheckpoint(checkpoint: CheckpointRecord): Promise<void>;
  /** One page in list order, after `after` when given. */
  findPage(
    filter: EventFilter,
    after: ListPosition | null,
    limit: number,
  ): Promise<AuditEventRecord[]>;
  /** Every matching event in list order, read as the caller consumes them (export). */
  streamEvents(filter: EventFilter): AsyncIterable<AuditEventRecord>;
  /** Every event in chain order (stream, seq), `batchSize` at a time, `_id` left on (verify). */
  chainBatches(batchSize: number): AsyncIterable<AuditEventRecord[]>;
  /** Events of one stream with fromSeq <= seq < toSeq, in seq order. */
  findRange(stream: string, fromSeq: number, toSeq: number): Promise<AuditEventRecord[]>;
  allCheckpoints(): Promise<CheckpointRecord[]>;
}

/** `{w: majority, j: true}`: an append counts only once it is on disk on a majority. */
const DURABLE = { w: 'majority', j: true } as const;

/** The list order, and every filter's index ends with it so a filtered page is one index range. */
const LIST_ORDER = { at: 1, stream: 1, seq: 1 } as const;
const CHAIN_ORDER = { stream: 1, seq: 1 } as const;

// Schemas exist only to declare indexes: documents are written and read with the
// driver so that what is stored is exactly what was hashed (no casting, no defaults).
const eventIndexes = new Schema(
  {},
  { collection: EVENTS_COLLECTION, strict: false, autoCreate: false },
);
eventIndexes.index(CHAIN_ORDER, { unique: true, name: 'chain_position' });
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

export function createAuditStore(connection: Connection): AuditStore {
  const eventsModel = connection.model('AuditEvent', eventIndexes);
  const checkpointsModel = connection.model('AuditCheckpoint', checkpointIndexes);
  // Untyped on purpose: the driver's Filter<T> over these shapes is costly for tsc and adds nothing here.
  const events = connection.collection(EVENTS_COLLECTION) as unknown as mongo.Collection<Document>;
  const checkpoints = connection.collection(
    CHECKPOINTS_COLLECTION,
  ) as unknown as mongo.Collection<Document>;

  return {
    async ensureIndexes() {
      await ensureModelIndexes(eventsModel, checkpointsModel);
    },

    async insertEvents(records) {
      try {
        await events.insertMany(records.map(toDocument), { ordered: true, writeConcern: DURABLE });
        return { written: records.length, failure: null };
      } catch (error) {
        return { written: firstRefusedIndex(error) ?? 0, failure: asStoreError(error) };
      }
    },

    async insertCheckpoint(checkpoint) {
      await translated(() => checkpoints.insertOne({ ...checkpoint }, { writeConcern: DURABLE }));
    },

    async findPage(filter, after, limit) {
      const query = and(toQuery(filter), after ? afterQuery(after) : null);
      const found = await translated(() =>
        events.find(query, { sort: LIST_ORDER, limit }).toArray(),
      );
      return found.map(toRecord);
    },

    streamEvents: (filter) => readInListOrder(events, toQuery(filter)),

    chainBatches: (batchSize) => readInChainBatches(events, batchSize),

    async findRange(stream, fromSeq, toSeq) {
      const found = await translated(() =>
        events.find({ stream, seq: { $gte: fromSeq, $lt: toSeq } }, { sort: { seq: 1 } }).toArray(),
      );
      return found.map(toRecord);
    },

    async allCheckpoints() {
      const found = await translated(() => checkpoints.find({}).toArray());
      return found.map(({ _id, ...checkpoint }) => {
        void _id;
        return checkpoint as CheckpointRecord;
      });
    },
  };
}

async function* readInListOrder(
  events: mongo.Collection<Document>,
  query: Filter,
): AsyncGenerator<AuditEventRecord> {
  const cursor = events.find(query, { sort: LIST_ORDER, batchSize: 1000 });
  try {
    for await (const document of cursor) yield toRecord(document);
  } catch (error) {
    throw asStoreError(error);
  } finally {
    await cursor.close().catch(() => undefined);
  }
}

async function* readInChainBatches(
  events: mongo.Collection<Document>,
  batchSize: number,
): AsyncGenerator<AuditEventRecord[]> {
  const cursor = events.find({}, { sort: CHAIN_ORDER, batchSize });
  try {
    let more = cursor.hasNext();
    while (await more) {
      // Handed over as received, `_id` included (the hash ignores it): verify reads every
      // event, and a copy per event to drop one key would be its only cost here.
      const batch = cursor.readBufferedDocuments() as unknown as AuditEventRecord[];
      // Ask for the next batch before the caller checks this one: the database works meanwhile.
      more = cursor.hasNext();
      // Awaited at the top of the loop; this only keeps a caller that stops early from
      // leaving an unhandled rejection behind.
      more.catch(() => undefined);
      yield batch;
    }
  } catch (error) {
    throw asStoreError(error);
  } finally {
    await cursor.close().catch(() => undefined);
  }
}

/** Stored event: `_id` is `stream:seq`, so the chain position is also the primary key. */
function toDocument(record: AuditEventRecord): Document {
  return { _id: eventId(record.stream, record.seq), ...record };
}

function toRecord(document: Document): AuditEventRecord {
  const { _id, ...record } = document;
  void _id;
  return record as AuditEventRecord;
}

/**
 * How many events of an ordered insert were written before the first refused
 * one; null when the error names none (network error, timeout, write concern
 * not met), and then none can be counted on. The driver types `writeErrors` as
 * one error or a list.
 */
function firstRefusedIndex(error: unknown): number | null {
  const writeErrors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  const indexes = list
    .map((entry) => (entry as { index?: unknown }).index)
    .filter((index): index is number => typeof index === 'number');
  return indexes.length > 0 ? Math.min(...indexes) : null;
}

/** The service's own error for a driver failure. */
function asStoreError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isDatabaseUnavailable(error)) return new DatabaseUnavailable({ cause: error });
  // Only a write at a chain position already taken: (stream, seq) is the unique key.
  if (isDuplicateKey(error)) return new Conflict('CONFLICT', 'This access log position is taken.');
  return new InternalError({ cause: error });
}

async function translated<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw asStoreError(error);
  }
}

function toQuery(filter: EventFilter): Filter {
  const query: Filter = {};
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
function afterQuery({ at, stream, seq }: ListPosition): Filter {
  return {
    $or: [{ at: { $gt: at } }, { at, stream: { $gt: stream } }, { at, stream, seq: { $gt: seq } }],
  };
}

function and(...parts: (Filter | null)[]): Filter {
  const present = parts.filter(
    (part): part is Filter => part !== null && Object.keys(part).length > 0,
  );
  if (present.length === 0) return {};
  if (present.length === 1) return present[0]!;
  return { $and: present };
}
