/** The buyer's identity as a legal hold keeps it. */
export interface HeldBuyer {
  name: string;
  idNumber: string;
  phone: string;
}

/**
 * What erasure keeps because the law requires it (src/retention/): the
 * identities module calls it before it destroys the subject's key.
 */
export interface ErasureHold {
  /**
   * Seals the identity's transaction records and the buyer under the
   * legal-retention key, once per identity ('kept' on a retry), or does
   * nothing when it has none ('none'). `readBuyer` decrypts the identity and
   * is called only when a hold is written. Rejects (503) when the hold
   * cannot be written: the erasure must then not go on.
   */
  retain(subject: {
    identityId: string;
    personRef: string | null;
    readBuyer: () => Promise<HeldBuyer>;
  }): Promise<'held' | 'kept' | 'none'>;
}
