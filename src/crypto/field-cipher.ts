import { isUtf8 } from 'node:buffer';
import { isDatabaseUnavailable } from '../db/database-errors';
import { DatabaseUnavailable, DecryptionFailed, NotFound, ServiceUnavailable } from '../errors';
import { randomKey, wipe, type Sealed } from './aead';
import { openWith, sealWith } from './cipher-suite';
import type { CipherAlgorithm } from './crypto-profile';
import { unwrapDataKey, wrapDataKey, wrappingKekVersion } from './data-key-wrap';
import { decodeEnvelope, encodeEnvelope, fieldAad, formatFor } from './envelope-format';
import type { EncryptedField, FieldCipher, FieldRef } from './field-cipher-types';
import type { Keyring } from './keyring';
import type { SubjectKeyStore } from './subject-key-store';

/** Data keys are not rotated in place (yet): every one is version 1. */
const DATA_KEY_VERSION = 1;
const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const NAME_PATTERN = /^[A-Za-z0-9_.]{1,64}$/;

export interface FieldCipherOptions {
  /** How long an unwrapped data key may stay in memory; 0 disables the cache. */
  cacheMs: number;
  maxCachedKeys: number;
  /**
   * What new field ciphertexts are sealed with (the profile's cipher; default
   * AES-256-GCM). Reading takes whatever each ciphertext's format names.
   */
  algorithm?: CipherAlgorithm;
  now?: () => number;
}

/** The subject's key is destroyed (or was never created): nothing can be encrypted for it. */
export class SubjectKeyUnavailable extends NotFound {
  constructor() {
    super('subject');
  }
}

function assertId(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value))
    throw new TypeError(`${what} is not a valid id`);
}

function assertRef(ref: FieldRef): void {
  if (!ref || typeof ref !== 'object') throw new TypeError('ref must be a FieldRef');
  assertId(ref.subjectId, 'subjectId');
  assertId(ref.recordId, 'recordId');
  if (typeof ref.collection !== 'string' || !NAME_PATTERN.test(ref.collection)) {
    throw new TypeError('collection is not a valid name');
  }
  if (typeof ref.field !== 'string' || !NAME_PATTERN.test(ref.field)) {
    throw new TypeError('field is not a valid name');
  }
}

/**
 * Failures of the infrastructure (keys not loaded yet, database unreachable)
 * are not decryption failures: they pass through, to become a 503.
 */
function isInfrastructureFailure(error: unknown): boolean {
  return (
    error instanceof ServiceUnavailable ||
    error instanceof DatabaseUnavailable ||
    isDatabaseUnavailable(error)
  );
}

/** The FieldCipher with operations for the rotation and the app around it. */
export interface ManagedFieldCipher extends FieldCipher {
  /** Forgets every cached data key (wiping it). */
  clearCache(): void;
}

/**
 * Field-level encryption with one 256-bit data key per data subject, wrapped
 * by the current KEK and stored apart from the data (SubjectKeyStore). Fields
 * are sealed with AES-256-GCM (`ef1`) or SM4-CTR + HMAC-SM3 (`eg1`, keys
 * derived from the data key by HKDF-SM3), as `options.algorithm` says.
 *
 * Longer than 60 lines for a reason: the cache of unwrapped data keys lives in
 * this closure, so nothing outside it can reach a key; each function inside
 * is short.
 */
export function createFieldCipher(
  { keyring, subjectKeys }: { keyring: Keyring; subjectKeys: SubjectKeyStore },
  options: FieldCipherOptions,
): ManagedFieldCipher {
  const now = options.now ?? Date.now;
  const fieldAlgorithm = options.algorithm ?? 'aes-256-gcm';
  const fieldFormat = formatFor('field', fieldAlgorithm);
  const cache = new Map<string, { key: Buffer; expires: number }>();
  // Bumped by every destroy: a load that overlapped a destroy must not cache what it read.
  let destroyEpoch = 0;

  function forget(subjectId: string): void {
    const cached = cache.get(subjectId);
    if (cached) wipe(cached.key);
    cache.delete(subjectId);
  }

  function remember(subjectId: string, key: Buffer): void {
    if (options.cacheMs <= 0) return;
    forget(subjectId);
    if (cache.size >= options.maxCachedKeys) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) forget(oldest);
    }
    cache.set(subjectId, { key: Buffer.from(key), expires: now() + options.cacheMs });
  }

  function cached(subjectId: string): Buffer | null {
    const entry = cache.get(subjectId);
    if (!entry) return null;
    if (entry.expires <= now()) {
      forget(subjectId);
      return null;
    }
    return entry.key;
  }

  function wrap(subjectId: string, dataKey: Buffer): { wrappedKey: string; kekVersion: number } {
    const kek = keyring.currentKek();
    return {
      wrappedKey: wrapDataKey(kek, subjectId, DATA_KEY_VERSION, dataKey),
      kekVersion: kek.version,
    };
  }

  /**
   * Runs `use` (synchronously) with the subject's data key; null when the
   * subject has none (never created, or destroyed). A key read from the
   * database is wiped afterwards; the cache keeps its own copy, briefly.
   */
  function withDataKey<T>(subjectId: string, use: (dataKey: Buffer) => T): T | Promise<T | null> {
    // The hot path (a cached key) stays synchronous: no promise hop per field.
    const hit = cached(subjectId);
    return hit ? use(hit) : withStoredDataKey(subjectId, use);
  }

  async function withStoredDataKey<T>(
    subjectId: string,
    use: (dataKey: Buffer) => T,
  ): Promise<T | null> {
    const epoch = destroyEpoch;
    const entry = await subjectKeys.find(subjectId);
    if (!entry?.wrappedKey || entry.destroyedAt) return null;
    const kek = await keyring.kek(wrappingKekVersion(entry.wrappedKey));
    if (!kek) throw new DecryptionFailed();
    const dataKey = unwrapDataKey(kek, entry.wrappedKey, subjectId, entry.dataKeyVersion);
    try {
      if (epoch === destroyEpoch) remember(subjectId, dataKey);
      return use(dataKey);
    } finally {
      wipe(dataKey);
    }
  }

  async function decrypt(ref: FieldRef, ciphertext: EncryptedField): Promise<Buffer> {
    try {
      assertRef(ref);
      const envelope = decodeEnvelope(ciphertext, 'field');
      if (envelope.keyVersion !== DATA_KEY_VERSION) throw new DecryptionFailed();
      const aad = fieldAad(ref, envelope.keyVersion, envelope.format);
      const plaintext = await withDataKey(ref.subjectId, (dataKey) =>
        openWith(envelope.algorithm, dataKey, envelope.sealed, aad),
      );
      if (!plaintext) throw new DecryptionFailed();
      return plaintext;
    } catch (error) {
      if (isInfrastructureFailure(error)) throw error;
      // One answer for every cause: a destroyed key, a moved or altered ciphertext, a bad ref.
      throw new DecryptionFailed();
    }
  }

  async function encrypt(ref: FieldRef, plaintext: string | Buffer): Promise<EncryptedField> {
    assertRef(ref);
    const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    if (!Buffer.isBuffer(bytes)) throw new TypeError('plaintext must be a string or a Buffer');
    const aad = fieldAad(ref, DATA_KEY_VERSION, fieldFormat);
    let sealed: Sealed | null;
    try {
      sealed = await withDataKey(ref.subjectId, (dataKey) =>
        sealWith(fieldAlgorithm, dataKey, bytes, aad),
      );
    } catch (error) {
      // The stored data key would not unwrap: the same opaque failure as any decryption.
      if (isInfrastructureFailure(error)) throw error;
      throw new DecryptionFailed();
    }
    if (!sealed) throw new SubjectKeyUnavailable();
    return encodeEnvelope({ format: fieldFormat, keyVersion: DATA_KEY_VERSION, sealed });
  }

  function isCurrent(ciphertext: EncryptedField): boolean {
    try {
      return decodeEnvelope(ciphertext, 'field').format === fieldFormat;
    } catch {
      // Not a field ciphertext: decrypt() gives the one opaque answer for it.
      return false;
    }
  }

  return {
    async ensureSubjectKey(subjectId) {
      assertId(subjectId, 'subjectId');
      const existing = await subjectKeys.find(subjectId);
      if (existing) {
        if (!existing.wrappedKey || existing.destroyedAt) throw new SubjectKeyUnavailable();
        return;
      }
      const dataKey = randomKey();
      try {
        const { wrappedKey, kekVersion } = wrap(subjectId, dataKey);
        const inserted = await subjectKeys.insert({
          subjectId,
          dataKeyVersion: DATA_KEY_VERSION,
          kekVersion,
          wrappedKey,
          createdAt: new Date(),
          destroyedAt: null,
        });
        if (!inserted) {
          // Another request created it first; theirs is the key. Unless it was destroyed meanwhile.
          const winner = await subjectKeys.find(subjectId);
          if (!winner?.wrappedKey) throw new SubjectKeyUnavailable();
          return;
        }
        // A rotation elsewhere may have retired our KEK between our read of it and our write:
        // re-wrap at once under the newest version, while the plain key is still in hand.
        if (await keyring.isKekRetired(kekVersion)) {
          await keyring.reload();
          const again = wrap(subjectId, dataKey);
          await subjectKeys.rewrap(subjectId, wrappedKey, again.wrappedKey, again.kekVersion);
        }
      } finally {
        wipe(dataKey);
      }
    },

    encrypt,

    decrypt,

    async decryptText(ref, ciphertext) {
      const bytes = await decrypt(ref, ciphertext);
      try {
        if (!isUtf8(bytes)) throw new DecryptionFailed();
        return bytes.toString('utf8');
      } finally {
        wipe(bytes);
      }
    },

    isCurrent,

    async subjectKeyState(subjectId) {
      assertId(subjectId, 'subjectId');
      const entry = await subjectKeys.find(subjectId);
      if (entry?.destroyedAt) return 'destroyed';
      return entry?.wrappedKey ? 'present' : 'missing';
    },

    async destroySubjectKey(subjectId) {
      assertId(subjectId, 'subjectId');
      destroyEpoch += 1;
      forget(subjectId);
      await subjectKeys.destroy(subjectId, new Date());
      destroyEpoch += 1;
      forget(subjectId);
    },

    clearCache() {
      for (const subjectId of [...cache.keys()]) forget(subjectId);
    },
  };
}
