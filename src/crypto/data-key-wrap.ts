import { DecryptionFailed } from '../errors';
import { openWith, sealWith } from './cipher-suite';
import type { CipherAlgorithm } from './crypto-profile';
import { decodeEnvelope, encodeEnvelope, formatFor, wrappedKeyAad } from './envelope-format';
import type { VersionedKey } from './keyring';

/**
 * Wraps a subject's data key with a KEK, in the KEK version's own algorithm
 * (`dk1` AES-256-GCM or `dg1` SM4-CTR + HMAC-SM3; AAD = format, subject, KEK
 * version, data key version).
 */
export function wrapDataKey(
  kek: VersionedKey<CipherAlgorithm>,
  subjectId: string,
  dataKeyVersion: number,
  dataKey: Buffer,
): string {
  const format = formatFor('wrapped-key', kek.algorithm);
  const aad = wrappedKeyAad(subjectId, kek.version, dataKeyVersion, format);
  const sealed = sealWith(kek.algorithm, kek.key, dataKey, aad);
  return encodeEnvelope({ format, keyVersion: kek.version, sealed });
}

/** The KEK version a wrapped data key needs; DecryptionFailed when the string is malformed. */
export function wrappingKekVersion(wrappedKey: string): number {
  return decodeEnvelope(wrappedKey, 'wrapped-key').keyVersion;
}

/**
 * Unwraps a data key; DecryptionFailed for a wrong KEK, subject or any altered
 * byte, and for an envelope whose algorithm is not the KEK version's (a key is
 * used with the one algorithm its keyring entry records).
 */
export function unwrapDataKey(
  kek: VersionedKey<CipherAlgorithm>,
  wrappedKey: string,
  subjectId: string,
  dataKeyVersion: number,
): Buffer {
  const envelope = decodeEnvelope(wrappedKey, 'wrapped-key');
  if (envelope.algorithm !== kek.algorithm || envelope.keyVersion !== kek.version) {
    throw new DecryptionFailed();
  }
  const aad = wrappedKeyAad(subjectId, envelope.keyVersion, dataKeyVersion, envelope.format);
  return openWith(envelope.algorithm, kek.key, envelope.sealed, aad);
}
