import { DecryptionFailed } from '../errors';
import { aadOf, NONCE_BYTES, TAG_BYTES, type Sealed } from './aead';
import type { CipherAlgorithm } from './crypto-profile';
import { SM4_IV_BYTES, SM4_TAG_BYTES } from './sm4-aead';

/**
 * Versioned string layouts of everything sealed for storage:
 *
 *   <format>.<keyVersion>.<nonce>.<ciphertext>.<tag>   (base64url parts)
 *
 * The format tag names what the string is and the algorithm that sealed it:
 * `ef1` / `eg1` a field encrypted with a subject's data key (keyVersion = data
 * key version), AES-256-GCM / SM4-CTR + HMAC-SM3; `dk1` / `dg1` a data key
 * wrapped by a key-encryption key (keyVersion = KEK version), the same two.
 * The format tag and version are also bound into the AAD, so a string
 * relabelled to another format, algorithm or version does not open.
 */
export const FIELD_FORMAT = 'ef1';
export const WRAPPED_KEY_FORMAT = 'dk1';
export const SM4_FIELD_FORMAT = 'eg1';
export const SM4_WRAPPED_KEY_FORMAT = 'dg1';

export type EnvelopeKind = 'field' | 'wrapped-key';

interface FormatSpec {
  kind: EnvelopeKind;
  algorithm: CipherAlgorithm;
  nonceBytes: number;
  tagBytes: number;
}

const FORMATS: ReadonlyMap<string, FormatSpec> = new Map([
  [
    FIELD_FORMAT,
    { kind: 'field', algorithm: 'aes-256-gcm', nonceBytes: NONCE_BYTES, tagBytes: TAG_BYTES },
  ],
  [
    WRAPPED_KEY_FORMAT,
    { kind: 'wrapped-key', algorithm: 'aes-256-gcm', nonceBytes: NONCE_BYTES, tagBytes: TAG_BYTES },
  ],
  [
    SM4_FIELD_FORMAT,
    {
      kind: 'field',
      algorithm: 'sm4-ctr-hmac-sm3',
      nonceBytes: SM4_IV_BYTES,
      tagBytes: SM4_TAG_BYTES,
    },
  ],
  [
    SM4_WRAPPED_KEY_FORMAT,
    {
      kind: 'wrapped-key',
      algorithm: 'sm4-ctr-hmac-sm3',
      nonceBytes: SM4_IV_BYTES,
      tagBytes: SM4_TAG_BYTES,
    },
  ],
] as const);

/** The format tag for what is sealed (`kind`) with `algorithm`. */
export function formatFor(kind: EnvelopeKind, algorithm: CipherAlgorithm): string {
  for (const [format, spec] of FORMATS) {
    if (spec.kind === kind && spec.algorithm === algorithm) return format;
  }
  throw new TypeError(`no ${kind} format for ${algorithm}`);
}

const B64URL = '[A-Za-z0-9_-]';
const LAYOUT = new RegExp(
  `^([a-z0-9]{2,8})\\.([1-9][0-9]{0,8})\\.(${B64URL}+)\\.(${B64URL}*)\\.(${B64URL}+)$`,
);

export interface Envelope {
  format: string;
  /** The algorithm the format tag names. */
  algorithm: CipherAlgorithm;
  keyVersion: number;
  sealed: Sealed;
}

export function encodeEnvelope({
  format,
  keyVersion,
  sealed,
}: Pick<Envelope, 'format' | 'keyVersion' | 'sealed'>): string {
  return [
    format,
    String(keyVersion),
    sealed.nonce.toString('base64url'),
    sealed.ciphertext.toString('base64url'),
    sealed.tag.toString('base64url'),
  ].join('.');
}

/**
 * Parses a stored string of the expected kind, in any of its algorithms;
 * anything malformed is DecryptionFailed (no detail).
 */
export function decodeEnvelope(value: unknown, expectedKind: EnvelopeKind): Envelope {
  if (typeof value !== 'string') throw new DecryptionFailed();
  const match = LAYOUT.exec(value);
  const spec = match ? FORMATS.get(match[1]!) : undefined;
  if (!match || !spec || spec.kind !== expectedKind) throw new DecryptionFailed();
  const sealed: Sealed = {
    nonce: Buffer.from(match[3]!, 'base64url'),
    ciphertext: Buffer.from(match[4]!, 'base64url'),
    tag: Buffer.from(match[5]!, 'base64url'),
  };
  if (sealed.nonce.length !== spec.nonceBytes || sealed.tag.length !== spec.tagBytes) {
    throw new DecryptionFailed();
  }
  return { format: match[1]!, algorithm: spec.algorithm, keyVersion: Number(match[2]), sealed };
}

/**
 * AAD of a field: ties the ciphertext to its format (so its algorithm),
 * subject, collection, record, field and key version.
 */
export function fieldAad(
  ref: { subjectId: string; collection: string; recordId: string; field: string },
  keyVersion: number,
  format: string = FIELD_FORMAT,
): Buffer {
  return aadOf([format, ref.collection, ref.field, ref.recordId, ref.subjectId, keyVersion]);
}

/** AAD of a wrapped data key: ties it to its format, subject and the KEK version that wraps it. */
export function wrappedKeyAad(
  subjectId: string,
  kekVersion: number,
  dataKeyVersion: number,
  format: string = WRAPPED_KEY_FORMAT,
): Buffer {
  return aadOf([format, subjectId, kekVersion, dataKeyVersion]);
}
