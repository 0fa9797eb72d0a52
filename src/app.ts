import express from 'express';
import helmet from 'helmet';
import type { Connection } from 'mongoose';
import type { Metric } from 'prom-client';
import { createAlertsModule } from './alerts/alerts-module';
import { createAccessLog } from './audit/access-log';
import { createClientsModule } from './clients/clients-module';
import { createConsoleModule } from './console/console-module';
import type { Config } from './config';
import { createDisclosureModule } from './disclosure/disclosure-module';
import { createReceiptsStore } from './disclosure/receipts-store';
import { createCryptoModule } from './crypto/crypto-module';
import type { FieldCipher } from './crypto/field-cipher-types';
import { createProfileMoveRunner, type ProfileMoveRunner } from './crypto/profile-move-runner';
import { pingDatabase } from './db/connection';
import type { EmbeddedDatabaseState } from './db/embedded-database';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { createMetrics } from './http/metrics';
import { buildOpenApi } from './http/openapi';
import { requestIdMiddleware } from './http/request-context';
import { requestLogger } from './http/request-logger';
import type { RouteDefinition } from './http/route';
import { buildRouter, type RouterDeps } from './http/router';
import type { Logger } from './logger';
import { createIdentitiesModule } from './identities/identities-module';
import type { IdentityDirectory } from './identities/identity-directory';
import { opsRoutes, type Readiness } from './ops/ops-routes';
import { createPrivacyRequestsModule } from './privacy-requests/privacy-requests-module';
import type { OverdueCheck } from './privacy-requests/privacy-requests-types';
import { createProductsModule } from './products/products-module';
import type { OrderLifecycleService } from './quota/order-lifecycle-service';
import {
  migrateToPersonLedgers,
  type MigrationOptions,
  type MigrationReport,
} from './quota/person-ledger-migration';
import { createPersonRecords } from './quota/person-records';
import { createQuotaModule } from './quota/quota-module';
import { createLegalHoldsModule } from './retention/retention-module';
import type { RetentionReport, RetentionRunOptions } from './retention/retention-types';

export interface AppDeps {
  config: Config;
  connection: Connection;
  logger: Logger;
  /** Replaces the wall clock of time-dependent work (quota holds, years); tests inject one. */
  clock?: () => Date;
  /** The supervised embedded engine, when the service started one: readiness reports its state. */
  embeddedDatabase?: { state(): EmbeddedDatabaseState };
  /** A maintenance tool, not the service: start() skips the checks that would stop it serving. */
  maintenance?: boolean;
}

/** A capability's contribution to the app, wired here and nowhere else. */
interface Module {
  routes: RouteDefinition[];
  ensureIndexes?(): Promise<void>;
  /** Starts background work, after every module's indexes exist. */
  start?(): void | Promise<void>;
  isReady?(): Promise<boolean>;
  stop?(): Promise<void>;
  /** Metrics the module keeps, registered on the app's registry. */
  metrics?: Metric[];
}

export interface BuiltApp {
  app: express.Express;
  /** Creates indexes and starts background work; readiness waits for it. */
  start(): Promise<void>;
  /** Stops background work. The caller closes the connection. */
  stop(): Promise<void>;
  /** Field-level encryption (usable once start() has loaded the keys). */
  fieldCipher: FieldCipher;
  identityDirectory: IdentityDirectory;
  /** Checkout orders' lifecycle (customs acks, listeners) and the reservation sweeper. */
  orderLifecycle: OrderLifecycleService;
  /** Person keys for identities registered before them, and their ledgers moved (CLI). */
  quotaMigration: {
    pending(): Promise<number>;
    run(options: MigrationOptions): Promise<MigrationReport>;
  };
  /** Moves stored fields and blind indexes to CRYPTO_PROFILE (`npm run keys -- move-profile`). */
  profileMove: ProfileMoveRunner;
  /** The overdue check of privacy requests, run at a chosen time (tests). */
  privacyRequests: { checkOverdue(now: Date): Promise<OverdueCheck> };
  /** One pass of the retention job (the CLI, tests): see docs/privacy-lifecycle.md. */
  retention: { runRetention(options: RetentionRunOptions): Promise<RetentionReport> };
}

export function createApp(deps: AppDeps): BuiltApp {
  const capabilities = createCapabilities(deps);
  const { modules, clients, accessLog, consoleModule } = capabilities;
  let started = false;
  const readiness = createReadiness(deps, modules, () => started);
  const app = createHttpApp(deps, modules, readiness, {
    authenticate: clients.authenticate,
    recordDenied: accessLog.recordDenied,
    sessions: consoleModule.sessions,
  });
  return {
    app,
    fieldCipher: capabilities.fieldCipher,
    identityDirectory: capabilities.identityDirectory,
    orderLifecycle: capabilities.orderLifecycle,
    quotaMigration: capabilities.quotaMigration,
    profileMove: capabilities.profileMove,
    privacyRequests: capabilities.privacyRequests,
    retention: capabilities.retention,
    async start() {
      for (const module of modules) await module.ensureIndexes?.();
      for (const module of modules) await module.start?.();
      started = true;
    },
    async stop() {
      started = false;
      for (const module of modules) await module.stop?.();
    },
  };
}

/** Every capability, built in dependency order; each gets only the ports it needs. */
function createCapabilities({ config, connection, logger, clock, maintenance }: AppDeps) {
  const clients = createClientsModule({ connection }, config);
  // The access log first: every capability that touches personal data records through it.
  const accessLog = createAccessLog({ connection, config, logger });
  // Security alerts: evaluated on every event the log writes (and revoked keys, failed verifies).
  const alerts = createAlertsModule({ connection, accessLog, clients, logger, clock }, config);
  // Field encryption and the identity directory next: quota and disclosure are built on them.
  // Keys are loaded by start() (ensureIndexes): production refuses to start without a master key.
  const crypto = createCryptoModule(
    { connection, logger },
    { ...config, reportsKeyring: !maintenance },
  );
  // Disclosure writes a receipt per disclosure and the identities export lists them: one store for both.
  const receipts = createReceiptsStore(connection);
  // The export reads the person's orders and quota (checkout's collections) and who received their data.
  const personRecords = createPersonRecords(
    { connection, fieldCipher: crypto.fieldCipher, clock },
    config,
  );
  // Legal holds before identities: a deletion seals what the law keeps before it destroys the key.
  const legalHolds = createLegalHoldsModule(
    { connection, keyring: crypto.keyring, records: personRecords, accessLog, clock, maintenance },
    config,
  );
  const identities = createIdentitiesModule(
    {
      connection,
      crypto,
      accessLog,
      disclosureReceipts: receipts,
      exportSources: { ...personRecords, partners: clients.partnerProfiles },
      legalHold: legalHolds.erasureHold,
    },
    config,
  );
  // The retention job erases through identities, the same path as DELETE.
  const retention = legalHolds.withErasure(identities.erasure, logger);
  const identityDirectory = identities.directory;
  // The product catalogue: checkout taxes and confirms orders by it.
  const products = createProductsModule({ connection, clock }, config);
  const quota = createQuotaModule(
    {
      connection,
      directory: identityDirectory,
      fieldCipher: crypto.fieldCipher,
      accessLog,
      catalogue: products.catalogue,
      logger,
      clock,
    },
    config,
  );
  // A withdrawn consent releases the identity's unpaid reservations.
  identities.onConsentWithdrawn((identityId, at) =>
    quota.lifecycle.releaseOpenReservations(identityId, at),
  );
  // Declarations and shipments: created from confirmed orders, disclosed to brokers and carriers.
  const disclosure = createDisclosureModule(
    {
      connection,
      clients: clients.partnerCertificates,
      partners: clients.partnerProfiles,
      orders: quota.lifecycle,
      identities: identityDirectory,
      accessLog,
      receipts,
      clock,
    },
    config,
  );
  // The register of a person's requests (access, deletion, ...) and the overdue alert.
  const privacyRequests = createPrivacyRequestsModule({ connection, logger, clock }, config);
  // The security console: its pages and sign-in sessions, each use authenticated by the API's own check.
  const consoleModule = createConsoleModule(
    { connection, actorOf: clients.actorOf, accessLog, clock },
    config,
  );
  const quotaMigration = {
    pending: () => identities.personRefs.pending(),
    run: (options: MigrationOptions) =>
      migrateToPersonLedgers(
        {
          personRefs: identities.personRefs,
          mover: quota.ledgerMover,
          clock: clock ?? (() => new Date()),
        },
        options,
      ),
  };
  const profileMove = createProfileMoveRunner({
    ...crypto,
    accessLog,
    sources: [...identities.sealedSources, ...quota.sealedSources],
    profile: config.cryptoProfile,
  });
  // Identities from before person keys would each still count against their own ledger.
  const personKeys: Module = {
    routes: [],
    async start() {
      const pending = maintenance ? 0 : await quotaMigration.pending();
      if (pending === 0) return;
      const line = `${pending} identities have no person key yet: run \`npm run quota:migrate\` (with the service stopped)`;
      if (config.env === 'production') throw new Error(line);
      logger.warn(line);
    },
  };
  const keys: Module = {
    routes: [],
    ensureIndexes: async () => {
      await crypto.ensureIndexes();
      await crypto.start();
    },
    isReady: crypto.isReady,
    stop: crypto.stop,
  };
  return {
    modules: [
      clients,
      // The master key before the access log's keys: on a database restored without its
      // KEYS_DIR, the start stops on the most basic missing key, and nothing is generated.
      keys,
      accessLog,
      // After the access log: its stop writes the last refusal counts, which alerts then drain.
      alerts,
      identities,
      products,
      quota,
      disclosure,
      privacyRequests,
      legalHolds,
      retention,
      // The auditor's search by person: the log's events, the identities module's person keys.
      accessLog.personSearch(identities.personDirectory),
      consoleModule,
      personKeys,
    ] as Module[],
    clients,
    accessLog,
    consoleModule,
    fieldCipher: crypto.fieldCipher,
    identityDirectory,
    orderLifecycle: quota.lifecycle,
    quotaMigration,
    profileMove,
    privacyRequests,
    retention,
  };
}

/** Ready when the engine runs, the database answers, start() finished and every module is ready. */
function createReadiness(
  { config, connection, embeddedDatabase }: AppDeps,
  modules: Module[],
  isStarted: () => boolean,
): Readiness {
  return {
    async check() {
      if (embeddedDatabase?.state() === 'restarting') {
        return { ready: false, database: 'restarting' };
      }
      if (!(await pingDatabase(connection, Math.min(config.dbTimeoutMs, 2000)))) {
        return { ready: false, database: 'unreachable' };
      }
      if (!isStarted()) return { ready: false, database: 'up' };
      for (const module of modules) {
        if (module.isReady && !(await module.isReady())) return { ready: false, database: 'up' };
      }
      return { ready: true, database: 'up' };
    },
  };
}

/** The Express app: request id, logging, metrics, helmet, then every declared route. */
function createHttpApp(
  { config, logger }: AppDeps,
  modules: Module[],
  readiness: Readiness,
  access: Pick<RouterDeps, 'authenticate' | 'recordDenied' | 'sessions'>,
): express.Express {
  const metrics = createMetrics();
  for (const metric of modules.flatMap((m) => m.metrics ?? [])) {
    metrics.registry.registerMetric(metric);
  }
  const routes: RouteDefinition[] = [];
  const openApi = () => buildOpenApi(routes);
  routes.push(...opsRoutes(readiness, metrics, openApi), ...modules.flatMap((m) => m.routes));
  const app = express();
  app.disable('x-powered-by');
  // Off unless TRUST_PROXY lists the proxies: then req.ip and req.secure come from their headers.
  app.set('trust proxy', config.trustProxy);
  app.use(requestIdMiddleware, requestLogger(logger), metrics.middleware, helmet());
  app.use(
    buildRouter(routes, {
      ...access,
      bodyLimit: config.bodyLimit,
      rateLimitPerMinute: config.rateLimitPerMinute,
      refusalLimits: config.refusalLimits,
    }),
  );
  app.use(notFoundHandler, errorHandler(logger));
  return app;
}
