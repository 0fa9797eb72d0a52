import { auditedRead } from '../audit/audit-helpers';
import type { AccessLog } from '../audit/audit-types';
import { NotFound } from '../errors';
import type { RequestContext } from '../http/route';
import type { IdentityDirectory } from '../identities/identity-directory';
import { beijingYear } from '../beijing-time';
import { balances, personKeyOf } from './ledger';
import type { LedgerService } from './ledger-service';
import type { QuotaView } from './orders-types';

export interface QuotaService {
  /**
   * The buyer's quota for `year` (default: the current year in Beijing time).
   * What a person bought this year is about that person, so each read is an
   * access-log event, written before the figures are returned.
   */
  get(context: RequestContext, identityId: string, year?: number): Promise<QuotaView>;
}

export function createQuotaService({
  ledger,
  directory,
  accessLog,
  clock,
}: {
  ledger: LedgerService;
  directory: IdentityDirectory;
  accessLog: AccessLog;
  clock: () => Date;
}): QuotaService {
  return {
    get(context, identityId, year) {
      const access = {
        context,
        action: 'quota.read',
        purpose: 'checkout-verification',
        identityId,
        // The person is named by the event's pseudonym (subjectRef), never by the id in clear.
        resourceId: null,
        fields: ['quota'],
      } as const;
      return auditedRead(accessLog, access, async () => {
        const buyer = await directory.findBuyer(identityId);
        if (!buyer) throw new NotFound('identity');
        const now = clock();
        const quotaYear = year ?? beijingYear(now);
        // The person's allowance, shared by all their registrations.
        const state = await ledger.read(personKeyOf(buyer), quotaYear, now);
        return { year: quotaYear, ...balances(state) };
      });
    },
  };
}
