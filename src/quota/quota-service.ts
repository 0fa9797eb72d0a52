import { NotFound } from '../errors';
import type { IdentityDirectory } from '../identities/identity-directory';
import { beijingYear } from './beijing-time';
import { balances } from './ledger';
import type { LedgerService } from './ledger-service';
import type { QuotaView } from './orders-types';

export interface QuotaService {
  /** The buyer's quota for `year` (default: the current year in Beijing time). */
  get(identityId: string, year?: number): Promise<QuotaView>;
}

export function createQuotaService({
  ledger,
  directory,
  clock,
}: {
  ledger: LedgerService;
  directory: IdentityDirectory;
  clock: () => Date;
}): QuotaService {
  return {
    async get(identityId, year) {
      if (!(await directory.findBuyer(identityId))) throw new NotFound('identity');
      const now = clock();
      const quotaYear = year ?? beijingYear(now);
      const state = await ledger.read(identityId, quotaYear, now);
      return { year: quotaYear, ...balances(state) };
    },
  };
}
