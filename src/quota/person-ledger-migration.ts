import type { RequestContext } from '../http/route';
import type { PersonRefBackfill } from '../identities/person-ref-backfill';
import type { LedgerEntry } from './ledger';
import type { LedgerService } from './ledger-service';
import type { LedgerStore } from './ledger-store';
import type { OrdersStore } from './orders-types';

/**
 * Moves what a registration counted against its own ledger (before ledgers
 * were kept per person) onto its person's ledger: every entry of every year,
 * then its orders and holds. Idempotent: an entry already on the person's
 * ledger is left as it is, so a run stopped half way is finished by running
 * it again. The old ledger stays as it was, a record of what was decided then.
 *
 * Entries are copied with their status as they stand. Two registrations of
 * one person may together have used more than the year's limit: the person's
 * remaining allowance is then negative and further orders are refused, which
 * is what customs would do.
 */
export interface LedgerMover {
  moveToPerson(identityId: string, personRef: string, now: Date): Promise<MovedLedgers>;
}

export interface MovedLedgers {
  years: number;
  entries: number;
  orders: number;
}

export function createLedgerMover(deps: {
  ledger: LedgerService;
  ledgerStore: Pick<LedgerStore, 'yearsOf'>;
  ordersStore: Pick<OrdersStore, 'assignPersonKey'>;
}): LedgerMover {
  return {
    async moveToPerson(identityId, personRef, now) {
      const years = await deps.ledgerStore.yearsOf(identityId);
      let entries = 0;
      for (const year of years) {
        const own = await deps.ledger.read(identityId, year, now);
        for (const [orderNo, entry] of own.entries) {
          if (await copyEntry(deps.ledger, personRef, year, orderNo, entry)) entries += 1;
        }
      }
      const orders = await deps.ordersStore.assignPersonKey(identityId, personRef);
      return { years: years.length, entries, orders };
    },
  };
}

/** One entry onto the person's ledger of that year, unless it is there already. */
async function copyEntry(
  ledger: LedgerService,
  personRef: string,
  year: number,
  orderNo: string,
  entry: LedgerEntry,
): Promise<boolean> {
  const { result } = await ledger.update(personRef, year, entry.at, (state) =>
    state.entries.has(orderNo)
      ? { result: false }
      : {
          result: true,
          change: {
            orderNo,
            from: null,
            to: entry.status,
            amountFen: entry.amountFen,
            at: entry.at,
            confirmedAt: entry.confirmedAt,
            releasedAt: entry.releasedAt,
          },
        },
  );
  return result;
}

export interface MigrationOptions {
  batchSize: number;
  /** Names the run in the access log. */
  runId: string;
  onIdentity?(done: number): void | Promise<void>;
}

export interface MigrationReport extends MovedLedgers {
  identities: number;
}

/** The actor the access log names for the migration's reads of id numbers. */
const MIGRATION_CONTEXT: RequestContext = {
  actor: { clientId: 'quota-migration', role: 'admin', partnerCode: null },
  requestId: 'quota-migration',
  sourceIp: 'unknown',
  route: '/cli/quota/migrate',
};

/**
 * `npm run quota:migrate`: every identity without a person key gets one, and
 * its ledgers, orders and holds move onto its person's. Run it with the
 * service stopped (a deploy step before the new version starts): a verify
 * running meanwhile could still count against the registration's own ledger.
 */
export async function migrateToPersonLedgers(
  deps: { personRefs: PersonRefBackfill; mover: LedgerMover; clock: () => Date },
  options: MigrationOptions,
): Promise<MigrationReport> {
  const report: MigrationReport = { identities: 0, years: 0, entries: 0, orders: 0 };
  const { assigned } = await deps.personRefs.run({
    batchSize: options.batchSize,
    context: { ...MIGRATION_CONTEXT, requestId: `quota-migration-${options.runId}` },
    onIdentity: options.onIdentity,
    async beforeAssign(identityId, personRef) {
      const moved = await deps.mover.moveToPerson(identityId, personRef, deps.clock());
      report.years += moved.years;
      report.entries += moved.entries;
      report.orders += moved.orders;
    },
  });
  report.identities = assigned;
  return report;
}
