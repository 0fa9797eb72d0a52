import { DecryptionFailed } from '../errors';
import { aadOf, NONCE_BYTES, TAG_BYTES, type Sealed } from './aead';

/**
 * Versioned string layouts of everything sealed with AES-256-GCM:
 *
 *   <format>.<keyVersion>.<nonce>.<ciphertext>.<tag>   (base64url parts)
 *
 * `ef1` is a field encrypted with a subject's data key (keyVersion = data key
 * version); `dk1` is a data key wrapped by a key-encryption key (keyVersion =
 * KEK version). The format tag and version are also bound into the AAD, so a
 * string relabelled to another format or version does not open.
 */
export const FIELD_FORMAT = 'ef1';
export const WRAPPED_KEY_FORMAT = 'dk1';
const FORMATS = new Set([FIELD_FORMAT, WRAPPED_KEY_FORMAT]);

const B64URL = '[A-Za-z0-9_-]';
const LAYOUT = new RegExp(
  `^([a-z0-9]{2,8})\\.([1-9][0-9]{0,8})\\.(${B64URL}+)\\.(${B64URL}*)\\.(${B64URL}+)$`,
);

export interface Envelope {
  format: string;
  keyVersion: number;
  sealed: Sealed;
}

export function encodeEnvelope({ format, keyVersion, sealed }: Envelope): string {
  return [
    format,
    String(keyVersion),
    sealed.nonce.toString('base64url'),
    sealed.ciphertext.toString('base64url'),
    sealed.tag.toString('base64url'),
  ].join('.');
}

/** Parses a stored string; anything malformed is DecryptionFailed (no detail). */
export function decodeEnvelope(value: unknown, expectedFormat: string): Envelope {
  if (typeof value !== 'string') throw new DecryptionFailed();
  const match = LAYOUT.exec(value);
  if (!match || match[1] !== expectedFormat || !FORMATS.has(match[1])) throw new DecryptionFailed();
  const sealed: Sealed = {
    nonce: Buffer.from(match[3]!, 'base64url'),
    ciphertext: Buffer.from(match[4]!, 'base64url'),
    tag: Buffer.from(match[5]!, 'base64url'),
  };
  if (sealed.nonce.length !== NONCE_BYTES || sealed.tag.length !== TAG_BYTES) {
    throw new DecryptionFailed();
  }
  return { format: match[1], keyVersion: Number(match[2]), sealed };
}

/** AAD of a field: ties the ciphertext to its subject, collection, record, field and key version. */
export function fieldAad(
  ref: { subjectId: string; collection: string; recordId: string; field: string },
  keyVersion: number,
): Buffer {
  return aadOf([FIELD_FORMAT, ref.collection, ref.field, ref.recordId, ref.subjectId, keyVersion]);
}

/** AAD of a wrapped data key: ties it to its subject and to the KEK version that wraps it. */
export function wrappedKeyAad(
  subjectId: string,
  kekVersion: number,
  dataKeyVersion: number,
): Buffer {
  return aadOf([WRAPPED_KEY_FORMAT, subjectId, kekVersion, dataKeyVersion]);
}
