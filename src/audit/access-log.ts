import type { Connection } from 'mongoose';
import type { Config } from '../config';
import type { RouteDefinition } from '../http/route';
import type { DeniedAccessRecorder } from '../http/router';
import type { Logger } from '../logger';
import { loadAuditKeys } from './audit-keys';
import { auditRoutes, personSearchRoutes } from './audit-routes';
import { createAuditService, createPersonSearch, type PersonIdentities } from './audit-service';
import { createAuditStore } from './audit-store';
import type { AccessLog } from './audit-types';
import { ChainWriter } from './audit-writer';
import { RefusalAggregator } from './refusal-aggregator';

/** The access log as the app wires it: the AccessLog other capabilities get, plus its module parts. */
export interface AccessLogModule extends AccessLog {
  routes: RouteDefinition[];
  /** Router hook: 401/403 on a personal-data route becomes a DENIED event. */
  recordDenied: DeniedAccessRecorder;
  /**
   * Creates the indexes, opens this instance's stream, seals streams of crashed
   * instances and starts periodic checkpoints.
   */
  ensureIndexes(): Promise<void>;
  /** Keys loaded (they are, or construction threw) and the writer running. */
  isReady(): Promise<boolean>;
  /**
   * Writes the refusal counts still open, stops checkpoints, drains queued
   * events, closes the stream with a signed record.
   */
  stop(): Promise<void>;
  /**
   * The search by person, a module of its own: it needs the identities
   * module's port, and identities are built after (and on) the access log.
   */
  personSearch(people: PersonIdentities): { routes: RouteDefinition[] };
  /** This instance's writer stream and confirmed head (diagnostics, tests). */
  position(): { stream: string; seq: number; hash: string };
  /** Writes a signed checkpoint of the current head now (when it moved). */
  checkpoint(): Promise<void>;
}

/**
 * Builds the access log. Loads its keys from KEYS_DIR synchronously: outside
 * production missing keys are generated; in production a missing key throws
 * AuditKeyError and the service does not start.
 */
export function createAccessLog({
  connection,
  config,
  logger,
}: {
  connection: Connection;
  config: Pick<
    Config,
    | 'env'
    | 'keysDir'
    | 'auditCheckpointIntervalMs'
    | 'auditCheckpointEvery'
    | 'auditStreamStaleMs'
    | 'auditRefusalWindowMs'
  >;
  logger: Logger;
}): AccessLogModule {
  const keys = loadAuditKeys(config.keysDir, { generate: config.env !== 'production' });
  const store = createAuditStore(connection);
  const writer = new ChainWriter({
    store,
    keys,
    logger,
    checkpointIntervalMs: config.auditCheckpointIntervalMs,
    checkpointEvery: config.auditCheckpointEvery,
    staleAfterMs: config.auditStreamStaleMs,
  });
  const refusals = new RefusalAggregator({
    append: (event) => writer.append(event),
    logger,
    windowMs: config.auditRefusalWindowMs,
  });
  const service = createAuditService({ store, writer, keys, refusals });
  return {
    record: service.record,
    subjectRef: service.subjectRef,
    recordDenied: service.recordDenied,
    routes: auditRoutes(service),
    async ensureIndexes() {
      await store.ensureIndexes();
      await writer.start();
      refusals.start();
    },
    isReady: async () => writer.running,
    async stop() {
      await refusals.stop();
      await writer.stop();
    },
    personSearch: (people) => ({
      routes: personSearchRoutes(createPersonSearch(service, people)),
    }),
    position: () => writer.position(),
    checkpoint: () => writer.checkpoint(),
  };
}
