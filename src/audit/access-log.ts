import type { Connection } from 'mongoose';
import type { Config } from '../config';
import { deferred } from '../deferred';
import type { RouteDefinition } from '../http/route';
import type { DeniedAccessRecorder } from '../http/router';
import type { Logger } from '../logger';
import { openPkcs11Signer } from '../crypto/pkcs11/pkcs11-signer';
import { AuditKeyError, loadAuditKeys, type AuditKeys } from './audit-keys';
import { auditRoutes, personSearchRoutes } from './audit-routes';
import { createAuditService, createPersonSearch, type PersonIdentities } from './audit-service';
import { createAuditStore, type AuditStore } from './audit-store';
import type { LogVerification, UnchainedEvent } from './audit-chain';
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
  /**
   * Adds a listener told of every event once it is durably written (refusal
   * counts included). It runs after the write and never delays or fails it:
   * what it throws is logged and dropped.
   */
  onRecorded(listener: RecordedListener): void;
  /** Adds a listener told when a verification found the log not intact (ok: false). */
  onVerifyFailed(listener: VerifyFailedListener): void;
}

export type RecordedListener = (event: UnchainedEvent) => void;
export type VerifyFailedListener = (result: LogVerification) => void;

/**
 * The access log's keys from KEYS_DIR. Outside production missing keys are
 * generated, but only for a database without a log: keys made up for a log
 * that exists (a restore without its KEYS_DIR) would fail every event's check
 * and change every pseudonym, so the start stops instead and writes nothing.
 * The SM2 checkpoint key is the exception while no checkpoint is signed with
 * SM2: a first start under the gm profile makes it.
 */
async function loadKeys(
  store: AuditStore,
  config: Pick<Config, 'env' | 'keysDir'> &
    Partial<Pick<Config, 'cryptoProfile' | 'keyProvider' | 'pkcs11'>>,
): Promise<AuditKeys> {
  const mayGenerate = config.env !== 'production';
  const holdsLog = mayGenerate && (await store.headCheckpoint()) !== null;
  const holdsSm2 = holdsLog && (await store.hasCheckpointSignedWith('SM2'));
  // KEY_PROVIDER=pkcs11: checkpoints are signed in the token (its Ed25519 key), whatever the profile
  // signs with, so a ledger the token signed still verifies after a move to gm.
  const tokenCheckpoint =
    config.keyProvider === 'pkcs11' && config.pkcs11
      ? await openPkcs11Signer(config.pkcs11, 'checkpoint')
      : null;
  try {
    return loadAuditKeys(config.keysDir, {
      generate: mayGenerate && !holdsLog,
      generateSm2: mayGenerate && !holdsSm2,
      profile: config.cryptoProfile,
      tokenCheckpoint,
    });
  } catch (error) {
    await tokenCheckpoint?.close();
    if (!(error instanceof AuditKeyError) || config.env === 'production') throw error;
    throw new AuditKeyError(
      `${error.message}, but the database holds an access log keyed by it: restore KEYS_DIR (no key was generated)`,
    );
  }
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
  > &
    Partial<Pick<Config, 'cryptoProfile' | 'keyProvider' | 'pkcs11'>>;
  logger: Logger;
}): AccessLogModule {
  // Loaded at start, once the database has said whether it already holds a log (see loadKeys).
  const deferredKeys = deferred<AuditKeys>('the access log keys');
  const keys = deferredKeys.value;
  let loaded: AuditKeys | null = null;
  const store = createAuditStore(connection);
  const writer = new ChainWriter({
    store,
    keys,
    logger,
    checkpointIntervalMs: config.auditCheckpointIntervalMs,
    checkpointEvery: config.auditCheckpointEvery,
    staleAfterMs: config.auditStreamStaleMs,
  });
  const recorded: RecordedListener[] = [];
  const verifyFailed: VerifyFailedListener[] = [];
  const tell = <T>(listeners: ((value: T) => void)[], value: T) => {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (error) {
        logger.warn(
          { errorClass: (error as Error)?.constructor?.name },
          'access log listener failed',
        );
      }
    }
  };
  // Listeners hear of an event only once it is durable, and cannot change the write's outcome.
  const append = async (event: UnchainedEvent) => {
    await writer.append(event);
    tell(recorded, event);
  };
  const refusals = new RefusalAggregator({
    append,
    logger,
    windowMs: config.auditRefusalWindowMs,
  });
  const service = createAuditService({
    store,
    writer: {
      append,
      ledgerWitness: () => writer.ledgerWitness(),
      witness: (gseq) => writer.witness(gseq),
    },
    keys,
    refusals,
    onVerified: (result) => {
      if (!result.ok) tell(verifyFailed, result);
    },
  });
  return {
    record: service.record,
    subjectRef: service.subjectRef,
    recordDenied: service.recordDenied,
    routes: auditRoutes(service),
    async ensureIndexes() {
      await store.ensureIndexes();
      loaded = await loadKeys(store, config);
      deferredKeys.resolve(loaded);
      await writer.start();
      refusals.start();
    },
    isReady: async () => writer.running,
    async stop() {
      await refusals.stop();
      await writer.stop();
      await loaded?.close();
    },
    personSearch: (people) => ({
      routes: personSearchRoutes(createPersonSearch(service, people)),
    }),
    position: () => writer.position(),
    checkpoint: () => writer.checkpoint(),
    onRecorded: (listener) => recorded.push(listener),
    onVerifyFailed: (listener) => verifyFailed.push(listener),
  };
}
