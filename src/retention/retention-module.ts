import type { Connection } from 'mongoose';
import type { AccessLog } from '../audit/audit-types';
import type { Config } from '../config';
import type { Keyring } from '../crypto/keyring';
import type { RouteDefinition } from '../http/route';
import type { OrdersOfPerson } from '../identities/export-ports';
import type { IdentityErasure } from '../identities/identities-module';
import type { ErasureHold } from '../identities/legal-hold-port';
import type { Logger } from '../logger';
import { createLegalHoldsService } from './legal-holds-service';
import { createDisclosureAnonymiser, createLegalHoldsStore } from './legal-holds-store';
import { createRetentionService, type RetentionService } from './retention-service';
import { retentionRoutes } from './retention-routes';
import type { OrderActivityOf, OrderAnonymiser } from './retention-types';

export interface LegalHoldsModule {
  routes: RouteDefinition[];
  /** The port identities erasure calls before it destroys a key. */
  erasureHold: ErasureHold;
  ensureIndexes(): Promise<void>;
  /** The retention job, once identities can erase (built after the identities module). */
  withErasure(identities: IdentityErasure, logger: Logger): RetentionModule;
}

export interface RetentionModule extends RetentionService {
  routes: RouteDefinition[];
  /** Starts the in-process job (RETENTION_JOB_INTERVAL_MS; 0: never). */
  start(): void;
  stop(): Promise<void>;
}

/**
 * Legal holds and the retention job. Built in two steps because each side
 * needs the other's port: holds first (identities erasure writes one before
 * it destroys a key), the job after identities (it erases through them).
 */
export function createLegalHoldsModule(
  deps: {
    connection: Connection;
    keyring: Pick<Keyring, 'retentionKey' | 'retentionKeyVersion'>;
    records: { orders: OrdersOfPerson; activity: OrderActivityOf; anonymiser: OrderAnonymiser };
    accessLog: AccessLog;
    clock?: () => Date;
    maintenance?: boolean;
  },
  config: Pick<Config, 'retention'>,
): LegalHoldsModule {
  const clock = deps.clock ?? (() => new Date());
  const store = createLegalHoldsStore(deps.connection);
  const holds = createLegalHoldsService({
    store,
    keyring: deps.keyring,
    orders: deps.records.orders,
    activity: deps.records.activity,
    accessLog: deps.accessLog,
    transactionYears: config.retention.transactionYears,
    clock,
  });
  return {
    routes: retentionRoutes(holds),
    erasureHold: holds,
    ensureIndexes: () => store.ensureIndexes(),
    withErasure(identities, logger) {
      const service = createRetentionService({
        identities,
        holds,
        holdsStore: store,
        activity: deps.records.activity,
        orders: deps.records.anonymiser,
        records: createDisclosureAnonymiser(deps.connection),
        accessLog: deps.accessLog,
        inactiveIdentityYears: config.retention.inactiveIdentityYears,
      });
      const intervalMs = deps.maintenance ? 0 : config.retention.jobIntervalMs;
      return { routes: [], ...service, ...schedule(service, { clock, logger, intervalMs }) };
    },
  };
}

/** The in-process job: one pass per interval, never two at once; stop waits for a pass under way. */
function schedule(
  service: RetentionService,
  { clock, logger, intervalMs }: { clock: () => Date; logger: Logger; intervalMs: number },
): { start(): void; stop(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  const runNow = () => {
    if (running) return;
    running = service
      .runRetention({ dryRun: false, now: clock(), batchSize: 200 })
      .then((report) => logger.info({ retention: report }, 'retention pass finished'))
      .catch((error: unknown) =>
        logger.warn(
          { errorClass: (error as Error)?.constructor?.name },
          'retention pass failed; the next one resumes it',
        ),
      )
      .finally(() => {
        running = null;
      });
  };
  return {
    start() {
      if (timer || intervalMs === 0) return;
      timer = setInterval(runNow, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
