import type { CrossBorderTransfer } from '../cross-border/jurisdiction';
import type { Actor, RequestContext } from '../http/route';

/** Closed list of what can be done to personal data (and to the log itself). */
export const AUDIT_ACTIONS = [
  'identity.create',
  'identity.read',
  'identity.update',
  'identity.export',
  'identity.delete',
  'identity.photo',
  'checkout.verify',
  'quota.read',
  'declaration.disclose',
  'shipment.disclose',
  'audit.read',
  'audit.export',
  'audit.verify',
  /** An auditor acknowledged a security alert (src/alerts/). */
  'audit.alert-ack',
  /** A legal hold opened for an authority's request (customs, court, regulator). */
  'identity.legal-hold-read',
  /** One pass of the retention job, with its counts. */
  'retention.run',
  /** An auditor opened or ended a session of the security console (src/console/). */
  'console.sign-in',
  'console.sign-out',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_OUTCOMES = ['SUCCESS', 'DENIED', 'FAILED'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Closed list of purposes; free text from a request can never become one. */
export const AUDIT_PURPOSES = [
  'identity-registration',
  'identity-correction',
  'subject-access-request',
  'subject-deletion-request',
  'customs-clearance',
  'checkout-verification',
  'delivery',
  'security-review',
  /** Keeping a record the law requires (a migration of the quota ledger to person keys). */
  'record-keeping',
  /** The person withdrew their consent (PIPL art. 15). */
  'consent-withdrawal',
  /** An authority's request for data kept under a legal hold (customs, court, regulator). */
  'legal-request',
] as const;
export type AuditPurpose = (typeof AUDIT_PURPOSES)[number];

/**
 * What a capability hands the access log. Only whitelisted, typed facts:
 * the subject is named by its identity id and pseudonymised inside the log.
 */
export interface AccessEventInput {
  /** Actor may be null for a request refused before authentication. */
  context: Omit<RequestContext, 'actor'> & { actor: Actor | null };
  action: AuditAction;
  purpose: AuditPurpose;
  outcome: AuditOutcome;
  /** The data subject, when known; stored only as an HMAC pseudonym (subjectRef). */
  identityId?: string | null;
  /** Id of the resource touched (identity, declaration, shipment...), when it has one. */
  resourceId?: string | null;
  /** Names of the personal fields touched, e.g. ['name', 'idNumber']; never their values. */
  fields: readonly string[];
  /**
   * Only when personal data went to a recipient outside mainland China: where,
   * and the basis (PIPL art. 38-39). Absent on every other event.
   */
  transfer?: CrossBorderTransfer | null;
  /** Only on a `retention.run` event: what the pass erased, destroyed and anonymised. */
  counts?: RetentionCounts | null;
}

/** What one retention pass did (or, dry, would do): non-negative integers. */
export interface RetentionCounts {
  identitiesErased: number;
  holdsDestroyed: number;
  recordsAnonymised: number;
}

/**
 * The access log every capability records through. `record` resolves only once
 * the event is durably written; it rejects with a 503 AppError when it cannot,
 * and the caller must then return no personal data (fail closed).
 */
export interface AccessLog {
  record(event: AccessEventInput): Promise<void>;
  /** The subjectRef pseudonym of an identity, for filtering the log by identity. */
  subjectRef(identityId: string): string;
}
