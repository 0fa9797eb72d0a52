import { Schema, type Connection, type Model } from 'mongoose';
import { isDuplicateKey } from '../db/duplicate-key';
import { ServiceUnavailable } from '../errors';
import {
  applyChange,
  balances,
  type LedgerChange,
  type LedgerEntry,
  type LedgerState,
  type LedgerStatus,
  type ReturnedItems,
} from './ledger';
import { findById } from '../db/find-by-id';
import { ensureModelIndexes } from '../db/indexes';

/**
 * Persistence of the yearly quota ledgers.
 *
 * Every change is committed by INSERTING the next version document
 * `_id: "<personKey>:<year>:<seq>"` into `quota_journal`. A unique `_id` is
 * the compare-and-set: of two writers that read version n, exactly one can
 * insert n+1; the other re-reads and decides again. This is atomic on MongoDB
 * and also on FerretDB 1.x, whose SQLite backend applies updates as
 * read-then-write without re-checking the filter (a conditional `$inc` there
 * loses concurrent updates: 40 concurrent `$inc` land a handful).
 *
 * `quota_ledgers` holds one document per buyer and year, `_id:
 * "<personKey>:<year>"`: the latest state as a snapshot, written after each
 * commit. It is only a starting point for reads: a reader follows the journal
 * from the snapshot's version to the newest one, so a snapshot left behind by
 * a crash or an out-of-order write costs a read, never a wrong answer.
 * All lookups are by `_id` alone, the one index every engine serves.
 */

export interface LedgerStore {
  /**
   * The ledger's state: the snapshot, followed to the newest version when
   * `fresh` (or when there is no snapshot). `genesis` is the state before any
   * commit.
   */
  read(genesis: LedgerState, options: { fresh: boolean }): Promise<LedgerState>;
  /** Follows the journal from `state` to the newest committed version. */
  catchUp(state: LedgerState): Promise<LedgerState>;
  /** Commits `change` as version state.seq + 1. Null when another writer took that version. */
  commit(state: LedgerState, change: LedgerChange): Promise<LedgerState | null>;
  /** The years a key has a ledger for (a range of the journal's `_id`; for migrations). */
  yearsOf(personKey: string): Promise<number[]>;
  ensureIndexes(): Promise<void>;
}

/**
 * One order's entry in a snapshot. The names are short because the snapshot
 * repeats them for every order of the buyer's year inside one document, which
 * every verify and quota read fetches whole. They are the stored format:
 * renaming them would strand the snapshots already written.
 */
interface EntryDocument {
  /** orderNo */
  o: string;
  /** status */
  s: LedgerStatus;
  /** amountFen */
  a: number;
  /** at: when the entry got its status */
  at: Date;
  /** confirmedAt */
  c: Date | null;
  /** releasedAt */
  r: Date | null;
  /** returned pieces by SKU, as pairs (a SKU is not a safe field name) */
  rt?: ReturnedPair[];
}

interface ReturnedPair {
  k: string;
  q: number;
}

const toPairs = (returned: ReturnedItems | undefined): ReturnedPair[] | undefined =>
  returned ? Object.entries(returned).map(([k, q]) => ({ k, q })) : undefined;

const fromPairs = (pairs: ReturnedPair[] | undefined): ReturnedItems | undefined =>
  pairs ? Object.fromEntries(pairs.map((pair) => [pair.k, pair.q])) : undefined;

interface SnapshotDocument {
  _id: string;
  /** The person (ledger.ts: LedgerState.personKey); `identityId` on ledgers made before it. */
  personKey: string;
  year: number;
  seq: number;
  limitFen: number;
  limitFrom: Date;
  usedFen: number;
  reservedFen: number;
  remainingFen: number;
  entries: EntryDocument[];
  updatedAt: Date;
}

/** One committed change, stored with its place in the buyer's year and the balances after it. */
interface JournalDocument extends Omit<LedgerChange, 'returned'> {
  _id: string;
  personKey: string;
  year: number;
  seq: number;
  usedFen: number;
  reservedFen: number;
  remainingFen: number;
  returned?: ReturnedPair[];
}

const snapshotSchema = new Schema<SnapshotDocument>(
  {
    _id: { type: String, required: true },
    personKey: { type: String, required: true },
    year: { type: Number, required: true },
    seq: { type: Number, required: true },
    limitFen: { type: Number, required: true },
    limitFrom: { type: Date, required: true },
    usedFen: Number,
    reservedFen: Number,
    remainingFen: Number,
    entries: [
      {
        _id: false,
        o: String,
        s: String,
        a: Number,
        at: Date,
        c: Date,
        r: Date,
        rt: [{ _id: false, k: String, q: Number }],
      },
    ],
    updatedAt: Date,
  },
  { collection: 'quota_ledgers', versionKey: false },
);

const journalSchema = new Schema<JournalDocument>(
  {
    _id: { type: String, required: true },
    personKey: { type: String, required: true },
    year: { type: Number, required: true },
    seq: { type: Number, required: true },
    orderNo: { type: String, required: true },
    from: { type: String, default: null },
    to: { type: String, required: true },
    amountFen: { type: Number, required: true },
    at: { type: Date, required: true },
    confirmedAt: { type: Date, default: null },
    releasedAt: { type: Date, default: null },
    returned: [{ _id: false, k: String, q: Number }],
    limitFen: Number,
    limitFrom: Date,
    usedFen: Number,
    reservedFen: Number,
    remainingFen: Number,
  },
  { collection: 'quota_journal', versionKey: false },
);

function ledgerKey(personKey: string, year: number): string {
  return `${personKey}:${year}`;
}

/** The snapshot's state; the key is the one it was read by (older snapshots name it otherwise). */
function fromSnapshot(personKey: string, document: SnapshotDocument): LedgerState {
  return {
    personKey,
    year: document.year,
    seq: document.seq,
    limitFen: document.limitFen,
    limitFrom: document.limitFrom,
    entries: new Map<string, LedgerEntry>(
      (document.entries ?? []).map((entry) => [
        entry.o,
        {
          status: entry.s,
          amountFen: entry.a,
          at: entry.at,
          confirmedAt: entry.c ?? null,
          releasedAt: entry.r ?? null,
          ...(entry.rt?.length ? { returned: fromPairs(entry.rt) } : {}),
        },
      ]),
    ),
  };
}

function toSnapshot(state: LedgerState, now: Date): SnapshotDocument {
  return {
    _id: ledgerKey(state.personKey, state.year),
    personKey: state.personKey,
    year: state.year,
    seq: state.seq,
    limitFrom: state.limitFrom,
    ...balances(state),
    entries: [...state.entries].map(([orderNo, entry]) => ({
      o: orderNo,
      s: entry.status,
      a: entry.amountFen,
      at: entry.at,
      c: entry.confirmedAt,
      r: entry.releasedAt,
      ...(entry.returned ? { rt: toPairs(entry.returned) } : {}),
    })),
    updatedAt: now,
  };
}

function changeOf(document: JournalDocument): LedgerChange {
  return {
    orderNo: document.orderNo,
    from: document.from ?? null,
    to: document.to,
    amountFen: document.amountFen,
    at: document.at,
    confirmedAt: document.confirmedAt ?? null,
    releasedAt: document.releasedAt ?? null,
    ...(document.returned?.length ? { returned: fromPairs(document.returned) } : {}),
    limitFen: document.limitFen,
    limitFrom: document.limitFrom,
  };
}

/** A chain longer than this between snapshot and newest version means something is badly wrong. */
const MAX_CATCH_UP = 10_000;

type Snapshots = Model<SnapshotDocument>;
type Journal = Model<JournalDocument>;

export function createLedgerStore(connection: Connection): LedgerStore {
  const snapshots = connection.model<SnapshotDocument>('QuotaLedger', snapshotSchema);
  const journal = connection.model<JournalDocument>('QuotaJournal', journalSchema);

  return {
    async read(genesis, { fresh }) {
      const snapshot = await findById<SnapshotDocument>(
        snapshots,
        ledgerKey(genesis.personKey, genesis.year),
      );
      const state = snapshot ? fromSnapshot(genesis.personKey, snapshot) : genesis;
      return snapshot && !fresh ? state : catchUp(journal, state);
    },

    catchUp: (state) => catchUp(journal, state),

    commit: (state, change) => commit(snapshots, journal, state, change),

    async yearsOf(personKey) {
      // Every version of every year: `<key>:<year>:<seq>`, and ':' sorts just before ';'.
      const versions = await journal.collection
        .find({ _id: { $gt: `${personKey}:`, $lt: `${personKey};` } } as never, {
          projection: { year: 1 },
        })
        .toArray();
      return [...new Set(versions.map((version) => version.year as number))].sort();
    },

    async ensureIndexes() {
      await ensureModelIndexes(snapshots, journal);
    },
  };
}

async function catchUp(journal: Journal, state: LedgerState): Promise<LedgerState> {
  const key = ledgerKey(state.personKey, state.year);
  let current = state;
  for (let step = 0; step < MAX_CATCH_UP; step += 1) {
    const next = await findById<JournalDocument>(journal, `${key}:${current.seq + 1}`);
    if (!next) return current;
    current = applyChange(current, changeOf(next));
  }
  throw new ServiceUnavailable('The quota ledger cannot be read right now.');
}

async function commit(
  snapshots: Snapshots,
  journal: Journal,
  state: LedgerState,
  change: LedgerChange,
): Promise<LedgerState | null> {
  const next = applyChange(state, change);
  const key = ledgerKey(state.personKey, state.year);
  const document: JournalDocument = {
    _id: `${key}:${next.seq}`,
    personKey: state.personKey,
    year: state.year,
    seq: next.seq,
    orderNo: change.orderNo,
    from: change.from,
    to: change.to,
    amountFen: change.amountFen,
    at: change.at,
    confirmedAt: change.confirmedAt,
    releasedAt: change.releasedAt,
    ...(change.returned ? { returned: toPairs(change.returned) } : {}),
    limitFrom: change.limitFrom,
    ...balances(next),
  };
  try {
    // Raw driver insert: the journal write is the hot path and needs no casting.
    await journal.collection.insertOne(document as never);
  } catch (error) {
    if (isDuplicateKey(error)) return null;
    throw error;
  }
  // The snapshot is a hint: losing this write (crash, race, outage) costs
  // readers a step, never a wrong answer, and the commit above stands. The
  // `seq` condition keeps it from going back: when a newer version is
  // already there, the upsert's insert fails on `_id` and is ignored.
  await snapshots.collection
    .replaceOne({ _id: key, seq: { $lt: next.seq } } as never, toSnapshot(next, change.at), {
      upsert: true,
    })
    .catch(() => undefined);
  return next;
}
