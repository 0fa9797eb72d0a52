import { randomUUID } from 'node:crypto';
import { NotFound, ValidationFailed } from '../errors';
import type { Actor } from '../http/route';
import { generateApiKey, hashApiKey, sameKey } from './api-key';
import type { Client, ClientsStore, NewClient } from './clients-types';

export const BOOTSTRAP_ADMIN_ID = 'bootstrap-admin';

const PARTNER_ROLES = new Set(['customs', 'carrier']);

export interface ClientsService {
  create(input: NewClient): Promise<{ client: Client; apiKey: string }>;
  revoke(id: string): Promise<void>;
  /** The actor behind an API key, or null for a missing, unknown or revoked key. */
  authenticate(apiKey: string | undefined): Promise<Actor | null>;
  findById(id: string): Promise<Client | null>;
  setCertificate(id: string, certificatePem: string): Promise<void>;
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
        partnerCode: PARTNER_ROLES.has(input.role) ? input.partnerCode : null,
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

    findById: (id) => clientsStore.findById(id),

    async setCertificate(id, certificatePem) {
      if (!(await clientsStore.setCertificate(id, certificatePem))) throw new NotFound('client');
    },
  };
}
