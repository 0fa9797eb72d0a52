/**
 * What checkout (quota) and disclosure need from identities, and no more:
 * they depend on this interface, identity-directory-service.ts implements it.
 */

export type VerificationStatus = 'VERIFIED' | 'MISMATCH' | 'UNVERIFIED';

/** A buyer as checkout sees it: no plaintext, only blind indexes. */
export interface BuyerIdentity {
  identityId: string;
  /** The person behind the registration (see IdentityRecord.personRef); keys their quota. */
  personRef: string | null;
  userId: string;
  verificationStatus: VerificationStatus;
  /** True when the separate sensitive-data consent (and guardian consent if needed) is recorded. */
  consentRecorded: boolean;
  /** True once the person withdrew that consent: no new checkout rests on it. */
  consentWithdrawn: boolean;
}

/** The buyer's own personal fields, decrypted, for minimum-necessary disclosure. */
export interface BuyerPersonalData {
  name: string;
  idNumber: string;
  phone: string;
}

export interface IdentityDirectory {
  /** Null when unknown or deleted. */
  findBuyer(identityId: string): Promise<BuyerIdentity | null>;
  /**
   * True when the payer is the buyer: compared by the keyed blind index of the
   * normalised id number and of the normalised name, never by decrypting.
   */
  payerMatches(identityId: string, payer: { name: string; idNumber: string }): Promise<boolean>;
  /** Checkout's question in one read: the buyer (null when unknown or deleted) and payerMatches. */
  checkBuyer(
    identityId: string,
    payer: { name: string; idNumber: string },
  ): Promise<{ buyer: BuyerIdentity | null; payerIsBuyer: boolean }>;
  /** Decrypts the buyer's fields; DecryptionFailed when the key is gone. */
  revealBuyer(identityId: string): Promise<BuyerPersonalData>;
}
