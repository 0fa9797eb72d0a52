import type { Connection } from 'mongoose';
import type { Metric } from 'prom-client';
import type { Config } from '../config';
import type { RouteDefinition } from '../http/route';
import type { Logger } from '../logger';
import { createOverdueChecker, createOverdueSchedule } from './overdue-check';
import { privacyRequestsRoutes } from './privacy-requests-routes';
import { createPrivacyRequestsService } from './privacy-requests-service';
import { createPrivacyRequestsStore } from './privacy-requests-store';
import type { OverdueCheck } from './privacy-requests-types';

export interface PrivacyRequestsModule {
  routes: RouteDefinition[];
  /** The overdue gauges, for the app's metrics registry. */
  metrics: Metric[];
  ensureIndexes(): Promise<void>;
  /** Starts the periodic overdue check. */
  start(): void;
  stop(): Promise<void>;
  /** What the periodic job runs: tests call it with a chosen time. */
  checkOverdue(now: Date): Promise<OverdueCheck>;
}

/** The register of a person's requests and the alert on overdue ones. */
export function createPrivacyRequestsModule(
  deps: { connection: Connection; logger: Logger; clock?: () => Date },
  config: Pick<Config, 'privacyRequests'>,
): PrivacyRequestsModule {
  const clock = deps.clock ?? (() => new Date());
  const store = createPrivacyRequestsStore(deps.connection);
  const service = createPrivacyRequestsService({ store, clock });
  const checker = createOverdueChecker({ store, logger: deps.logger });
  const schedule = createOverdueSchedule({
    checker,
    clock,
    logger: deps.logger,
    intervalMs: config.privacyRequests.checkIntervalMs,
  });
  return {
    routes: privacyRequestsRoutes(service),
    metrics: checker.metrics,
    ensureIndexes: () => store.ensureIndexes(),
    start: schedule.start,
    stop: schedule.stop,
    checkOverdue: (now) => checker.checkOverdue(now),
  };
}
