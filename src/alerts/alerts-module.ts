import type { Connection } from 'mongoose';
import { Gauge, type Metric } from 'prom-client';
import type { AccessLogModule } from '../audit/access-log';
import type { ClientsModule } from '../clients/clients-module';
import type { Config } from '../config';
import type { RouteDefinition } from '../http/route';
import type { Logger } from '../logger';
import { AlertEvaluator } from './alert-evaluator';
import { loadAlertRules } from './alert-rules';
import { ALERT_RULES, type AlertsStore } from './alert-types';
import { createAlertsService } from './alerts-service';
import { alertsRoutes } from './alerts-routes';
import { createAlertsStore } from './alerts-store';

export interface AlertsModule {
  routes: RouteDefinition[];
  ensureIndexes(): Promise<void>;
  /** Waits for the alerts counted so far to be written. */
  stop(): Promise<void>;
  /** `audit_alerts_open{rule}`, for the app's registry. */
  metrics: Metric[];
}

/**
 * Security alerts (docs/access-log.md, "Alerts"): rules evaluated on every
 * event the access log writes, a revoked key presented, and a failed verify.
 */
export function createAlertsModule(
  {
    connection,
    accessLog,
    clients,
    logger,
    clock = () => new Date(),
  }: {
    connection: Connection;
    accessLog: Pick<AccessLogModule, 'record' | 'onRecorded' | 'onVerifyFailed'>;
    clients: Pick<ClientsModule, 'onRevokedKey'>;
    logger: Logger;
    clock?: () => Date;
  },
  config: Pick<Config, 'alerts'>,
): AlertsModule {
  const store = createAlertsStore(connection);
  const evaluator = new AlertEvaluator({
    rules: loadAlertRules(config.alerts),
    store,
    logger,
    clock,
  });
  accessLog.onRecorded((event) => evaluator.observe(event));
  accessLog.onVerifyFailed(() => evaluator.integrityFailed());
  clients.onRevokedKey((clientId) => evaluator.revokedKeyPresented(clientId));
  return {
    routes: alertsRoutes(createAlertsService({ store, accessLog, clock })),
    ensureIndexes: () => store.ensureIndexes(),
    stop: () => evaluator.drain(),
    metrics: [openAlertsGauge(store, logger)],
  };
}

/** Counted from the collection at each scrape: the same on every instance. */
function openAlertsGauge(store: Pick<AlertsStore, 'countOpen'>, logger: Logger): Metric {
  return new Gauge({
    name: 'audit_alerts_open',
    help: 'Security alerts not yet acknowledged, by rule; page on > 0',
    labelNames: ['rule'],
    // Registered by the app on its own registry (one per app), not on prom-client's global one.
    registers: [],
    async collect() {
      try {
        for (const rule of ALERT_RULES) this.set({ rule }, await store.countOpen(rule));
      } catch (error) {
        // A failed count leaves the last values: /metrics still answers.
        logger.warn(
          { errorClass: (error as Error)?.constructor?.name },
          'open alerts not counted for /metrics',
        );
      }
    },
  });
}
