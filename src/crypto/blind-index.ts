import { macWith } from './cipher-suite';
import type { BlindIndexPurpose, Keyring } from './keyring';

/**
 * Keyed blind indexes: HMAC-SHA-256 or HMAC-SM3 (the key version's recorded
 * algorithm) of an already normalised value, one key per purpose, so equal values can be found and compared without decrypting
 * and an index of one kind cannot be matched against another. The result is
 * `<key version>:<base64url>`; normalising is the caller's job (it is domain logic).
 *
 * Lookups compare one index, made with the newest key version of its purpose,
 * so blind-index keys are never rotated (a new version would miss every record
 * indexed with the old one): a database keeps the algorithm its keys were made
 * with, HMAC-SM3 only when they were created under CRYPTO_PROFILE=gm
 * (docs/cryptography.md).
 */
export interface BlindIndex {
  idNumber(normalisedIdNumber: string): string;
  name(normalisedName: string): string;
  /**
   * The natural person behind an id number, for records kept about the
   * person rather than one registration (the quota ledger). Its own key:
   * it outlives the identity record, whose idNumber index is dropped on
   * erasure, and it never changes for a person.
   */
  person(normalisedIdNumber: string): string;
}

export function createBlindIndex(keyring: Keyring): BlindIndex {
  const compute = (purpose: BlindIndexPurpose, value: string) => {
    if (typeof value !== 'string' || value.length === 0)
      throw new TypeError('value must be a non-empty string');
    const { version, key, algorithm } = keyring.blindIndexKey(purpose);
    return `${version}:${macWith(algorithm, key, value)}`;
  };
  return {
    idNumber: (value) => compute('blind-index:idNumber', value),
    name: (value) => compute('blind-index:name', value),
    person: (value) => compute('blind-index:person', value),
  };
}
