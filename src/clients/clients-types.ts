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
  /** Required for customs and carrier clients, absent for the others. */
  partnerCode?: string | null;
}

/** The port disclosure uses to envelope a payload to the partner that asked for it. */
export interface PartnerCertificates {
  /** The certificate (PEM) the client registered, or null when it has none or is unknown. */
  certificateOf(clientId: string): Promise<string | null>;
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
