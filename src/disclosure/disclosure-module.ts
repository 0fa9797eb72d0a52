import type { Connection } from 'mongoose';
import type { AccessLog } from '../audit/audit-types';
import type { PartnerCertificates, PartnerProfiles } from '../clients/clients-types';
import { ConfigError, type Config } from '../config';
import { deferred } from '../deferred';
import type { RouteDefinition } from '../http/route';
import type { IdentityDirectory } from '../identities/identity-directory';
import type { OrderLifecycle } from '../quota/order-lifecycle-types';
import { createCeb621Signer } from './ceb621-signature';
import { createDeclarationsService } from './declarations-service';
import { missingForProduction, type DisclosureConfig } from './disclosure-config';
import { createDisclosureRecorder } from './disclosure-recorder';
import { disclosureRoutes } from './disclosure-routes';
import type { ReceiptsStore } from './disclosure-types';
import { createDeclarationsStore, createShipmentsStore } from './partner-record-store';
import { createPayloadSigner, type PayloadSigner } from './payload-crypto';
import { createPayloadService } from './payload-service';
import { loadSigningMaterial, type SigningMaterial } from './signing-key';
import { createShipmentsService } from './shipments-service';

export interface DisclosureModule {
  routes: RouteDefinition[];
  ensureIndexes(): Promise<void>;
  /** Unsubscribes from the order lifecycle. */
  stop(): Promise<void>;
}

export interface DisclosureModuleDeps {
  connection: Connection;
  /** The certificate a partner registered, for payloads enveloped to it. */
  clients: PartnerCertificates;
  /** Where each partner is: receipts and events record a transfer abroad. */
  partners: PartnerProfiles;
  orders: OrderLifecycle;
  identities: Pick<IdentityDirectory, 'revealBuyer'>;
  accessLog: AccessLog;
  /** Built by the app: the identities export reads the receipts this module writes. */
  receipts: ReceiptsStore;
  /** The service's clock: disclosure times and customs release times are judged by it. */
  clock?: () => Date;
}

/** Production never starts with a CEB621 global field missing: every message would be refused. */
function requireCeb621Defaults(config: Pick<Config, 'env'> & { disclosure: DisclosureConfig }) {
  if (config.env !== 'production') return;
  const missing = missingForProduction(config.disclosure.ceb621);
  if (missing.length > 0) {
    throw new ConfigError(
      `invalid configuration: CEB621_DEFAULTS lacks ${missing.join(', ')}, required in production`,
    );
  }
}

/**
 * Declarations (customs brokers) and shipments (carriers): minimum-necessary
 * disclosure, signed payloads, receipts. Loads the signing key at start
 * (generated outside production, required in production: a missing one
 * throws SigningKeyError and the service does not start).
 */
export function createDisclosureModule(
  deps: DisclosureModuleDeps,
  config: Pick<Config, 'env' | 'keysDir'> &
    Partial<Pick<Config, 'cryptoProfile'>> & { disclosure: DisclosureConfig },
): DisclosureModule {
  requireCeb621Defaults(config);
  // Loaded (or, outside production, generated) at start, not when the app is built: a start
  // that stops earlier (a database restored without its KEYS_DIR) leaves KEYS_DIR as it was.
  const material = deferred<SigningMaterial>('the disclosure signing key');
  const signer = deferred<PayloadSigner>('the payload signer');
  const declarationsStore = createDeclarationsStore(deps.connection);
  const shipmentsStore = createShipmentsStore(deps.connection);
  const receiptsStore = deps.receipts;
  const recorder = createDisclosureRecorder({
    accessLog: deps.accessLog,
    receipts: receiptsStore,
    orders: deps.orders,
    identities: deps.identities,
    partners: deps.partners,
    now: deps.clock,
  });
  const declarations = createDeclarationsService({
    declarations: declarationsStore,
    shipments: shipmentsStore,
    recorder,
    receipts: receiptsStore,
    orders: deps.orders,
    ceb621: config.disclosure.ceb621,
    now: deps.clock,
  });
  const shipments = createShipmentsService({
    shipments: shipmentsStore,
    recorder,
    onWaybill: (orderNo, logisticsNo) => declarations.waybillKnown(orderNo, logisticsNo),
    now: deps.clock,
  });
  const payloads = createPayloadService({
    declarations,
    shipments,
    signer: signer.value,
    xmlSigner: createCeb621Signer(material.value),
    certificates: deps.clients,
  });

  // Listeners must be idempotent: the lifecycle replays them after a failure.
  const unsubscribe = [
    deps.orders.onConfirmed(async (order) => {
      await declarations.createForOrder(order);
      await shipments.createForOrder(order);
    }),
    deps.orders.onCancelled(async (order) => {
      await declarations.withdrawForOrder(order.orderNo);
      await shipments.withdrawForOrder(order.orderNo);
    }),
  ];

  return {
    routes: disclosureRoutes(payloads),
    async ensureIndexes() {
      const loaded = loadSigningMaterial({
        keysDir: config.keysDir,
        env: config.env,
        profile: config.cryptoProfile,
      });
      material.resolve(loaded);
      signer.resolve(createPayloadSigner(loaded));
      await declarationsStore.ensureIndexes();
      await shipmentsStore.ensureIndexes();
      await receiptsStore.ensureIndexes();
    },
    async stop() {
      for (const off of unsubscribe) off();
    },
  };
}
