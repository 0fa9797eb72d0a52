import { randomUUID } from 'node:crypto';
import type { AccessLog, RetentionCounts } from '../audit/audit-types';
import { NotFound } from '../errors';
import type { RequestContext } from '../http/route';
import type { ActiveIdentity, IdentityErasure } from '../identities/identities-module';
import { ANONYMISED } from '../quota/orders-types';
import type { LegalHoldsService } from './legal-holds-service';
import type {
  LegalHoldRecord,
  LegalHoldsStore,
  OrderActivity,
  OrderActivityOf,
  OrderAnonymiser,
  RetentionReport,
  RetentionRunOptions,
} from './retention-types';

/** The actor the access log names for the job's erasures and runs (like the quota migration's). */
const RETENTION_CONTEXT: RequestContext = {
  actor: { clientId: 'retention-job', role: 'admin', partnerCode: null },
  requestId: 'retention-job',
  sourceIp: 'unknown',
  route: '/jobs/retention',
};

/** Statuses of an order still under way: its person is not inactive. */
const OPEN = new Set(['APPROVED', 'CONFIRMED']);

export interface RetentionDeps {
  identities: IdentityErasure;
  holds: Pick<LegalHoldsService, 'plan'>;
  holdsStore: Pick<LegalHoldsStore, 'listExpired' | 'countExpired' | 'destroy'>;
  activity: OrderActivityOf;
  orders: OrderAnonymiser;
  records: { anonymiseRecords(identityId: string, anonymised: string): Promise<number> };
  accessLog: AccessLog;
  inactiveIdentityYears: number;
}

export interface RetentionService {
  runRetention(options: RetentionRunOptions): Promise<RetentionReport>;
}

function yearsBefore(at: Date, years: number): Date {
  const result = new Date(at.getTime());
  result.setUTCFullYear(result.getUTCFullYear() - years);
  return result;
}

/**
 * Due for erasure: no order open, and either consent withdrawn (what rested on
 * it ends; what the law keeps goes to a hold) or the last order activity (or
 * the registration) before the cutoff.
 */
function isInactive(identity: ActiveIdentity, orders: OrderActivity[], cutoff: Date): boolean {
  if (orders.some((order) => OPEN.has(order.status))) return false;
  if (identity.consentWithdrawnAt !== null) return true;
  const last = Math.max(
    identity.createdAt.getTime(),
    ...orders.map((order) => Math.max(order.lastChangeAt.getTime(), order.orderedAt.getTime())),
  );
  return last < cutoff.getTime();
}

/**
 * One pass of the retention job: (a) erases identities inactive for the
 * configured period, through the same path as DELETE (hold, then key); (b)
 * destroys the sealed data of holds whose period ended and anonymises their
 * records. Each step is per identity or hold and safe to repeat, so a pass
 * that stopped half way is finished by the next. A dry run counts what a
 * real one would do and changes nothing. Every pass is one access-log event
 * with its counts.
 */
export function createRetentionService(deps: RetentionDeps): RetentionService {
  async function eraseInactive(
    options: RetentionRunOptions,
    counts: RetentionCounts,
    progress: () => void,
  ): Promise<void> {
    const cutoff = yearsBefore(options.now, deps.inactiveIdentityYears);
    let after: string | null = null;
    for (;;) {
      const batch = await deps.identities.listActive(after, options.batchSize);
      if (batch.length === 0) return;
      for (const identity of batch) {
        after = identity.identityId;
        const orders = await deps.activity.ofIdentity(identity.identityId);
        if (isInactive(identity, orders, cutoff)) {
          if (options.dryRun) await countErasure(identity.identityId, orders, options.now, counts);
          else if (await erase(identity.identityId)) counts.identitiesErased += 1;
        }
        progress();
      }
    }
  }

  /** What erasing it would do: one identity, and its hold at once when already ended. */
  async function countErasure(
    identityId: string,
    orders: OrderActivity[],
    now: Date,
    counts: RetentionCounts,
  ): Promise<void> {
    counts.identitiesErased += 1;
    const plan = await deps.holds.plan(identityId, now);
    if (plan && plan.heldUntil.getTime() <= now.getTime()) {
      counts.holdsDestroyed += 1;
      counts.recordsAnonymised += orders.length;
    }
  }

  async function erase(identityId: string): Promise<boolean> {
    try {
      await deps.identities.erase(RETENTION_CONTEXT, identityId);
      return true;
    } catch (error) {
      // Deleted meanwhile (a DELETE, another instance's pass): nothing left to do.
      if (error instanceof NotFound) return false;
      throw error;
    }
  }

  async function endHolds(
    options: RetentionRunOptions,
    counts: RetentionCounts,
    progress: () => void,
  ): Promise<void> {
    let after: string | null = null;
    for (;;) {
      const batch = await deps.holdsStore.listExpired(options.now, after, options.batchSize);
      if (batch.length === 0) return;
      for (const hold of batch) {
        after = hold.holdId;
        counts.recordsAnonymised += await endHold(hold, options);
        counts.holdsDestroyed += 1;
        progress();
      }
    }
  }

  /** Records first, the sealed data last: a pass stopped in between finds the hold still HELD. */
  async function endHold(hold: LegalHoldRecord, options: RetentionRunOptions): Promise<number> {
    if (options.dryRun) return (await deps.activity.ofIdentity(hold.identityId)).length;
    const orders = await deps.orders.anonymiseOrders(hold.identityId);
    await deps.records.anonymiseRecords(hold.identityId, ANONYMISED);
    await deps.holdsStore.destroy(hold.holdId, options.now);
    return orders;
  }

  return {
    async runRetention(options) {
      const counts: RetentionCounts = {
        identitiesErased: 0,
        holdsDestroyed: 0,
        recordsAnonymised: 0,
      };
      const total =
        (await deps.identities.countActive()) + (await deps.holdsStore.countExpired(options.now));
      let examined = 0;
      const progress = () => {
        examined += 1;
        options.onProgress?.(examined, Math.max(total, examined));
      };
      await eraseInactive(options, counts, progress);
      await endHolds(options, counts, progress);
      await deps.accessLog.record({
        context: { ...RETENTION_CONTEXT, requestId: `retention-${randomUUID()}` },
        action: 'retention.run',
        purpose: 'record-keeping',
        outcome: 'SUCCESS',
        identityId: null,
        resourceId: options.dryRun ? 'dry-run' : 'apply',
        fields: [],
        counts,
      });
      return { ...counts, dryRun: options.dryRun, examined };
    },
  };
}
