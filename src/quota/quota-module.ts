import type { Connection } from 'mongoose';
import type { SealedRecordSource } from '../crypto/stored-data-move';
import { createSealedOrdersSource } from './sealed-orders-store';
import type { AccessLog } from '../audit/audit-types';
import type { Config } from '../config';
import type { FieldCipher } from '../crypto/field-cipher-types';
import type { RouteDefinition } from '../http/route';
import type { IdentityDirectory } from '../identities/identity-directory';
import type { Logger } from '../logger';
import type { ProductCatalogue } from '../products/products-types';
import { createCheckoutService } from './checkout-service';
import { createCustomsQuotaSimulator, type CustomsQuotaQuery } from './customs-quota';
import { createLedgerService } from './ledger-service';
import { createLedgerStore } from './ledger-store';
import { createOrderLifecycleService, type OrderLifecycleService } from './order-lifecycle-service';
import { createOrdersStore } from './orders-store';
import { createLedgerMover, type LedgerMover } from './person-ledger-migration';
import { loadPolicy, type CbecPolicy } from './policy';
import { createQuotaService } from './quota-service';
import { quotaRoutes } from './quota-routes';
import { createSweepSchedule } from './reservation-sweeper';

export interface QuotaModule {
  routes: RouteDefinition[];
  /** For disclosure (OrderLifecycle) and for tests (sweep with a chosen clock). */
  lifecycle: OrderLifecycleService;
  /** Moves a registration's own ledgers onto its person's (the person-key migration). */
  ledgerMover: LedgerMover;
  /** What the profile move re-seals (src/crypto/profile-move.ts). */
  sealedSources: SealedRecordSource[];
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
  /** Products: verify taxes by their categories, confirm needs every SKU's. */
  catalogue: ProductCatalogue;
  logger: Logger;
  clock?: () => Date;
  /** Replaces the configured customs quota connector (tests, or a real connector later). */
  customsQuota?: CustomsQuotaQuery;
}

export function createQuotaModule(
  deps: QuotaModuleDeps,
  config: Pick<Config, 'quota'>,
): QuotaModule {
  const { directory, fieldCipher, accessLog, catalogue, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const holdMs = config.quota.holdMinutes * 60_000;
  const policy = loadPolicy(config.quota.policyFile);
  const ledgerStore = createLedgerStore(deps.connection);
  const ordersStore = createOrdersStore(deps.connection);
  const ledger = createLedgerService({ ledgerStore, policy });
  const adapter = deps.customsQuota ?? customsSimulator(config.quota.customs, policy);
  const customs = adapter ? { adapter, timeoutMs: config.quota.customs.timeoutMs } : null;
  const checkout = createCheckoutService({
    ordersStore,
    ledger,
    policy,
    catalogue,
    directory,
    fieldCipher,
    accessLog,
    customs,
    clock,
    holdMs,
  });
  const lifecycle = createOrderLifecycleService({
    ordersStore,
    ledger,
    policy,
    catalogue,
    fieldCipher,
    logger,
    clock,
    holdMs,
  });
  const quota = createQuotaService({ ledger, directory, accessLog, clock });
  const schedule = createSweepSchedule({
    sweeper: lifecycle,
    clock,
    logger,
    intervalMs: config.quota.sweepIntervalMs,
  });

  return {
    routes: quotaRoutes({ checkout, lifecycle, quota, policy }),
    lifecycle,
    ledgerMover: createLedgerMover({ ledger, ledgerStore, ordersStore }),
    sealedSources: [createSealedOrdersSource(deps.connection)],
    async ensureIndexes() {
      await ledgerStore.ensureIndexes();
      await ordersStore.ensureIndexes();
    },
    start: schedule.start,
    stop: schedule.stop,
  };
}

/** The customs quota simulator when configured (development and tests), else none. */
function customsSimulator(
  customs: Config['quota']['customs'],
  policy: CbecPolicy,
): CustomsQuotaQuery | null {
  if (customs.mode !== 'simulator') return null;
  return createCustomsQuotaSimulator({
    annualLimitFen: (year) => policy.limitsAt(new Date(Date.UTC(year, 6, 1))).annualFen,
    usedFen: customs.simulatorUsedFen,
    latencyMs: customs.simulatorLatencyMs,
    failure: customs.simulatorFailure,
  });
}
