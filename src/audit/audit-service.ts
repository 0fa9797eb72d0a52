import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import { InternalError, ValidationFailed } from '../errors';
import { ROLES, type Actor, type RequestContext } from '../http/route';
import type { DeniedAccessRecorder } from '../http/router';
import type { StoredActor, UnchainedEvent, AuditEventRecord, VerifyResult } from './audit-chain';
import type { AuditKeys } from './audit-keys';
import type { AuditStore, EventFilter, ListPosition } from './audit-store';
import {
  AUDIT_ACTIONS,
  AUDIT_OUTCOMES,
  AUDIT_PURPOSES,
  type AccessEventInput,
  type AccessLog,
  type AuditAction,
  type AuditPurpose,
} from './audit-types';
import { verifyLog } from './audit-verify';
import type { ChainWriter } from './audit-writer';

/** The purpose a route's action serves when the route does not name one (denied attempts). */
export const DEFAULT_PURPOSE: Record<AuditAction, AuditPurpose> = {
  'identity.create': 'identity-registration',
  'identity.read': 'checkout-verification',
  'identity.update': 'identity-correction',
  'identity.export': 'subject-access-request',
  'identity.delete': 'subject-deletion-request',
  'identity.photo': 'identity-registration',
  'checkout.verify': 'checkout-verification',
  'quota.read': 'checkout-verification',
  'declaration.disclose': 'customs-clearance',
  'shipment.disclose': 'delivery',
  'audit.read': 'security-review',
  'audit.export': 'security-review',
  'audit.verify': 'security-review',
};

const ACTIONS = new Set<string>(AUDIT_ACTIONS);
const PURPOSES = new Set<string>(AUDIT_PURPOSES);
const OUTCOMES = new Set<string>(AUDIT_OUTCOMES);
const ROLE_SET = new Set<string>(ROLES);
/** Field names only: letters and dots (`consignee.address`), never a value. */
const FIELD_NAME = /^[a-zA-Z.]{1,64}$/;
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PARTNER_CODE = /^[A-Za-z0-9_-]{1,32}$/;
const RESOURCE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Express route templates: `/v1/identities/:identityId`. */
const ROUTE_TEMPLATE = /^\/[A-Za-z0-9_/:.-]{0,199}$/;
const IDENTITY_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_FIELDS = 32;

function reject(what: string): never {
  // A programming error in a capability, not bad input: 500, and nothing is written.
  throw new InternalError({ cause: new Error(`access event rejected: invalid ${what}`) });
}

function checked(value: unknown, pattern: RegExp, what: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) reject(what);
  return value;
}

function member<T extends string>(value: unknown, allowed: Set<string>, what: string): T {
  if (typeof value !== 'string' || !allowed.has(value)) reject(what);
  return value as T;
}

function storedActor(actor: Actor | null): StoredActor | null {
  if (actor === null) return null;
  return {
    clientId: checked(actor.clientId, CLIENT_ID, 'actor.clientId'),
    role: member(actor.role, ROLE_SET, 'actor.role'),
    partnerCode:
      actor.partnerCode === null
        ? null
        : checked(actor.partnerCode, PARTNER_CODE, 'actor.partnerCode'),
  };
}

export interface SubjectPseudonym {
  subjectRef(identityId: string): string;
  keyId: string;
}

export function createSubjectPseudonym(keys: Pick<AuditKeys, 'subjectRefKey' | 'subjectRefKeyId'>) {
  return {
    keyId: keys.subjectRefKeyId,
    /** HMAC-SHA-256 of the identity id under the subjectRef key: stable, not reversible without the key. */
    subjectRef(identityId: string): string {
      checked(identityId, IDENTITY_ID, 'identityId');
      return createHmac('sha256', keys.subjectRefKey).update(identityId, 'utf8').digest('hex');
    },
  };
}

/**
 * Copies an input into a stored event field by field, each checked against a
 * closed list or a strict pattern. Nothing is spread from the input, so no
 * free text from a request can reach the log.
 */
export function toEvent(
  input: AccessEventInput,
  pseudonym: SubjectPseudonym,
  at = new Date(),
): UnchainedEvent {
  const { context } = input;
  if (!Array.isArray(input.fields) || input.fields.length > MAX_FIELDS) reject('fields');
  const fields = [
    ...new Set(input.fields.map((field) => checked(field, FIELD_NAME, 'field name'))),
  ];
  const identityId = input.identityId ?? null;
  return {
    at,
    actor: storedActor(context.actor),
    action: member<AuditAction>(input.action, ACTIONS, 'action'),
    purpose: member<AuditPurpose>(input.purpose, PURPOSES, 'purpose'),
    subjectRef: identityId === null ? null : pseudonym.subjectRef(identityId),
    subjectRefKeyId: identityId === null ? null : pseudonym.keyId,
    resource: {
      route: checked(context.route, ROUTE_TEMPLATE, 'route'),
      id: input.resourceId == null ? null : checked(input.resourceId, RESOURCE_ID, 'resourceId'),
    },
    fields,
    outcome: member(input.outcome, OUTCOMES, 'outcome'),
    requestId: checked(context.requestId, REQUEST_ID, 'requestId'),
    sourceIp:
      typeof context.sourceIp === 'string' && isIP(context.sourceIp) ? context.sourceIp : 'unknown',
  };
}

/**
 * The list item of the contract, plus the chain position and hashes. Stored
 * documents are shown as they are, even malformed (tampered) ones: hiding
 * them is verify's business, not the list's.
 */
export function eventView(event: AuditEventRecord) {
  return {
    seq: event.seq,
    stream: event.stream,
    at: event.at instanceof Date ? event.at.toISOString() : null,
    actor: event.actor,
    action: event.action,
    purpose: event.purpose,
    subjectRef: event.subjectRef,
    subjectRefKeyId: event.subjectRefKeyId,
    resource: event.resource,
    fields: event.fields,
    outcome: event.outcome,
    requestId: event.requestId,
    sourceIp: event.sourceIp,
    prevHash: event.prevHash,
    hash: event.hash,
  };
}
export type EventView = ReturnType<typeof eventView>;

export interface ListQuery {
  actorId?: string;
  identityId?: string;
  action?: AuditAction;
  outcome?: EventFilter['outcome'];
  from?: Date;
  to?: Date;
  limit: number;
  after?: string;
}

export function encodeCursor(position: ListPosition): string {
  // A malformed (tampered) document may have no usable time: resume after the epoch.
  const at = position.at instanceof Date ? position.at.getTime() : 0;
  const seq = Number.isInteger(position.seq) && position.seq > 0 ? position.seq : 1;
  return Buffer.from(JSON.stringify([at, String(position.stream), seq])).toString('base64url');
}

export function decodeCursor(cursor: string): ListPosition {
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

export interface AuditService extends AccessLog {
  list(
    query: ListQuery,
    context: RequestContext,
  ): Promise<{ items: EventView[]; next: string | null }>;
  verify(context: RequestContext): Promise<VerifyResult>;
  /** Records the export, then returns the filtered events' cursor in list order. */
  openExport(
    filter: Omit<ListQuery, 'limit' | 'after'>,
    context: RequestContext,
  ): Promise<AsyncIterable<AuditEventRecord> & { close(): Promise<void> }>;
  recordDenied: DeniedAccessRecorder;
}

export function createAuditService(deps: {
  store: AuditStore;
  writer: Pick<ChainWriter, 'append'>;
  keys: AuditKeys;
}): AuditService {
  const { store, writer, keys } = deps;
  const pseudonym = createSubjectPseudonym(keys);

  const record = async (input: AccessEventInput) => writer.append(toEvent(input, pseudonym));

  const toFilter = (query: Omit<ListQuery, 'limit' | 'after'>): EventFilter => ({
    actorId: query.actorId,
    subjectRef: query.identityId === undefined ? undefined : pseudonym.subjectRef(query.identityId),
    action: query.action,
    outcome: query.outcome,
    from: query.from,
    to: query.to,
  });

  const reviewEvent = (
    action: 'audit.read' | 'audit.verify' | 'audit.export',
    context: RequestContext,
    identityId?: string,
  ): AccessEventInput => ({
    context,
    action,
    purpose: 'security-review',
    outcome: 'SUCCESS',
    identityId: identityId ?? null,
    fields: [],
  });

  return {
    record,
    subjectRef: (identityId) => pseudonym.subjectRef(identityId),

    async list(query, context) {
      const after = query.after === undefined ? null : decodeCursor(query.after);
      // Fail closed: the read is on record before anything is read.
      await record(reviewEvent('audit.read', context, query.identityId));
      const page = await store.findPage(toFilter(query), after, query.limit + 1);
      const items = page.slice(0, query.limit);
      const last = items[items.length - 1];
      return {
        items: items.map(eventView),
        next: page.length > query.limit && last ? encodeCursor(last) : null,
      };
    },

    async verify(context) {
      await record(reviewEvent('audit.verify', context));
      return verifyLog(store, keys);
    },

    async openExport(filter, context) {
      await record(reviewEvent('audit.export', context, filter.identityId));
      const cursor = store.listCursor(toFilter(filter));
      return {
        async *[Symbol.asyncIterator]() {
          for await (const document of cursor) {
            const { _id, ...event } = document;
            void _id;
            yield event as AuditEventRecord;
          }
        },
        close: () => cursor.close(),
      };
    },

    async recordDenied(route, context) {
      const declared = route.personalData;
      if (!declared) return;
      const action = member<AuditAction>(declared.action, ACTIONS, 'personalData.action');
      const purpose = (declared as { purpose?: string }).purpose;
      await record({
        context,
        action,
        purpose:
          purpose && PURPOSES.has(purpose) ? (purpose as AuditPurpose) : DEFAULT_PURPOSE[action],
        outcome: 'DENIED',
        identityId: null,
        resourceId: null,
        fields: declared.fields,
      });
    },
  };
}
