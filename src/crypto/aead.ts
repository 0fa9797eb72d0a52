import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { DecryptionFailed } from '../errors';

/** The intl profile's symmetric algorithm (NIST SP 800-38D); sm4-aead.ts is the gm one. */
const ALGORITHM = 'aes-256-gcm';
export const KEY_BYTES = 32;
/** 96-bit nonce: the size GCM is specified for (SP 800-38D 8.2), fresh from the CSPRNG each time. */
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** A sealed message: nonce, ciphertext and tag, kept apart so a format can lay them out. */
export interface Sealed {
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function assertKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new TypeError('key must be a 32-byte Buffer');
  }
}

/**
 * Nonces come from a pool of CSPRNG output, each 12-byte slice handed out
 * once (the way Node pools randomUUID): one syscall per 256 nonces instead
 * of one each. A used pool is dropped, never refilled in place.
 */
const NONCE_POOL_BYTES = NONCE_BYTES * 256;
let noncePool = Buffer.alloc(0);
let noncePoolOffset = 0;

function freshNonce(): Buffer {
  if (noncePoolOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES);
    noncePoolOffset = 0;
  }
  const nonce = noncePool.subarray(noncePoolOffset, noncePoolOffset + NONCE_BYTES);
  noncePoolOffset += NONCE_BYTES;
  return nonce;
}

/** A fresh random AES-256 key. */
export function randomKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** AES-256-GCM with a fresh random nonce; `aad` is authenticated, not encrypted. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  assertKey(key);
  if (!Buffer.isBuffer(plaintext)) throw new TypeError('plaintext must be a Buffer');
  const nonce = freshNonce();
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  // GCM is a stream mode: final() emits no bytes, it only computes the tag.
  const ciphertext = cipher.update(plaintext);
  cipher.final();
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Opens a sealed message. Any failure (wrong key, wrong AAD, altered byte,
 * truncated tag) is DecryptionFailed, with no detail.
 */
export function open(key: Buffer, sealed: Sealed, aad: Buffer): Buffer {
  assertKey(key);
  if (sealed.nonce.length !== NONCE_BYTES || sealed.tag.length !== TAG_BYTES) {
    throw new DecryptionFailed();
  }
  try {
    const decipher = createDecipheriv(ALGORITHM, key, sealed.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.tag);
    const plaintext = decipher.update(sealed.ciphertext);
    decipher.final(); // throws unless the tag verifies
    return plaintext;
  } catch {
    throw new DecryptionFailed();
  }
}

/**
 * HMAC-SHA-256 (or HMAC-SM3, for the gm profile) of a UTF-8 string,
 * base64url: a keyed, deterministic blind index. (Not hex: a run of decimal
 * digits in hex could look like a phone or id number to a scanner for plaintext.)
 */
export function hmacBase64Url(
  key: Buffer,
  message: string,
  digest: 'sha256' | 'sm3' = 'sha256',
): string {
  assertKey(key);
  return createHmac(digest, key).update(message, 'utf8').digest('base64url');
}

/**
 * Unambiguous additional data from parts joined by `|`. No part may contain
 * the separator (callers' ids and names are restricted to [A-Za-z0-9._:-]),
 * so no two different part lists give the same bytes.
 */
export function aadOf(parts: readonly (string | number)[]): Buffer {
  for (const part of parts) {
    if (typeof part === 'string' && part.includes('|'))
      throw new TypeError('AAD part contains the separator');
  }
  return Buffer.from(parts.join('|'), 'utf8');
}

/** Overwrites key material in place; the garbage collector may still have copies, so this is hygiene only. */
export function wipe(buffer: Buffer | null | undefined): void {
  buffer?.fill(0);
}
