import type { Connection } from 'mongoose';
import type { AccessLog } from '../audit/audit-types';
import type { ClientsService } from '../clients/clients-service';
import type { Config } from '../config';
import type { RouteDefinition } from '../http/route';
import type { IdentityDirectory } from '../identities/identity-directory';
import type { OrderLifecycle } from '../quota/order-lifecycle-types';
import { createDeclarationsService } from './declarations-service';
import type { DisclosureConfig } from './disclosure-config';
import { createDisclosureRecorder } from './disclosure-recorder';
import { disclosureRoutes } from './disclosure-routes';
import type { DisclosureEntry } from './disclosure-types';
import { createDeclarationsStore, createShipmentsStore } from './partner-record-store';
import { createPayloadSigner } from './payload-crypto';
import { createReceiptsStore } from './receipts-store';
import { loadSigningMaterial } from './signing-key';
import { createShipmentsService } from './shipments-service';

export interface DisclosureModule {
  routes: RouteDefinition[];
  ensureIndexes(): Promise<void>;
  /** Unsubscribes from the order lifecycle. */
  stop(): Promise<void>;
  /** For the identities export (`disclosures`): every receipt of one identity, oldest first. */
  receipts: { listForIdentity(identityId: string): Promise<DisclosureEntry[]> };
}

export interface DisclosureModuleDeps {
  connection: Connection;
  config: Pick<Config, 'env' | 'keysDir'> & { disclosure: DisclosureConfig };
  clients: Pick<ClientsService, 'findById' | 'setCertificate'>;
  orders: OrderLifecycle;
  identities: Pick<IdentityDirectory, 'revealBuyer'>;
  accessLog: AccessLog;
}

/**
 * Declarations (customs brokers) and shipments (carriers): minimum-necessary
 * disclosure, signed payloads, receipts. Loads the signing key synchronously
 * (generated outside production, required in production: a missing one
 * throws SigningKeyError and the service does not start).
 */
export function createDisclosureModule(deps: DisclosureModuleDeps): DisclosureModule {
  const signer = createPayloadSigner(
    loadSigningMaterial({ keysDir: deps.config.keysDir, env: deps.config.env }),
  );
  const declarationsStore = createDeclarationsStore(deps.connection);
  const shipmentsStore = createShipmentsStore(deps.connection);
  const receiptsStore = createReceiptsStore(deps.connection);
  const recorder = createDisclosureRecorder({
    accessLog: deps.accessLog,
    receipts: receiptsStore,
    orders: deps.orders,
    identities: deps.identities,
  });
  const declarations = createDeclarationsService({
    declarations: declarationsStore,
    shipments: shipmentsStore,
    recorder,
    orders: deps.orders,
    ceb621: deps.config.disclosure.ceb621,
  });
  const shipments = createShipmentsService({ shipments: shipmentsStore, recorder });

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
    routes: disclosureRoutes({ declarations, shipments, signer, clients: deps.clients }),
    async ensureIndexes() {
      await declarationsStore.ensureIndexes();
      await shipmentsStore.ensureIndexes();
      await receiptsStore.ensureIndexes();
    },
    async stop() {
      for (const off of unsubscribe) off();
    },
    receipts: { listForIdentity: (identityId) => receiptsStore.listForIdentity(identityId) },
  };
}
