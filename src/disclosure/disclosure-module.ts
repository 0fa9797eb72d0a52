import type { Connection } from 'mongoose';
import type { AccessLog } from '../audit/audit-types';
import type { PartnerCertificates, PartnerProfiles } from '../clients/clients-types';
import { ConfigError, type Config } from '../config';
import { deferred } from '../deferred';
import type { RouteDefinition } from '../http/route';
import type { IdentityDirectory } from '../identities/identity-directory';
import type { OrderLifecycle } from '../quota/order-lifecycle-types';
import { createCeb621Signer, createTokenCeb621Signer, type Ceb621Signer } from './ceb621-signature';
import { createDeclarationsService } from './declarations-service';
import { missingForProduction, type DisclosureConfig } from './disclosure-config';
import { createDisclosureRecorder } from './disclosure-recorder';
import { disclosureRoutes } from './disclosure-routes';
import type { ReceiptsStore } from './disclosure-types';
import { createDeclarationsStore, createShipmentsStore } from './partner-record-store';
import {
  createPayloadSigner,
  createSm2PayloadSigner,
  createTokenCmsSigner,
  type PayloadSigner,
} from './payload-crypto';
import { createPayloadService } from './payload-service';
import { loadSigningMaterial, loadSm2SigningKey, openTokenSigningMaterial } from './signing-key';
import { createShipmentsService } from './shipments-service';

export interface DisclosureModule {
  routes: RouteDefinition[];
  ensureIndexes(): Promise<void>;
  /** Unsubscribes from the order lifecycle and releases the token's signing key. */
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
 * throws SigningKeyError and the service does not start). With
 * KEY_PROVIDER=pkcs11 the key is the token's: CMS and XML-DSig are signed there.
 */
export function createDisclosureModule(
  deps: DisclosureModuleDeps,
  config: Pick<Config, 'env' | 'keysDir'> &
    Partial<Pick<Config, 'cryptoProfile' | 'keyProvider' | 'pkcs11'>> & {
      disclosure: DisclosureConfig;
    },
): DisclosureModule {
  requireCeb621Defaults(config);
  // Loaded (or, outside production, generated) at start, not when the app is built: a start
  // that stops earlier (a database restored without its KEYS_DIR) leaves KEYS_DIR as it was.
  const signer = deferred<PayloadSigner>('the payload signer');
  const xmlSigner = deferred<Ceb621Signer>('the CEB621 signer');
  let closeSigningKey = async () => {};
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
    xmlSigner: xmlSigner.value,
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

  /**
   * In the token (KEY_PROVIDER=pkcs11): CMS and XML-DSig with its RSA key; the
   * gm profile's payload signature stays SM2 from KEYS_DIR (no SM2 in the token).
   * Otherwise both from KEYS_DIR, as loadSigningMaterial says.
   */
  async function loadSigners(): Promise<void> {
    if (config.keyProvider === 'pkcs11' && config.pkcs11) {
      const token = await openTokenSigningMaterial({
        keysDir: config.keysDir,
        pkcs11: config.pkcs11,
      });
      closeSigningKey = () => token.signer.close();
      signer.resolve(
        config.cryptoProfile === 'gm'
          ? createSm2PayloadSigner(loadSm2SigningKey({ keysDir: config.keysDir, env: config.env }))
          : createTokenCmsSigner(token.signer, token.certificatePem),
      );
      xmlSigner.resolve(createTokenCeb621Signer(token.signer, token.certificatePem));
      return;
    }
    const material = loadSigningMaterial({
      keysDir: config.keysDir,
      env: config.env,
      profile: config.cryptoProfile,
    });
    signer.resolve(createPayloadSigner(material));
    xmlSigner.resolve(createCeb621Signer(material));
  }

  return {
    routes: disclosureRoutes(payloads),
    async ensureIndexes() {
      await loadSigners();
      await declarationsStore.ensureIndexes();
      await shipmentsStore.ensureIndexes();
      await receiptsStore.ensureIndexes();
    },
    async stop() {
      for (const off of unsubscribe) off();
      await closeSigningKey();
    },
  };
}
