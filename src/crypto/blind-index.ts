import { hmacBase64Url } from './aead';
import type { Keyring } from './keyring';

/**
 * Keyed blind indexes: HMAC-SHA-256 of an already normalised value, one key
 * per purpose, so equal values can be found and compared without decrypting
 * and an index of one kind cannot be matched against another. The result is
 * `<key version>:<base64url>`; normalising is the caller's job (it is domain logic).
 */
export interface BlindIndex {
  idNumber(normalisedIdNumber: string): string;
  name(normalisedName: string): string;
}

export function createBlindIndex(keyring: Keyring): BlindIndex {
  const compute = (purpose: 'blind-index:idNumber' | 'blind-index:name', value: string) => {
    if (typeof value !== 'string' || value.length === 0)
      throw new TypeError('value must be a non-empty string');
    const { version, key } = keyring.blindIndexKey(purpose);
    return `${version}:${hmacBase64Url(key, value)}`;
  };
  return {
    idNumber: (value) => compute('blind-index:idNumber', value),
    name: (value) => compute('blind-index:name', value),
  };
}
