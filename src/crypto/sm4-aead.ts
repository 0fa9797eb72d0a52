import { createCipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { DecryptionFailed } from '../errors';
import { KEY_BYTES, type Sealed } from './aead';

/**
 * SM4-CTR with HMAC-SM3, encrypt-then-MAC: the national-algorithm
 * counterpart of aead.ts (SM4: GB/T 32907; SM3: GB/T 32905; HMAC: GB/T
 * 15852.2 / RFC 2104). Both primitives are OpenSSL's, through node:crypto.
 *
 * Keys: the 32-byte key handed in (a data key or a KEK) is never used as is.
 * HKDF-SM3 (RFC 5869 with SM3) expands it into a 16-byte SM4 key and a
 * 32-byte HMAC-SM3 key, with an info string naming this construction, so the
 * two keys are independent and the same key bytes used with AES-GCM elsewhere
 * give unrelated keys here.
 *
 * Tag: HMAC-SM3 over AAD || IV || ciphertext || bit length of AAD (64-bit
 * big-endian), the layout of RFC 7518 section 5.2.2.1, full 32 bytes: the AAD
 * length makes the split between AAD and ciphertext unambiguous.
 */
export const SM4_IV_BYTES = 16;
export const SM4_TAG_BYTES = 32;
const SM4_KEY_BYTES = 16;
const MAC_KEY_BYTES = 32;
const KDF_INFO = Buffer.from('customs-identity sm4-ctr-hmac-sm3 v1', 'utf8');
const NO_SALT = Buffer.alloc(0);

function assertKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new TypeError('key must be a 32-byte Buffer');
  }
}

/** The SM4 key and the MAC key, derived from one 32-byte key (HKDF-SM3). */
export function deriveSm4Keys(key: Buffer): { encKey: Buffer; macKey: Buffer } {
  const okm = Buffer.from(hkdfSync('sm3', key, NO_SALT, KDF_INFO, SM4_KEY_BYTES + MAC_KEY_BYTES));
  return { encKey: okm.subarray(0, SM4_KEY_BYTES), macKey: okm.subarray(SM4_KEY_BYTES) };
}

function tagOf(macKey: Buffer, aad: Buffer, iv: Buffer, ciphertext: Buffer): Buffer {
  const aadBits = Buffer.alloc(8);
  aadBits.writeBigUInt64BE(BigInt(aad.length) * 8n);
  return createHmac('sm3', macKey)
    .update(aad)
    .update(iv)
    .update(ciphertext)
    .update(aadBits)
    .digest();
}

/** SM4-CTR under a fresh random 128-bit IV (the initial counter block), then HMAC-SM3. */
export function sealSm4(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  assertKey(key);
  if (!Buffer.isBuffer(plaintext)) throw new TypeError('plaintext must be a Buffer');
  const { encKey, macKey } = deriveSm4Keys(key);
  try {
    const iv = randomBytes(SM4_IV_BYTES);
    const cipher = createCipheriv('sm4-ctr', encKey, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { nonce: iv, ciphertext, tag: tagOf(macKey, aad, iv, ciphertext) };
  } finally {
    encKey.fill(0);
    macKey.fill(0);
  }
}

/**
 * Checks the tag first (constant time) and decrypts only then. Any failure is
 * DecryptionFailed, with no detail.
 */
export function openSm4(key: Buffer, sealed: Sealed, aad: Buffer): Buffer {
  assertKey(key);
  if (sealed.nonce.length !== SM4_IV_BYTES || sealed.tag.length !== SM4_TAG_BYTES) {
    throw new DecryptionFailed();
  }
  const { encKey, macKey } = deriveSm4Keys(key);
  try {
    const expected = tagOf(macKey, aad, sealed.nonce, sealed.ciphertext);
    if (!timingSafeEqual(expected, sealed.tag)) throw new DecryptionFailed();
    const decipher = createCipheriv('sm4-ctr', encKey, sealed.nonce);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    throw new DecryptionFailed();
  } finally {
    encKey.fill(0);
    macKey.fill(0);
  }
}
