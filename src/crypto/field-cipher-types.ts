/**
 * The field-encryption surface every store with personal data uses: the
 * capabilities depend on this interface, src/crypto/field-cipher.ts
 * implements it.
 */

/** Where a ciphertext lives: bound into the AES-GCM additional data. */
export interface FieldRef {
  /** The data subject whose data key encrypts this field (the identity id). */
  subjectId: string;
  collection: string;
  recordId: string;
  field: string;
}

/** Versioned ciphertext as stored in MongoDB (a string, so it survives any engine). */
export type EncryptedField = string;

export interface FieldCipher {
  /** Creates the subject's data key (idempotent): call before the first encrypt. */
  ensureSubjectKey(subjectId: string): Promise<void>;
  encrypt(ref: FieldRef, plaintext: string | Buffer): Promise<EncryptedField>;
  /** Rejects with DecryptionFailed (no detail) for any failure, incl. a destroyed key. */
  decrypt(ref: FieldRef, ciphertext: EncryptedField): Promise<Buffer>;
  decryptText(ref: FieldRef, ciphertext: EncryptedField): Promise<string>;
  /**
   * The subject's data key, without unwrapping it: `present`, `destroyed`
   * (crypto-shredded by an erasure) or `missing` (never made, or damaged).
   */
  subjectKeyState(subjectId: string): Promise<'present' | 'destroyed' | 'missing'>;
  /** Whether a ciphertext is in the format new fields are sealed in (nothing is decrypted). */
  isCurrent(ciphertext: EncryptedField): boolean;
  /** Crypto-shredding: destroys the subject's data key for good. */
  destroySubjectKey(subjectId: string): Promise<void>;
}
