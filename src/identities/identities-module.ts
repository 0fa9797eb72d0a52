import type { Connection } from 'mongoose';
import type { SealedRecordSource } from '../crypto/stored-data-move';
import { createSealedIdentitiesSource, createSealedPhotosSource } from './sealed-identities-store';
import type { AccessLog } from '../audit/audit-types';
import type { Config } from '../config';
import type { CryptoModule } from '../crypto/crypto-module';
import type { RequestContext, RouteDefinition } from '../http/route';
import { identitiesRoutes } from './identities-routes';
import { createIdentitiesService, type IdentitiesService } from './identities-service';
import { createIdentitiesStore } from './identities-store';
import type { ExportSources } from './export-ports';
import type { DisclosureReceipts } from './identities-types';
import type { IdentityDirectory } from './identity-directory';
import { createPersonDirectory, type PersonDirectory } from './person-directory';
import { createPersonRefBackfill, type PersonRefBackfill } from './person-ref-backfill';
import type { ConsentWithdrawnListener } from './withdraw-consent';
import type { ErasureHold } from './legal-hold-port';
import { createIdentityDirectory } from './identity-directory-service';
import {
  createDisabledProvider,
  createIdentityVerifier,
  createSimulatorProvider,
  type IdentityVerificationProvider,
} from './identity-verification';

export interface IdentitiesModule {
  routes: RouteDefinition[];
  /** The use cases without HTTP (tests drive them with their own access log). */
  service: IdentitiesService;
  /** The one port checkout and disclosure need. */
  directory: IdentityDirectory;
  /** What the profile move re-seals and re-indexes (src/crypto/profile-move.ts). */
  sealedSources: SealedRecordSource[];
  /** Person keys for identities registered before they existed (`npm run quota:migrate`). */
  personRefs: PersonRefBackfill;
  /** The identity ids of one person, for the access log's search by person. */
  personDirectory: PersonDirectory;
  /** The retention job's port: active identities, and erasure by the same path as DELETE. */
  erasure: IdentityErasure;
  /** Subscribes to consent withdrawals (checkout releases the identity's reservations). */
  onConsentWithdrawn(listener: ConsentWithdrawnListener): void;
  ensureIndexes(): Promise<void>;
}

/** An active identity as the retention job sees it: no personal field. */
export interface ActiveIdentity {
  identityId: string;
  createdAt: Date;
  /** Set once the person withdrew consent: erased as soon as no order of theirs is open. */
  consentWithdrawnAt: Date | null;
}

export interface IdentityErasure {
  /** Active identities after `after` in id order. */
  listActive(after: string | null, limit: number): Promise<ActiveIdentity[]>;
  countActive(): Promise<number>;
  /** DELETE /v1/identities/{id}: hold first, then the key destroyed. */
  erase(ctx: RequestContext, identityId: string): Promise<void>;
}

function createVerificationProvider(config: Pick<Config, 'idv'>): IdentityVerificationProvider {
  switch (config.idv.provider) {
    case 'simulator':
      return createSimulatorProvider({
        latencyMs: config.idv.simulatorLatencyMs,
        failureRate: config.idv.simulatorFailureRate,
      });
    case 'disabled':
      return createDisabledProvider();
  }
}

/** Wiring for identities: store, service, directory and routes on one connection. */
export function createIdentitiesModule(
  {
    connection,
    crypto,
    accessLog,
    disclosureReceipts,
    exportSources,
    legalHold,
    provider,
  }: {
    connection: Connection;
    crypto: Pick<CryptoModule, 'fieldCipher' | 'blindIndex'>;
    accessLog: AccessLog;
    /** Every disclosure of a subject's data, for their export (the disclosure receipts store). */
    disclosureReceipts: DisclosureReceipts;
    /** Orders and quota (quota module), recipients (clients module), for the export. */
    exportSources: ExportSources;
    /** Legal holds (retention module): what erasure keeps because the law requires it. */
    legalHold: ErasureHold;
    /** Overrides the configured provider (tests inject one). */
    provider?: IdentityVerificationProvider;
  },
  config: Pick<Config, 'idv' | 'photoMaxBytes'>,
): IdentitiesModule {
  const store = createIdentitiesStore(connection);
  const verifier = createIdentityVerifier(provider ?? createVerificationProvider(config), {
    timeoutMs: config.idv.timeoutMs,
  });
  // Read at each withdrawal: checkout subscribes after this module is built.
  const consentListeners: ConsentWithdrawnListener[] = [];
  const service = createIdentitiesService({
    identitiesStore: store,
    fieldCipher: crypto.fieldCipher,
    blindIndex: crypto.blindIndex,
    verifier,
    accessLog,
    disclosureReceipts,
    exportSources,
    legalHold,
    onConsentWithdrawn: consentListeners,
  });
  return {
    routes: identitiesRoutes(service, config),
    service,
    directory: createIdentityDirectory({
      identitiesStore: store,
      fieldCipher: crypto.fieldCipher,
      blindIndex: crypto.blindIndex,
    }),
    personRefs: createPersonRefBackfill({
      store,
      fieldCipher: crypto.fieldCipher,
      blindIndex: crypto.blindIndex,
      accessLog,
    }),
    sealedSources: [createSealedIdentitiesSource(connection), createSealedPhotosSource(connection)],
    personDirectory: createPersonDirectory({
      identitiesStore: store,
      blindIndex: crypto.blindIndex,
    }),
    erasure: {
      listActive: (after, limit) => store.listActive(after, limit),
      countActive: () => store.countActive(),
      erase: (ctx, identityId) => service.remove(ctx, identityId),
    },
    onConsentWithdrawn: (listener) => {
      consentListeners.push(listener);
    },
    ensureIndexes: () => store.ensureIndexes(),
  };
}
