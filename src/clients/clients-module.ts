import type { Connection } from 'mongoose';
import type { Config } from '../config';
import type { RouteDefinition } from '../http/route';
import { clientsRoutes } from './clients-routes';
import {
  createClientsService,
  type ClientsService,
  type RevokedKeyListener,
} from './clients-service';
import { createClientsStore } from './clients-store';
import type { PartnerCertificates, PartnerProfiles } from './clients-types';

export interface ClientsModuleDeps {
  connection: Connection;
}

export interface ClientsModule {
  routes: RouteDefinition[];
  ensureIndexes(): Promise<void>;
  /** For the router: the actor behind an API key, or null. */
  authenticate: ClientsService['authenticate'];
  actorOf: ClientsService['actorOf'];
  /**
   * Adds a listener told when a revoked client's key is presented (the request
   * is refused as unauthenticated all the same). It must not throw or block.
   */
  onRevokedKey(listener: RevokedKeyListener): void;
  /** For disclosure: the certificate a partner registered, to envelope its payloads. */
  partnerCertificates: PartnerCertificates;
  /** For disclosure (where a partner is) and the identities export (who received what). */
  partnerProfiles: PartnerProfiles;
}

/** API clients: their keys, roles and partner certificates. */
export function createClientsModule(
  deps: ClientsModuleDeps,
  config: Pick<Config, 'adminApiKey'>,
): ClientsModule {
  const clientsStore = createClientsStore(deps.connection);
  const revokedKeyListeners: RevokedKeyListener[] = [];
  const onRevokedKey: RevokedKeyListener = (clientId) => {
    for (const listener of revokedKeyListeners) listener(clientId);
  };
  const clients = createClientsService({ clientsStore, onRevokedKey }, config);
  return {
    routes: clientsRoutes(clients),
    ensureIndexes: () => clientsStore.ensureIndexes(),
    authenticate: (apiKey) => clients.authenticate(apiKey),
    actorOf: (clientId) => clients.actorOf(clientId),
    onRevokedKey: (listener) => revokedKeyListeners.push(listener),
    partnerCertificates: { certificateOf: (clientId) => clients.certificateOf(clientId) },
    partnerProfiles: { describe: (clientId) => clients.describe(clientId) },
  };
}
