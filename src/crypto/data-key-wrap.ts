import { open, seal } from './aead';
import {
  decodeEnvelope,
  encodeEnvelope,
  WRAPPED_KEY_FORMAT,
  wrappedKeyAad,
} from './envelope-format';
import type { VersionedKey } from './keyring';

/** Wraps a subject's data key with a KEK (AES-256-GCM, AAD = subject, KEK version, data key version). */
export function wrapDataKey(
  kek: VersionedKey,
  subjectId: string,
  dataKeyVersion: number,
  dataKey: Buffer,
): string {
  const sealed = seal(kek.key, dataKey, wrappedKeyAad(subjectId, kek.version, dataKeyVersion));
  return encodeEnvelope({ format: WRAPPED_KEY_FORMAT, keyVersion: kek.version, sealed });
}

/** The KEK version a wrapped data key needs; DecryptionFailed when the string is malformed. */
export function wrappingKekVersion(wrappedKey: string): number {
  return decodeEnvelope(wrappedKey, WRAPPED_KEY_FORMAT).keyVersion;
}

/** Unwraps a data key; DecryptionFailed for a wrong KEK, subject or any altered byte. */
export function unwrapDataKey(
  kekKey: Buffer,
  wrappedKey: string,
  subjectId: string,
  dataKeyVersion: number,
): Buffer {
  const envelope = decodeEnvelope(wrappedKey, WRAPPED_KEY_FORMAT);
  return open(
    kekKey,
    envelope.sealed,
    wrappedKeyAad(subjectId, envelope.keyVersion, dataKeyVersion),
  );
}
