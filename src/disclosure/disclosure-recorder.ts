import { randomUUID } from 'node:crypto';
import type { AccessLog } from '../audit/audit-types';
import type { PartnerProfiles } from '../clients/clients-types';
import { isAbroad, isCountryCode, type CrossBorderTransfer } from '../cross-border/jurisdiction';
import { AppError, DecryptionFailed, NotFound } from '../errors';
import type { RequestContext } from '../http/route';
import type { IdentityDirectory } from '../identities/identity-directory';
import type { OrderLifecycle } from '../quota/order-lifecycle-types';
import {
  applyDisclosurePolicy,
  DISCLOSURE_POLICY,
  disclosedFields,
  type Disclosure,
  type PartnerRole,
  sourceGroupsOf,
  type PersonalSource,
} from './disclosure-policy';
import type { DisclosureReceipt, PartnerRecord, ReceiptsStore } from './disclosure-types';

/**
 * What one record's payload may carry: the policy's personal part, or
 * nothing, with the reason (`WITHDRAWN`: the order was cancelled, the purpose
 * is gone; `RESTRICTED`: the subject's data can no longer be decrypted, e.g.
 * the identity was deleted).
 */
export type DisclosureOutcome =
  | { kind: 'DISCLOSED'; disclosure: Disclosure }
  | { kind: 'WITHHELD'; reason: 'WITHDRAWN' | 'RESTRICTED' };

export interface DisclosureRecorderDeps {
  accessLog: AccessLog;
  receipts: ReceiptsStore;
  orders: Pick<OrderLifecycle, 'revealConsignee'>;
  identities: Pick<IdentityDirectory, 'revealBuyer'>;
  /** Where the partner asking is, and its cross-border basis when abroad. */
  partners: PartnerProfiles;
  now?: () => Date;
}

/** Where the recipient is; `transfer` only when that is outside mainland China. */
interface RecipientPlace {
  country: string;
  transfer: CrossBorderTransfer | null;
}

/**
 * The asking partner's jurisdiction, as registered. A partner without one
 * (registered before it was asked), or abroad without a basis, receives
 * nothing: a transfer abroad needs a basis first (PIPL art. 38-39).
 */
async function placeOf(partners: PartnerProfiles, clientId: string): Promise<RecipientPlace> {
  const profile = await partners.describe(clientId);
  const country = profile?.jurisdiction ?? null;
  if (country === null || !isCountryCode(country)) {
    throw new AppError(
      'FORBIDDEN',
      403,
      "This partner's jurisdiction is not recorded: register the client again with its jurisdiction.",
    );
  }
  if (!isAbroad(country)) return { country, transfer: null };
  const basis = profile?.crossBorderBasis ?? null;
  if (basis === null) {
    throw new AppError(
      'FORBIDDEN',
      403,
      'This partner is outside mainland China and has no cross-border basis recorded.',
    );
  }
  return { country, transfer: { country, basis } };
}

const RESOURCE_TYPE: Record<PartnerRole, DisclosureReceipt['resourceType']> = {
  customs: 'declaration',
  carrier: 'shipment',
};

/** Reveals run a few at a time: a page of 100 must not open 200 decryptions at once. */
const REVEAL_CONCURRENCY = 8;

async function inBatches<T, U>(
  items: readonly T[],
  size: number,
  map: (item: T) => Promise<U>,
): Promise<U[]> {
  const results: U[] = [];
  for (let start = 0; start < items.length; start += size) {
    results.push(...(await Promise.all(items.slice(start, start + size).map(map))));
  }
  return results;
}

export interface DisclosureRecorder {
  /**
   * Applies the role's policy to each record and records every disclosure
   * (access-log event, then receipt) before returning: if either cannot be
   * written, this rejects and the caller returns no data (fail closed).
   */
  disclose<R extends PartnerRecord<string>>(
    context: RequestContext,
    role: PartnerRole,
    records: readonly R[],
    isWithdrawn: (record: R) => boolean,
    /**
     * Builds the answer from the revealed values before anything is recorded
     * (the CEB621 message can still be refused as incomplete). When it throws,
     * nothing went out: the accesses are recorded FAILED, no receipt is
     * written, and the error goes to the caller.
     */
    prepare?: (outcomes: readonly DisclosureOutcome[]) => void,
  ): Promise<DisclosureOutcome[]>;
  /** A lookup of a record this partner may not see (or that does not exist): a DENIED event. */
  recordNotFound(context: RequestContext, role: PartnerRole, requestedId: string): Promise<void>;
}

type RevealDeps = Pick<DisclosureRecorderDeps, 'orders' | 'identities'>;

/** The decrypted personal values the role's policy reads, or null when they can no longer be read. */
async function reveal(
  deps: RevealDeps,
  role: PartnerRole,
  record: PartnerRecord<string>,
): Promise<PersonalSource | null> {
  // A carrier's disclosure never decrypts the buyer: only what the policy reads is revealed.
  const groups = sourceGroupsOf(role);
  try {
    const [buyer, consignee] = await Promise.all([
      groups.has('buyer') ? deps.identities.revealBuyer(record.identityId) : undefined,
      groups.has('consignee') ? deps.orders.revealConsignee(record.orderNo) : undefined,
    ]);
    return { ...(buyer ? { buyer } : {}), ...(consignee ? { consignee } : {}) };
  } catch (error) {
    if (error instanceof DecryptionFailed || error instanceof NotFound) return null;
    throw error;
  }
}

async function outcomeOf(
  deps: RevealDeps,
  role: PartnerRole,
  record: PartnerRecord<string>,
  withdrawn: boolean,
): Promise<DisclosureOutcome> {
  if (withdrawn) return { kind: 'WITHHELD', reason: 'WITHDRAWN' };
  const source = await reveal(deps, role, record);
  return source
    ? { kind: 'DISCLOSED', disclosure: applyDisclosurePolicy(role, source) }
    : { kind: 'WITHHELD', reason: 'RESTRICTED' };
}

/**
 * One access-log event per record the partner asked for: SUCCESS when
 * disclosed, FAILED when restricted. A withdrawn record reveals nothing, so
 * there is no access to log.
 */
async function logAccesses(
  accessLog: AccessLog,
  context: RequestContext,
  role: PartnerRole,
  records: readonly PartnerRecord<string>[],
  outcomes: readonly DisclosureOutcome[],
  place: RecipientPlace,
): Promise<void> {
  const policy = DISCLOSURE_POLICY[role];
  const fields = disclosedFields(role);
  await Promise.all(
    records.flatMap((record, index) => {
      const outcome = outcomes[index]!;
      if (outcome.kind === 'WITHHELD' && outcome.reason === 'WITHDRAWN') return [];
      const disclosed = outcome.kind === 'DISCLOSED';
      return [
        accessLog.record({
          context,
          action: policy.action,
          purpose: policy.purpose,
          outcome: disclosed ? 'SUCCESS' : 'FAILED',
          identityId: record.identityId,
          resourceId: record.id,
          fields,
          // Only what actually left the mainland is marked: a FAILED event disclosed nothing.
          ...(disclosed && place.transfer ? { transfer: place.transfer } : {}),
        }),
      ];
    }),
  );
}

/** A receipt for each record whose personal data was disclosed. */
function receiptsOf(
  context: RequestContext,
  role: PartnerRole,
  records: readonly PartnerRecord<string>[],
  outcomes: readonly DisclosureOutcome[],
  at: Date,
  place: RecipientPlace,
): DisclosureReceipt[] {
  const fields = disclosedFields(role);
  return records.flatMap((record, index) =>
    outcomes[index]!.kind === 'DISCLOSED'
      ? [
          {
            id: randomUUID(),
            at,
            identityId: record.identityId,
            partnerCode: record.partnerCode,
            clientId: context.actor.clientId,
            role,
            fields,
            purpose: DISCLOSURE_POLICY[role].purpose,
            resourceType: RESOURCE_TYPE[role],
            resourceId: record.id,
            orderNo: record.orderNo,
            requestId: context.requestId,
            country: place.country,
            ...(place.transfer ? { crossBorderBasis: place.transfer.basis } : {}),
          },
        ]
      : [],
  );
}

export function createDisclosureRecorder(deps: DisclosureRecorderDeps): DisclosureRecorder {
  const now = deps.now ?? (() => new Date());
  return {
    async disclose(context, role, records, isWithdrawn, prepare) {
      // Before anything is decrypted: a partner that may not receive it gets nothing.
      const place = await placeOf(deps.partners, context.actor.clientId);
      const outcomes = await inBatches(records, REVEAL_CONCURRENCY, (record) =>
        outcomeOf(deps, role, record, isWithdrawn(record)),
      );
      try {
        prepare?.(outcomes);
      } catch (error) {
        const undelivered = outcomes.map((outcome): DisclosureOutcome =>
          outcome.kind === 'DISCLOSED' ? { kind: 'WITHHELD', reason: 'RESTRICTED' } : outcome,
        );
        await logAccesses(deps.accessLog, context, role, records, undelivered, place);
        throw error;
      }
      await logAccesses(deps.accessLog, context, role, records, outcomes, place);
      await deps.receipts.insertMany(receiptsOf(context, role, records, outcomes, now(), place));
      return outcomes;
    },

    async recordNotFound(context, role, requestedId) {
      const policy = DISCLOSURE_POLICY[role];
      await deps.accessLog.record({
        context,
        action: policy.action,
        purpose: policy.purpose,
        outcome: 'DENIED',
        identityId: null,
        resourceId: requestedId,
        fields: [],
      });
    },
  };
}
