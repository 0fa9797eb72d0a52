import { hmacBase64Url, open, seal, type Sealed } from './aead';
import type { CipherAlgorithm, MacAlgorithm } from './crypto-profile';
import { openSm4, sealSm4 } from './sm4-aead';

/** Seals with the named algorithm (aead.ts or sm4-aead.ts). */
export function sealWith(
  algorithm: CipherAlgorithm,
  key: Buffer,
  plaintext: Buffer,
  aad: Buffer,
): Sealed {
  return algorithm === 'sm4-ctr-hmac-sm3'
    ? sealSm4(key, plaintext, aad)
    : seal(key, plaintext, aad);
}

/** Opens with the named algorithm; DecryptionFailed (no detail) for any failure. */
export function openWith(
  algorithm: CipherAlgorithm,
  key: Buffer,
  sealed: Sealed,
  aad: Buffer,
): Buffer {
  return algorithm === 'sm4-ctr-hmac-sm3' ? openSm4(key, sealed, aad) : open(key, sealed, aad);
}

/** A keyed blind index (base64url) with the named MAC. */
export function macWith(algorithm: MacAlgorithm, key: Buffer, message: string): string {
  return hmacBase64Url(key, message, algorithm === 'hmac-sm3' ? 'sm3' : 'sha256');
}
