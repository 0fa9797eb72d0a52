import { NotFound, ValidationFailed } from '../errors';
import type { RequestContext } from '../http/route';
import type { DeniedAccessRecorder } from '../http/router';
import {
  checkpointDigest,
  type AuditEventRecord,
  type CheckpointRecord,
  type LogVerification,
} from './audit-chain';
import { createSubjectPseudonym, deniedAccess, toEvent } from './audit-event';
import type { AuditKeys } from './audit-keys';
import type { AuditStore, EventFilter, ListPosition } from './audit-store';
import type { AccessEventInput, AccessLog, AuditAction, AuditOutcome } from './audit-types';
import { verifyLog, type LedgerWitness } from './audit-verify';
import type { ChainWriter } from './audit-writer';
import type { RefusalAggregator } from './refusal-aggregator';

/** Filters of the list and the export; an identity is matched through its subjectRef. */
export interface EventQuery {
  actorId?: string;
  identityId?: string;
  action?: AuditAction;
  outcome?: AuditOutcome;
  /** Inclusive lower bound on `at`. */
  from?: Date;
  /** Exclusive upper bound on `at`. */
  to?: Date;
}

export interface ListQuery extends EventQuery {
  limit: number;
  /** Opaque cursor: `next` of the previous page. */
  after?: string;
}

/** One page of events in (at, stream, seq) order; `next` resumes after its last one. */
export interface EventPage {
  items: AuditEventRecord[];
  next: string | null;
}

/** Events about any of some identity records (one person's), in a time window, one page at a time. */
export interface IdentitiesEventsQuery {
  identityIds: readonly string[];
  from?: Date;
  to?: Date;
  limit: number;
  after?: string;
}

/** The search by person: the id number is turned into identity ids and goes no further. */
export interface PersonSearchQuery extends Omit<IdentitiesEventsQuery, 'identityIds'> {
  idNumber: string;
}

export type PersonSearch = (
  query: PersonSearchQuery,
  context: RequestContext,
) => Promise<EventPage>;

/** The identities module's port: every identity record of the person with an id number. */
export interface PersonIdentities {
  identityIdsOf(idNumber: string): Promise<string[]>;
}

/**
 * Every event about the person with an id number, whatever identity records
 * they had (deleted ones too): their identity ids, then the events of those
 * identities' subjectRefs. A malformed number is refused by `people`.
 */
export function createPersonSearch(
  audit: Pick<AuditService, 'listAboutIdentities'>,
  people: PersonIdentities,
): PersonSearch {
  return async ({ idNumber, ...window }, context) =>
    audit.listAboutIdentities(
      { ...window, identityIds: await people.identityIdsOf(idNumber) },
      context,
    );
}

/** The latest signed ledger record, and its digest (what the next record's `prev` will be). */
export type SignedHead = CheckpointRecord & { digest: string };

export interface AuditService extends AccessLog {
  list(query: ListQuery, context: RequestContext): Promise<EventPage>;
  /** Like `list`, for the events of any of the identities; recorded as one audit.read. */
  listAboutIdentities(query: IdentitiesEventsQuery, context: RequestContext): Promise<EventPage>;
  verify(context: RequestContext): Promise<LogVerification>;
  /** The ledger's latest record as stored, for copies kept outside the database. */
  head(): Promise<SignedHead>;
  /** Records the export, then streams the filtered events in list order. */
  openExport(query: EventQuery, context: RequestContext): Promise<AsyncIterable<AuditEventRecord>>;
  recordDenied: DeniedAccessRecorder;
}

type ReviewAction = 'audit.read' | 'audit.verify' | 'audit.export';

/**
 * The access log's use cases. Reading the log is itself an access: each one is
 * recorded before anything is read, so nothing leaves unrecorded (fail closed).
 */
export function createAuditService(deps: {
  store: AuditStore;
  writer: Pick<ChainWriter, 'append'> & LedgerWitness;
  keys: AuditKeys;
  /** Where refusals go: identical ones are counted into one event per window. */
  refusals: Pick<RefusalAggregator, 'record'>;
  /** Told of every verification's result (the alerts watch for ok: false). */
  onVerified?(result: LogVerification): void;
}): AuditService {
  const { store, writer, keys, refusals } = deps;
  const pseudonym = createSubjectPseudonym(keys);

  // async: an event refused by toEvent is a rejection, like a failed write.
  const record = async (input: AccessEventInput) => writer.append(toEvent(input, pseudonym));

  const recordReview = (action: ReviewAction, context: RequestContext, identityId?: string) =>
    record({
      context,
      action,
      purpose: 'security-review',
      outcome: 'SUCCESS',
      identityId: identityId ?? null,
      fields: [],
    });

  const toFilter = (query: EventQuery): EventFilter => ({
    actorId: query.actorId,
    subjectRef: query.identityId === undefined ? undefined : pseudonym.subjectRef(query.identityId),
    action: query.action,
    outcome: query.outcome,
    from: query.from,
    to: query.to,
  });

  return {
    record,
    subjectRef: (identityId) => pseudonym.subjectRef(identityId),

    async list(query, context) {
      const after = query.after === undefined ? null : decodeCursor(query.after);
      await recordReview('audit.read', context, query.identityId);
      const page = await store.findPage(toFilter(query), after, query.limit + 1);
      const items = page.slice(0, query.limit);
      const last = items[items.length - 1];
      return { items, next: page.length > query.limit && last ? encodeCursor(last) : null };
    },

    async listAboutIdentities(query, context) {
      const after = query.after === undefined ? null : decodeCursor(query.after);
      // Its subject is the person's first registration (a pseudonym, like any subject), so
      // the search shows up in later searches about them; none when nothing was found.
      await recordReview('audit.read', context, query.identityIds[0]);
      const filter: EventFilter = {
        subjectRefs: query.identityIds.map((identityId) => pseudonym.subjectRef(identityId)),
        from: query.from,
        to: query.to,
      };
      const page = await store.findPage(filter, after, query.limit + 1);
      const items = page.slice(0, query.limit);
      const last = items[items.length - 1];
      return { items, next: page.length > query.limit && last ? encodeCursor(last) : null };
    },

    async verify(context) {
      await recordReview('audit.verify', context);
      const result = await verifyLog(store, keys, writer);
      deps.onVerified?.(result);
      return result;
    },

    async head() {
      const head = await store.headCheckpoint();
      if (!head) throw new NotFound('ledger record');
      return { ...head, digest: checkpointDigest(head) };
    },

    async openExport(query, context) {
      await recordReview('audit.export', context, query.identityId);
      return store.streamEvents(toFilter(query));
    },

    async recordDenied(route, context) {
      if (!route.personalData) return;
      await refusals.record(toEvent(deniedAccess(route.personalData, context), pseudonym));
    },
  };
}

function encodeCursor(position: ListPosition): string {
  // A malformed (tampered) document may have no usable time: resume after the epoch.
  const at = position.at instanceof Date ? position.at.getTime() : 0;
  const seq = Number.isInteger(position.seq) && position.seq > 0 ? position.seq : 1;
  return Buffer.from(JSON.stringify([at, String(position.stream), seq])).toString('base64url');
}

function decodeCursor(cursor: string): ListPosition {
  try {
    const [at, stream, seq] = JSON.parse(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    ) as unknown[];
    if (
      Number.isInteger(at) &&
      typeof stream === 'string' &&
      stream.length <= 64 &&
      Number.isInteger(seq) &&
      (seq as number) > 0
    ) {
      return { at: new Date(at as number), stream, seq: seq as number };
    }
  } catch {
    // fall through: any undecodable cursor is the same error
  }
  throw new ValidationFailed([{ path: 'after', message: 'is not a valid cursor' }]);
}
