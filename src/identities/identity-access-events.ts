import type { AccessEventInput, AccessLog, AuditAction, AuditPurpose } from '../audit/audit-types';
import { DecryptionFailed } from '../errors';
import type { RequestContext } from '../http/route';
import {
  CORRECTABLE_FIELDS,
  IDENTITY_AND_PHOTO_FIELDS,
  IDENTITY_FIELDS,
  PHOTO_FIELD,
} from './personal-fields';

interface AccessKind {
  action: AuditAction;
  purpose: AuditPurpose;
  fields: readonly string[];
}

/**
 * What each identities use case records. The same action and fields mark its
 * route as personal-data access, so a refused request is logged alike.
 */
export const IDENTITY_ACCESS = {
  create: {
    action: 'identity.create',
    purpose: 'identity-registration',
    fields: IDENTITY_FIELDS,
  },
  read: { action: 'identity.read', purpose: 'checkout-verification', fields: IDENTITY_FIELDS },
  /** A correction's event names only the fields it changed. */
  update: { action: 'identity.update', purpose: 'identity-correction', fields: CORRECTABLE_FIELDS },
  /** The export also decrypts the consignees of the person's orders and reads their quota. */
  export: {
    action: 'identity.export',
    purpose: 'subject-access-request',
    fields: [
      ...IDENTITY_AND_PHOTO_FIELDS,
      'consignee.name',
      'consignee.phone',
      'consignee.address',
      'quota',
    ],
  },
  photo: { action: 'identity.photo', purpose: 'identity-registration', fields: [PHOTO_FIELD] },
  /** Withdrawing the consent changes the record's consent; no personal field is read. */
  withdrawConsent: {
    action: 'identity.update',
    purpose: 'consent-withdrawal',
    fields: ['consent'],
  },
  delete: {
    action: 'identity.delete',
    purpose: 'subject-deletion-request',
    fields: IDENTITY_AND_PHOTO_FIELDS,
  },
} as const satisfies Record<string, AccessKind>;

/** One access to one identity: what the event will say. */
export interface AccessFacts extends AccessKind {
  identityId: string;
}

export interface IdentityAccessEvents {
  /**
   * Runs a read and records it before anything is returned (fail closed: if
   * the log cannot be written, the caller gets a 503 and no data). A
   * decryption failure is recorded as FAILED and answered with a bare 500.
   */
  read<T>(ctx: RequestContext, facts: AccessFacts, work: () => Promise<T>): Promise<T>;
  /** Runs `work`; a decryption failure is recorded as FAILED before it goes on. */
  decrypting<T>(ctx: RequestContext, facts: AccessFacts, work: () => Promise<T>): Promise<T>;
  /** Records a write that has happened; when the log refuses, `undo` reverts it before the error goes on. */
  written(ctx: RequestContext, facts: AccessFacts, undo: () => Promise<void>): Promise<void>;
}

export function createIdentityAccessEvents(accessLog: AccessLog): IdentityAccessEvents {
  const event = (
    ctx: RequestContext,
    facts: AccessFacts,
    outcome: AccessEventInput['outcome'],
  ): AccessEventInput => ({
    context: ctx,
    action: facts.action,
    purpose: facts.purpose,
    outcome,
    identityId: facts.identityId,
    // The person is named by the event's pseudonym (subjectRef), never by the id in clear.
    resourceId: null,
    fields: facts.fields,
  });

  async function decrypting<T>(ctx: RequestContext, facts: AccessFacts, work: () => Promise<T>) {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DecryptionFailed) {
        await accessLog.record(event(ctx, facts, 'FAILED')).catch(() => undefined);
      }
      throw error;
    }
  }

  return {
    decrypting,
    async read(ctx, facts, work) {
      const value = await decrypting(ctx, facts, work);
      await accessLog.record(event(ctx, facts, 'SUCCESS'));
      return value;
    },
    async written(ctx, facts, undo) {
      try {
        await accessLog.record(event(ctx, facts, 'SUCCESS'));
      } catch (error) {
        await undo().catch(() => undefined);
        throw error;
      }
    },
  };
}
