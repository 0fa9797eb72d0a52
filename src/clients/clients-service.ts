import { randomUUID } from 'node:crypto';
import { isAbroad, isCountryCode } from '../cross-border/jurisdiction';
import { NotFound, ValidationFailed } from '../errors';
import type { Actor } from '../http/route';
import { generateApiKey, hashApiKey, sameKey } from './api-key';
import type {
  Client,
  ClientsStore,
  NewClient,
  PartnerCertificates,
  PartnerProfiles,
} from './clients-types';
import { checkPartnerCertificate, type PartnerCertificateSummary } from './partner-certificate';

export const BOOTSTRAP_ADMIN_ID = 'bootstrap-admin';

const PARTNER_ROLES = new Set(['customs', 'carrier']);

export interface ClientsService extends PartnerCertificates, PartnerProfiles {
  create(input: NewClient): Promise<{ client: Client; apiKey: string }>;
  revoke(id: string): Promise<void>;
  /** The actor behind an API key, or null for a missing, unknown or revoked key. */
  authenticate(apiKey: string | undefined): Promise<Actor | null>;
  /**
   * The actor of a registered client by its id, or null when unknown or revoked
   * (a revoked one is reported as its key would be): a console session is
   * checked by it on every use, without keeping the key.
   */
  actorOf(clientId: string): Promise<Actor | null>;
  /**
   * Checks the uploaded PEM and stores it for an active client, replacing any
   * earlier one: VALIDATION_FAILED on path `body`, or NOT_FOUND.
   */
  registerCertificate(id: string, upload: Buffer): Promise<PartnerCertificateSummary>;
}

/** Told of the id of a revoked client whose key was presented (the alerts' REVOKED_KEY). */
export type RevokedKeyListener = (clientId: string) => void;

export function createClientsService(
  {
    clientsStore,
    onRevokedKey = () => undefined,
  }: { clientsStore: ClientsStore; onRevokedKey?: RevokedKeyListener },
  { adminApiKey }: { adminApiKey: string },
): ClientsService {
  /** A found client as an actor; a revoked one is reported and is nobody. */
  const activeActor = (client: Client | null): Actor | null => {
    if (!client) return null;
    if (client.revokedAt) {
      onRevokedKey(client.id);
      return null;
    }
    return { clientId: client.id, role: client.role, partnerCode: client.partnerCode };
  };
  return {
    async create(input) {
      const partner = PARTNER_ROLES.has(input.role);
      if (partner) checkPartner(input);
      const apiKey = generateApiKey();
      const client: Client = {
        id: randomUUID(),
        name: input.name,
        role: input.role,
        partnerCode: partner ? (input.partnerCode ?? null) : null,
        createdAt: new Date(),
        revokedAt: null,
        certificatePem: null,
        jurisdiction: partner ? (input.jurisdiction ?? null) : null,
        crossBorderBasis:
          partner && input.jurisdiction && isAbroad(input.jurisdiction)
            ? (input.crossBorderBasis ?? null)
            : null,
        contact: partner ? (input.contact ?? null) : null,
      };
      await clientsStore.insert(client, hashApiKey(apiKey));
      return { client, apiKey };
    },

    async revoke(id) {
      if (!(await clientsStore.revoke(id, new Date()))) throw new NotFound('client');
    },

    async authenticate(apiKey) {
      if (!apiKey) return null;
      if (sameKey(apiKey, adminApiKey)) {
        return { clientId: BOOTSTRAP_ADMIN_ID, role: 'admin', partnerCode: null };
      }
      // Looked up on every request (one indexed read): revocation needs no cache flush.
      return activeActor(await clientsStore.findByKeyHash(hashApiKey(apiKey)));
    },

    async actorOf(clientId) {
      return activeActor(await clientsStore.findById(clientId));
    },

    async registerCertificate(id, upload) {
      const check = checkPartnerCertificate(upload.toString('utf8'));
      if (!check.ok) throw new ValidationFailed([{ path: 'body', message: check.reason }]);
      if (!(await clientsStore.setCertificate(id, check.pem))) throw new NotFound('client');
      return check.summary;
    },

    async certificateOf(id) {
      const client = await clientsStore.findById(id);
      return client?.certificatePem ?? null;
    },

    async describe(id) {
      const client = await clientsStore.findById(id);
      if (!client) return null;
      return {
        name: client.name,
        contact: client.contact,
        jurisdiction: client.jurisdiction,
        crossBorderBasis: client.crossBorderBasis,
      };
    },
  };
}

/**
 * What a partner must say about itself (the route's schema checks the same):
 * its code, where it is, a basis when outside mainland China (PIPL art.
 * 38-39), and a privacy contact (PIPL art. 23).
 */
function checkPartner(input: NewClient): void {
  const missing = (path: string) => ({
    path,
    message: 'is required for customs and carrier clients',
  });
  const details = [
    ...(input.partnerCode ? [] : [missing('partnerCode')]),
    ...(input.jurisdiction && isCountryCode(input.jurisdiction) ? [] : [missing('jurisdiction')]),
    ...(input.jurisdiction && isAbroad(input.jurisdiction) && !input.crossBorderBasis
      ? [{ path: 'crossBorderBasis', message: 'is required outside mainland China' }]
      : []),
    ...(input.contact ? [] : [missing('contact')]),
  ];
  if (details.length > 0) throw new ValidationFailed(details);
}
