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
export const STREAMS_COLLECTION = 'audit_streams';

/**
 * A stream's registry entry: the operational index of writers. OPEN while its
 * writer lives (it refreshes `heartbeatAt`), SEALING while another instance
 * seals it after a crash, CLOSED once a CLOSE or SEALED_AFTER_CRASH ledger
 * record ends it. Not signed: the signed truth is the ledger; verify
 * cross-checks the two.
 */
export interface StreamEntry {
  stream: string;
  state: 'OPEN' | 'SEALING' | 'CLOSED';
  openedAt: Date;
  heartbeatAt: Date;
  closedAt: Date | null;
}

/** Filters of `GET /v1/audit-events` (identityId already turned into subjectRef). */
export interface EventFilter {
  actorId?: string;
  subjectRef?: string;
  /** Any of these subjects (one person's identity records); takes the place of `subjectRef`. */
  subjectRefs?: readonly string[];
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
  /**
   * Appends a ledger record at its `gseq`; rejects with Conflict when that
   * position is taken (another instance appended first: read the head again).
   */
  insertCheckpoint(checkpoint: CheckpointRecord): Promise<void>;
  /** The ledger record with the highest gseq, as found; null on an empty ledger. */
  headCheckpoint(): Promise<CheckpointRecord | null>;
  /** Whether any ledger record is signed with `alg` (a key of that kind is then needed to verify). */
  hasCheckpointSignedWith(alg: string): Promise<boolean>;
  /** The latest ledger record of one stream, as found. */
  lastCheckpointOf(stream: string): Promise<CheckpointRecord | null>;
  /** Ledger records with gseq > `gseq`, as found. */
  checkpointsAfter(gseq: number): Promise<CheckpointRecord[]>;
  /** Stored `hash` of events by (stream, seq), keyed by eventId; absent ones are left out. */
  eventHashes(positions: { stream: string; seq: number }[]): Promise<Map<string, unknown>>;
  registerStream(stream: string, at: Date): Promise<void>;
  /** Refreshes a live stream's heartbeat; false when it is no longer OPEN (sealed by another). */
  heartbeat(stream: string, at: Date): Promise<boolean>;
  /**
   * Takes one stream whose heartbeat is older than `staleBefore` (its writer is
   * gone) for sealing, so no two instances seal it; null when there is none.
   */
  claimOrphan(staleBefore: Date, now: Date, except: string): Promise<string | null>;
  markClosed(stream: string, at: Date): Promise<void>;
  allStreams(): Promise<StreamEntry[]>;
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
// The console's usual pair ("denied reads"): both equalities, then the order, so a page is one range.
eventIndexes.index({ action: 1, outcome: 1, ...LIST_ORDER }, { name: 'by_action_outcome' });

const checkpointIndexes = new Schema(
  {},
  { collection: CHECKPOINTS_COLLECTION, strict: false, autoCreate: false },
);
// One record per ledger position: the compare-and-set that keeps the ledger linear.
checkpointIndexes.index({ gseq: 1 }, { unique: true, name: 'ledger_position' });
checkpointIndexes.index({ stream: 1, gseq: 1 }, { name: 'by_stream_position' });

const streamIndexes = new Schema(
  {},
  { collection: STREAMS_COLLECTION, strict: false, autoCreate: false },
);
streamIndexes.index({ state: 1, heartbeatAt: 1 }, { name: 'by_state' });

export function createAuditStore(connection: Connection): AuditStore {
  const eventsModel = connection.model('AuditEvent', eventIndexes);
  const checkpointsModel = connection.model('AuditCheckpoint', checkpointIndexes);
  const streamsModel = connection.model('AuditStream', streamIndexes);
  // Untyped on purpose: the driver's Filter<T> over these shapes is costly for tsc and adds nothing here.
  const events = connection.collection(EVENTS_COLLECTION) as unknown as mongo.Collection<Document>;
  const checkpoints = connection.collection(
    CHECKPOINTS_COLLECTION,
  ) as unknown as mongo.Collection<Document>;
  const streams = connection.collection(
    STREAMS_COLLECTION,
  ) as unknown as mongo.Collection<Document>;
  const readCheckpoints = async (query: Filter, options: mongo.FindOptions = {}) => {
    const found = await translated(() => checkpoints.find(query, options).toArray());
    return found.map(toCheckpoint);
  };

  return {
    async ensureIndexes() {
      await ensureModelIndexes(eventsModel, checkpointsModel, streamsModel);
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
      await translated(() =>
        checkpoints.insertOne({ _id: checkpoint.gseq, ...checkpoint } as Document, {
          writeConcern: DURABLE,
        }),
      );
    },

    async headCheckpoint() {
      const [head] = await readCheckpoints({}, { sort: { gseq: -1 }, limit: 1 });
      return head ?? null;
    },

    async hasCheckpointSignedWith(alg) {
      return (await readCheckpoints({ alg }, { limit: 1 })).length > 0;
    },

    async lastCheckpointOf(stream) {
      const [last] = await readCheckpoints({ stream }, { sort: { gseq: -1 }, limit: 1 });
      return last ?? null;
    },

    checkpointsAfter: (gseq) => readCheckpoints({ gseq: { $gt: gseq } }),

    async eventHashes(positions) {
      const hashes = new Map<string, unknown>();
      for (let start = 0; start < positions.length; start += 1000) {
        const ids = positions.slice(start, start + 1000).map((p) => eventId(p.stream, p.seq));
        const found = await translated(() =>
          events.find(withStringIds({ _id: { $in: ids } }), { projection: { hash: 1 } }).toArray(),
        );
        for (const document of found) hashes.set(String(document._id), document.hash);
      }
      return hashes;
    },

    async registerStream(stream, at) {
      await translated(() =>
        streams.insertOne(
          {
            _id: stream,
            stream,
            state: 'OPEN',
            openedAt: at,
            heartbeatAt: at,
            closedAt: null,
          } as Document,
          { writeConcern: DURABLE },
        ),
      );
    },

    async heartbeat(stream, at) {
      const result = await translated(() =>
        streams.updateOne(withStringIds({ _id: stream, state: 'OPEN' }), {
          $set: { heartbeatAt: at },
        }),
      );
      return result.matchedCount === 1;
    },

    async claimOrphan(staleBefore, now, except) {
      const claimed = await translated(() =>
        streams.findOneAndUpdate(
          withStringIds({
            _id: { $ne: except },
            state: { $in: ['OPEN', 'SEALING'] },
            heartbeatAt: { $lt: staleBefore },
          }),
          { $set: { state: 'SEALING', heartbeatAt: now } },
          { writeConcern: DURABLE, includeResultMetadata: false },
        ),
      );
      return claimed ? String(claimed._id) : null;
    },

    async markClosed(stream, at) {
      await translated(() =>
        streams.updateOne(
          withStringIds({ _id: stream }),
          { $set: { state: 'CLOSED', closedAt: at } },
          { writeConcern: DURABLE },
        ),
      );
    },

    async allStreams() {
      const found = await translated(() => streams.find({}).toArray());
      return found.map(({ _id, ...entry }) => ({ ...entry, stream: String(_id) }) as StreamEntry);
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

    allCheckpoints: () => readCheckpoints({}),
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

/** The driver types `_id` as an ObjectId; these collections use strings (and gseq numbers). */
function withStringIds(query: object): Filter {
  return query as unknown as Filter;
}

function toCheckpoint(document: Document): CheckpointRecord {
  const { _id, ...checkpoint } = document;
  void _id;
  return checkpoint as CheckpointRecord;
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
  if (filter.subjectRefs !== undefined) query.subjectRef = { $in: [...filter.subjectRefs] };
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

/**
 * Strictly after a position in (at, stream, seq) order. The `$gte` repeats what
 * the `$or` implies so that the planner starts the index range at the cursor
 * instead of at the filter's start (MongoDB): a deep page costs what the first does.
 */
function afterQuery({ at, stream, seq }: ListPosition): Filter {
  return {
    at: { $gte: at },
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
