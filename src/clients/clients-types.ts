import type { Actor, Role } from '../http/route';

export interface Client {
  id: string;
  name: string;
  role: Role;
  partnerCode: string | null;
  createdAt: Date;
  revokedAt: Date | null;
  /** A partner's X.509 certificate (PEM), for payloads enveloped to it. */
  certificatePem: string | null;
}

export interface NewClient {
  name: string;
  role: Role;
  partnerCode: string | null;
}

export interface ClientsStore {
  insert(client: Client, keyHash: string): Promise<void>;
  findActiveByKeyHash(keyHash: string): Promise<Client | null>;
  findById(id: string): Promise<Client | null>;
  /** True when an active client was revoked by this call. */
  revoke(id: string, at: Date): Promise<boolean>;
  setCertificate(id: string, certificatePem: string): Promise<boolean>;
  ensureIndexes(): Promise<void>;
}

export type { Actor, Role };
