import {
  constants,
  createHash,
  privateDecrypt,
  privateEncrypt,
  publicEncrypt,
  sign as signWith,
  type KeyObject,
} from 'node:crypto';
import { rsaOaepUnwrap, rsaOaepWrap, type MasterKey } from './master-key';

/**
 * Where the root keys live, behind one small interface, so the service does
 * not care whether a key is a PEM file in KEYS_DIR (`file`, development) or a
 * non-extractable object in an HSM reached over PKCS#11 (`pkcs11`). Only the
 * private-key operations differ; public-key operations (wrapping, verifying)
 * are done by node:crypto in both, since they need no secret.
 */
export const KEY_PROVIDER_KINDS = ['file', 'pkcs11'] as const;
export type KeyProviderKind = (typeof KEY_PROVIDER_KINDS)[number];

/** The hash of RSA-OAEP (RFC 8017 7.1), used for both the label hash and MGF1. */
export type OaepHash = 'sha256' | 'sha1';

export interface MasterKeyProvider {
  readonly kind: KeyProviderKind;
  /** SHA-256 of the public key's SPKI DER, hex: recorded beside every wrapped key (as today). */
  readonly fingerprint: string;
  /** The public half: wrapping needs only this, and the status CLI prints it. */
  readonly publicKey: KeyObject;
  /** Modulus size, logged at start-up and checked against the 3072-bit floor. */
  readonly bits: number;
  /**
   * The OAEP hash `wrap` uses: SHA-256 unless the key's home cannot decrypt it
   * (SoftHSM2 2.6 does OAEP with SHA-1 only); it is recorded in the wrapped bytes.
   */
  readonly oaepHash: OaepHash;
  /**
   * Encrypts a small secret (a 32-byte KEK) to the master key. Synchronous on
   * purpose: it is a public-key operation, done here in every provider.
   */
  wrap(secret: Buffer): Buffer;
  /** The private-key operation: in the token for `pkcs11`. Throws UnwrapError on any failure. */
  unwrap(wrapped: Buffer): Promise<Buffer>;
  /** Releases what the provider holds (the PKCS#11 session); the service calls it when it stops. */
  close(): Promise<void>;
}

/** Signature algorithms the service's signing keys use (one per key, named in what it signs). */
export type SignatureAlgorithm = 'rsa-pkcs1-sha256' | 'ed25519';

/** A signing key whose private half may live where the process cannot read it. */
export interface KeySigner {
  readonly kind: KeyProviderKind;
  readonly algorithm: SignatureAlgorithm;
  /** For verifying (node:crypto `verify`) and for certificates and key ids. */
  readonly publicKey: KeyObject;
  /**
   * Signs the message itself (not a digest): RSASSA-PKCS1-v1_5 with SHA-256
   * (RFC 8017 8.2), or pure Ed25519 (RFC 8032). Asynchronous because a token
   * operation runs off the event loop.
   */
  sign(data: Buffer): Promise<Buffer>;
  /**
   * RSA only: RSASSA-PKCS1-v1_5 over a SHA-256 digest computed elsewhere.
   * Exists because node-forge's CMS builder hands its signer the digest of the
   * signed attributes, not the bytes. An Ed25519 signer rejects it (pure
   * Ed25519 signs the message itself, RFC 8032 5.1.6).
   */
  signDigest(sha256Digest: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

/** RFC 8017 9.2 note 1: the DER DigestInfo prefix of a SHA-256 digest. */
const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** DigestInfo(SHA-256, digest): what RSASSA-PKCS1-v1_5 pads and signs. */
export function sha256DigestInfo(digest: Buffer): Buffer {
  if (digest.length !== 32) throw new Error('a SHA-256 digest is 32 bytes');
  return Buffer.concat([SHA256_DIGEST_INFO_PREFIX, digest]);
}

/** Any unwrap failure, with nothing from the ciphertext or the key in it (jose's rule). */
export class UnwrapError extends Error {
  readonly code = 'UNWRAP_FAILED';
  override name = 'UnwrapError';
}

/** SHA-256 of the SPKI DER, hex: the same name master-key.ts gives the file key. */
export function publicKeyFingerprint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/**
 * The wire format of a wrapped secret, shared by every provider so wrapped
 * keys move between them when the key pair is the same:
 * - exactly one modulus long: RSA-OAEP with SHA-256 and MGF1-SHA-256, the
 *   bytes `rsaOaepWrap` writes today (every stored keyring entry);
 * - `RW` 0x01 <hash id> then one modulus: the tagged form, for an OAEP hash
 *   other than SHA-256 (0x01 SHA-1, 0x02 SHA-256).
 * The two differ in length, so the untagged form is never misread as tagged.
 */
const TAG = Buffer.from([0x52, 0x57, 0x01]);
const HASH_IDS: Record<OaepHash, number> = { sha1: 0x01, sha256: 0x02 };

export function encodeWrapped(hash: OaepHash, ciphertext: Buffer): Buffer {
  if (hash === 'sha256') return ciphertext;
  return Buffer.concat([TAG, Buffer.from([HASH_IDS[hash]]), ciphertext]);
}

export function decodeWrapped(
  wrapped: Buffer,
  modulusBytes: number,
): { hash: OaepHash; ciphertext: Buffer } {
  if (wrapped.length === modulusBytes) return { hash: 'sha256', ciphertext: wrapped };
  if (wrapped.length === modulusBytes + TAG.length + 1 && wrapped.subarray(0, 3).equals(TAG)) {
    const id = wrapped[TAG.length];
    const hash = (Object.keys(HASH_IDS) as OaepHash[]).find((name) => HASH_IDS[name] === id);
    if (hash) return { hash, ciphertext: wrapped.subarray(TAG.length + 1) };
  }
  throw new UnwrapError('the wrapped key is not in a known format for this master key');
}

/** Public-key half of the format, for every provider. */
export function oaepWrap(publicKey: KeyObject, hash: OaepHash, secret: Buffer): Buffer {
  if (hash === 'sha256') return rsaOaepWrap(publicKey, secret);
  const ciphertext = publicEncrypt(
    { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
    secret,
  );
  return encodeWrapped(hash, ciphertext);
}

/**
 * Today's PEM master key (master-key.ts, unchanged) behind the interface.
 * `oaepHash: 'sha1'` writes the tagged form a SoftHSM2 token would; reading
 * accepts both forms whatever it writes.
 */
export function createFileMasterKeyProvider(
  masterKey: MasterKey,
  { oaepHash = 'sha256' }: { oaepHash?: OaepHash } = {},
): MasterKeyProvider {
  const modulusBytes = Math.ceil(masterKey.bits / 8);
  return {
    kind: 'file',
    fingerprint: masterKey.fingerprint,
    publicKey: masterKey.publicKey,
    bits: masterKey.bits,
    oaepHash,
    wrap: (secret) => oaepWrap(masterKey.publicKey, oaepHash, secret),
    async unwrap(wrapped) {
      const { hash, ciphertext } = decodeWrapped(wrapped, modulusBytes);
      try {
        if (hash === 'sha256') return rsaOaepUnwrap(masterKey.privateKey, ciphertext);
        return privateDecrypt(
          { key: masterKey.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
          ciphertext,
        );
      } catch {
        throw new UnwrapError('the wrapped key cannot be unwrapped with this master key');
      }
    },
    async close() {},
  };
}

/** A PEM signing key (the checkpoint Ed25519 key, the disclosure RSA key) behind the interface. */
export function createFileSigner(privateKey: KeyObject, publicKey: KeyObject): KeySigner {
  const algorithm = signatureAlgorithmOf(publicKey);
  return {
    kind: 'file',
    algorithm,
    publicKey,
    async sign(data) {
      return signWith(algorithm === 'ed25519' ? null : 'sha256', data, privateKey);
    },
    async signDigest(digest) {
      if (algorithm !== 'rsa-pkcs1-sha256') throw new Error('an Ed25519 key signs messages only');
      const digestInfo = sha256DigestInfo(digest);
      return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo);
    },
    async close() {},
  };
}

export function signatureAlgorithmOf(publicKey: KeyObject): SignatureAlgorithm {
  if (publicKey.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (publicKey.asymmetricKeyType === 'rsa') return 'rsa-pkcs1-sha256';
  throw new Error(`no signature algorithm for a ${publicKey.asymmetricKeyType} key`);
}
