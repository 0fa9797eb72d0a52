import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import {
  CROSS_BORDER_BASES,
  isAbroad,
  type CrossBorderTransfer,
} from '../cross-border/jurisdiction';
import { InternalError } from '../errors';
import { ROLES, type Actor, type PersonalDataAccess } from '../http/route';
import type { UnchainedEvent } from './audit-chain';
import type { AuditKeys } from './audit-keys';
import {
  AUDIT_ACTIONS,
  AUDIT_OUTCOMES,
  AUDIT_PURPOSES,
  type AccessEventInput,
  type AuditAction,
  type AuditPurpose,
  type RetentionCounts,
} from './audit-types';

/** The purpose each action serves, for a denied attempt: no use case ran to name one. */
const DEFAULT_PURPOSE: Record<AuditAction, AuditPurpose> = {
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
  'audit.alert-ack': 'security-review',
  'identity.legal-hold-read': 'legal-request',
  'retention.run': 'record-keeping',
  'console.sign-in': 'security-review',
  'console.sign-out': 'security-review',
};

const ACTIONS = new Set<string>(AUDIT_ACTIONS);
const PURPOSES = new Set<string>(AUDIT_PURPOSES);
const OUTCOMES = new Set<string>(AUDIT_OUTCOMES);
const ROLE_SET = new Set<string>(ROLES);
const BASES = new Set<string>(CROSS_BORDER_BASES);
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

function checkedActor(actor: Actor | null): Actor | null {
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

/** A transfer abroad: an ISO country other than CN, and a basis from the closed list. */
function checkedTransfer(transfer: CrossBorderTransfer): CrossBorderTransfer {
  if (typeof transfer !== 'object' || typeof transfer.country !== 'string') reject('transfer');
  if (!isAbroad(transfer.country)) reject('transfer.country');
  return {
    country: transfer.country,
    basis: member<CrossBorderTransfer['basis']>(transfer.basis, BASES, 'transfer.basis'),
  };
}

const COUNT_NAMES = ['identitiesErased', 'holdsDestroyed', 'recordsAnonymised'] as const;

/** Exactly the three counts, each a non-negative safe integer. */
function checkedCounts(counts: RetentionCounts): RetentionCounts {
  if (typeof counts !== 'object' || Object.keys(counts).length !== COUNT_NAMES.length) {
    reject('counts');
  }
  const valid = (value: unknown) =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  if (!COUNT_NAMES.every((name) => valid(counts[name]))) reject('counts');
  return {
    identitiesErased: counts.identitiesErased,
    holdsDestroyed: counts.holdsDestroyed,
    recordsAnonymised: counts.recordsAnonymised,
  };
}

export interface SubjectPseudonym {
  subjectRef(identityId: string): string;
  keyId: string;
}

export function createSubjectPseudonym(
  keys: Pick<AuditKeys, 'subjectRefKey' | 'subjectRefKeyId'>,
): SubjectPseudonym {
  return {
    // Read when used: the keys may be loaded only at start (src/deferred.ts).
    get keyId() {
      return keys.subjectRefKeyId;
    },
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
    actor: checkedActor(context.actor),
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
    ...(input.transfer == null ? {} : { transfer: checkedTransfer(input.transfer) }),
    ...(input.counts == null ? {} : { counts: checkedCounts(input.counts) }),
  };
}

/** The DENIED event of a request refused (401/403) on a route that touches personal data. */
export function deniedAccess(
  declared: PersonalDataAccess,
  context: AccessEventInput['context'],
): AccessEventInput {
  // Routes name their action as a plain string: it must be one of the log's.
  const action = member<AuditAction>(declared.action, ACTIONS, 'personalData.action');
  return {
    context,
    action,
    purpose: DEFAULT_PURPOSE[action],
    outcome: 'DENIED',
    identityId: null,
    resourceId: null,
    fields: declared.fields,
  };
}
