import type { Connection } from 'mongoose';
import type { AccessLog } from '../audit/audit-types';
import type { Config } from '../config';
import type { FieldCipher } from '../crypto/field-cipher-types';
import type { RouteDefinition } from '../http/route';
import type { IdentityDirectory } from '../identities/identity-directory';
import type { Logger } from '../logger';
import { createCheckoutService } from './checkout-service';
import { createCustomsQuotaSimulator, type CustomsQuotaQuery } from './customs-quota';
import { createLedgerService } from './ledger-service';
import { createLedgerStore } from './ledger-store';
import { createOrderLifecycleService, type OrderLifecycleService } from './order-lifecycle-service';
import { createOrdersStore } from './orders-store';
import { loadPolicy, type CbecPolicy } from './policy';
import { createQuotaService } from './quota-service';
import { quotaRoutes } from './quota-routes';

export interface QuotaModule {
  routes: RouteDefinition[];
  /** For disclosure (OrderLifecycle) and for tests (sweep with a chosen clock). */
  lifecycle: OrderLifecycleService;
  policy: CbecPolicy;
  ensureIndexes(): Promise<void>;
  /** Starts the reservation sweeper. */
  start(): void;
  stop(): Promise<void>;
}

export interface QuotaModuleDeps {
  connection: Connection;
  directory: IdentityDirectory;
  fieldCipher: FieldCipher;
  accessLog: AccessLog;
  logger: Logger;
  clock?: () => Date;
  /** Replaces the configured customs quota connector (tests, or a real connector later). */
  customsQuota?: CustomsQuotaQuery;
}

export function createQuotaModule(
  deps: QuotaModuleDeps,
  config: Pick<Config, 'quota'>,
): QuotaModule {
  const clock = deps.clock ?? (() => new Date());
  const policy = loadPolicy(config.quota.policyFile);
  const ledgerStore = createLedgerStore(deps.connection);
  const ordersStore = createOrdersStore(deps.connection);
  const ledger = createLedgerService({ ledgerStore, policy });
  const { customs } = config.quota;
  const adapter =
    deps.customsQuota ??
    (customs.mode === 'simulator'
      ? createCustomsQuotaSimulator({
          annualLimitFen: (year) => policy.limitsAt(new Date(Date.UTC(year, 6, 1))).annualFen,
          usedFen: customs.simulatorUsedFen,
          latencyMs: customs.simulatorLatencyMs,
          failure: customs.simulatorFailure,
        })
      : null);
  const checkout = createCheckoutService({
    ordersStore,
    ledger,
    policy,
    directory: deps.directory,
    fieldCipher: deps.fieldCipher,
    accessLog: deps.accessLog,
    customs: adapter ? { adapter, timeoutMs: customs.timeoutMs } : null,
    clock,
    holdMs: config.quota.holdMinutes * 60_000,
  });
  const lifecycle = createOrderLifecycleService({
    ordersStore,
    ledger,
    policy,
    fieldCipher: deps.fieldCipher,
    logger: deps.logger,
    clock,
    holdMs: config.quota.holdMinutes * 60_000,
  });
  const quota = createQuotaService({
    ledger,
    directory: deps.directory,
    accessLog: deps.accessLog,
    clock,
  });

  let timer: NodeJS.Timeout | null = null;
  let sweeping: Promise<unknown> | null = null;
  let stopping: AbortController | null = null;
  const sweepNow = () => {
    if (sweeping) return;
    stopping = new AbortController();
    sweeping = lifecycle
      .sweep(clock(), stopping.signal)
      .catch((error: unknown) =>
        deps.logger.warn({ errorClass: (error as Error)?.constructor?.name }, 'quota sweep failed'),
      )
      .finally(() => {
        sweeping = null;
      });
  };

  return {
    routes: quotaRoutes({ checkout, lifecycle, quota, policy }),
    lifecycle,
    policy,
    async ensureIndexes() {
      await ledgerStore.ensureIndexes();
      await ordersStore.ensureIndexes();
    },
    start() {
      if (timer) return;
      timer = setInterval(sweepNow, config.quota.sweepIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      stopping?.abort();
      await sweeping;
    },
  };
}
