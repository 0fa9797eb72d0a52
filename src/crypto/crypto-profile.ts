/**
 * The two algorithm suites (docs/cryptography.md). `intl`: AES-256-GCM,
 * HMAC-SHA-256, Ed25519 and RSA. `gm`: the Chinese national algorithms, SM4
 * (GB/T 32907) for confidentiality, SM3 (GB/T 32905) for MACs and hashes, SM2
 * (GB/T 32918) for signatures. The profile decides what NEW keys and
 * ciphertexts use; whatever is stored says its own algorithm, so data written
 * under either profile stays readable under the other.
 */
export const CRYPTO_PROFILES = ['intl', 'gm'] as const;
export type CryptoProfile = (typeof CRYPTO_PROFILES)[number];

/** Authenticated encryption of fields and of wrapped data keys. */
export const CIPHER_ALGORITHMS = ['aes-256-gcm', 'sm4-ctr-hmac-sm3'] as const;
export type CipherAlgorithm = (typeof CIPHER_ALGORITHMS)[number];

/** Keyed hashes: blind indexes and the access log's event MACs. */
export const MAC_ALGORITHMS = ['hmac-sha256', 'hmac-sm3'] as const;
export type MacAlgorithm = (typeof MAC_ALGORITHMS)[number];

/** What a keyring entry's key is used with (recorded per key version). */
export type KeyAlgorithm = CipherAlgorithm | MacAlgorithm;

export function cipherOf(profile: CryptoProfile): CipherAlgorithm {
  return profile === 'gm' ? 'sm4-ctr-hmac-sm3' : 'aes-256-gcm';
}

export function macOf(profile: CryptoProfile): MacAlgorithm {
  return profile === 'gm' ? 'hmac-sm3' : 'hmac-sha256';
}

/** node:crypto's digest name behind a MAC algorithm. */
export function digestOf(algorithm: MacAlgorithm): 'sha256' | 'sm3' {
  return algorithm === 'hmac-sm3' ? 'sm3' : 'sha256';
}
