import { randomUUID } from 'node:crypto';
import { NotFound, ValidationFailed } from '../errors';
import type { Actor } from '../http/route';
import { generateApiKey, hashApiKey, sameKey } from './api-key';
import type { Client, ClientsStore, NewClient, PartnerCertificates } from './clients-types';
import { checkPartnerCertificate, type PartnerCertificateSummary } from './partner-certificate';

export const BOOTSTRAP_ADMIN_ID = 'bootstrap-admin';

const PARTNER_ROLES = new Set(['customs', 'carrier']);

export interface ClientsService extends PartnerCertificates {
  create(input: NewClient): Promise<{ client: Client; apiKey: string }>;
  revoke(id: string): Promise<void>;
  /** The actor behind an API key, or null for a missing, unknown or revoked key. */
  authenticate(apiKey: string | undefined): Promise<Actor | null>;
  /**
   * Checks the uploaded PEM and stores it for an active client, replacing any
   * earlier one: VALIDATION_FAILED on path `body`, or NOT_FOUND.
   */
  registerCertificate(id: string, upload: Buffer): Promise<PartnerCertificateSummary>;
}

export function createClientsService(
  { clientsStore }: { clientsStore: ClientsStore },
  { adminApiKey }: { adminApiKey: string },
): ClientsService {
  return {
    async create(input) {
      if (PARTNER_ROLES.has(input.role) && !input.partnerCode) {
        throw new ValidationFailed([
          { path: 'partnerCode', message: 'is required for customs and carrier clients' },
        ]);
      }
      const apiKey = generateApiKey();
      const client: Client = {
        id: randomUUID(),
        name: input.name,
        role: input.role,
        partnerCode: PARTNER_ROLES.has(input.role) ? (input.partnerCode ?? null) : null,
        createdAt: new Date(),
        revokedAt: null,
        certificatePem: null,
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
      const client = await clientsStore.findActiveByKeyHash(hashApiKey(apiKey));
      return client
        ? { clientId: client.id, role: client.role, partnerCode: client.partnerCode }
        : null;
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
  };
}
