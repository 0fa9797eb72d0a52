import type { CrossBorderBasis } from '../cross-border/jurisdiction';
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
  /**
   * Where a partner is (ISO 3166-1 alpha-2; `CN` is mainland China). Null
   * for non-partner roles, and for partners registered before it was asked.
   */
  jurisdiction: string | null;
  /** Why a partner outside mainland China may receive personal data; null within the mainland. */
  crossBorderBasis: CrossBorderBasis | null;
  /** The partner's privacy contact (an email or an E.164 phone); never logged. */
  contact: string | null;
}

export interface NewClient {
  name: string;
  role: Role;
  /** Required for customs and carrier clients, absent for the others. */
  partnerCode?: string | null;
  /** Required for partners (customs, carrier), absent for the others. */
  jurisdiction?: string;
  /** Required for a partner outside mainland China, absent otherwise. */
  crossBorderBasis?: CrossBorderBasis;
  /** Required for partners: whom a data subject can ask about their data (PIPL art. 23). */
  contact?: string;
}

/** A partner as the data subject and the disclosure records see it; never its key. */
export interface PartnerProfile {
  name: string;
  contact: string | null;
  jurisdiction: string | null;
  crossBorderBasis: CrossBorderBasis | null;
}

/**
 * The port disclosure and the identities export read partners through: the
 * client's profile by client id (revoked clients included: a past recipient
 * stays described), or null for an unknown id.
 */
export interface PartnerProfiles {
  describe(clientId: string): Promise<PartnerProfile | null>;
}

/** The port disclosure uses to envelope a payload to the partner that asked for it. */
export interface PartnerCertificates {
  /** The certificate (PEM) the client registered, or null when it has none or is unknown. */
  certificateOf(clientId: string): Promise<string | null>;
}

export interface ClientsStore {
  insert(client: Client, keyHash: string): Promise<void>;
  /** The client of a key hash, revoked or not. */
  findByKeyHash(keyHash: string): Promise<Client | null>;
  findById(id: string): Promise<Client | null>;
  /** True when an active client was revoked by this call. */
  revoke(id: string, at: Date): Promise<boolean>;
  setCertificate(id: string, certificatePem: string): Promise<boolean>;
  ensureIndexes(): Promise<void>;
}

export type { Actor, Role };
