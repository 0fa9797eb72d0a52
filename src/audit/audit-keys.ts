import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  hash,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import { macOf, type CryptoProfile, type MacAlgorithm } from '../crypto/crypto-profile';
import type { KeySigner } from '../crypto/key-provider';
import {
  generateSm2KeyPair,
  readSm2PrivateKeyPem,
  sm2PrivateKeyPem,
  sm2PublicKeyPem,
  sm2PublicKeySpki,
  sm2Sign,
  sm2Verify,
  type Sm2KeyPair,
} from '../crypto/sm2';
import type { CheckpointAlgorithm } from './audit-chain';

/** File names inside KEYS_DIR. Each key has one use only. */
export const SUBJECT_REF_KEY_FILE = 'audit-subject-ref.key';
export const EVENT_MAC_KEY_FILE = 'audit-event-mac.key';
export const CHECKPOINT_KEY_FILE = 'audit-checkpoint-ed25519.pem';
export const CHECKPOINT_PUBLIC_KEY_FILE = 'audit-checkpoint-ed25519.pub.pem';
/** The gm profile's checkpoint key: SM2, PKCS#8 (created or required under CRYPTO_PROFILE=gm). */
export const SM2_CHECKPOINT_KEY_FILE = 'audit-checkpoint-sm2.pem';
export const SM2_CHECKPOINT_PUBLIC_KEY_FILE = 'audit-checkpoint-sm2.pub.pem';

const MIN_HMAC_KEY_BYTES = 32;

/** Signs the ledger's records with the profile's checkpoint key. */
export interface CheckpointSigner {
  alg: CheckpointAlgorithm;
  /** Stored in (and signed with) every record: names the key that verifies it. */
  keyId: string;
  sign(payload: Buffer): Promise<Buffer>;
}

/** Verifies records signed by one checkpoint key. */
export interface CheckpointVerifier {
  alg: CheckpointAlgorithm;
  keyId: string;
  verify(payload: Buffer, signature: Buffer): boolean;
}

/** Key material the access log needs, loaded once at start-up. */
export interface AuditKeys {
  /** HMAC-SHA-256 key for subjectRef pseudonyms; used for nothing else. */
  subjectRefKey: KeyObject;
  /** Public, stable id of the subjectRef key, stored with every event. */
  subjectRefKeyId: string;
  /**
   * Key authenticating every event (its `hash`); used for nothing else. Only
   * the service holds it: a database writer cannot mint a valid event.
   */
  eventMacKey: KeyObject;
  /**
   * What new events are chained with: HMAC-SHA-256, or HMAC-SM3 under the gm
   * profile (same key; each event's `v` says which, audit-chain.ts).
   */
  eventMacAlgorithm: MacAlgorithm;
  /**
   * Public half of the Ed25519 key signing checkpoints under the intl profile
   * (the token's under KEY_PROVIDER=pkcs11, else the file's); used for nothing else.
   */
  checkpointPublicKey: KeyObject;
  /** SHA-256 (first 16 hex) of the Ed25519 public key's SPKI, stored with each checkpoint. */
  checkpointKeyId: string;
  /** Signs new ledger records: Ed25519 (intl, in the token or from a file) or SM2 (gm). */
  checkpointSigner: CheckpointSigner;
  /** Every checkpoint key known: a ledger written under either profile or provider verifies. */
  checkpointVerifiers: CheckpointVerifier[];
  /** Releases the token's checkpoint key (its PKCS#11 session holder); nothing for files. */
  close(): Promise<void>;
}

/** Start-up refuses to go on: a key file is missing or unusable. Never carries key bytes. */
export class AuditKeyError extends Error {
  override name = 'AuditKeyError';
}

/**
 * Loads the access log's keys from `keysDir`. When `generate` is true
 * (development, test) an absent key is generated and written with mode 0600;
 * in production an absent key is an AuditKeyError, so the service refuses to
 * start. Under the gm profile the SM2 checkpoint key is one of them; under
 * intl it is loaded when present, to verify what a gm period signed.
 *
 * With `tokenCheckpoint` (KEY_PROVIDER=pkcs11) the intl checkpoints are signed
 * in the token with its Ed25519 key. The file Ed25519 key then only verifies
 * (a ledger signed before the move to the token): read when present, required
 * nowhere, still generated outside production so tools reading KEYS_DIR work.
 * CHECKPOINT_PUBLIC_KEY_FILE is the auditor's copy of the key that signs, so
 * it is written from the token's public key.
 */
export function loadAuditKeys(
  keysDir: string,
  {
    generate,
    generateSm2 = generate,
    profile = 'intl',
    tokenCheckpoint = null,
  }: {
    generate: boolean;
    /** The SM2 checkpoint key alone (a first switch to gm makes one for a log that has none). */
    generateSm2?: boolean;
    profile?: CryptoProfile;
    /** The token's Ed25519 checkpoint key (openPkcs11Signer(config, 'checkpoint')). */
    tokenCheckpoint?: KeySigner | null;
  },
): AuditKeys {
  if (tokenCheckpoint && tokenCheckpoint.algorithm !== 'ed25519') {
    throw new AuditKeyError("the token's checkpoint key is not an Ed25519 key");
  }
  const hmacPath = path.join(keysDir, SUBJECT_REF_KEY_FILE);
  const macPath = path.join(keysDir, EVENT_MAC_KEY_FILE);
  const signingPath = path.join(keysDir, CHECKPOINT_KEY_FILE);
  if (generate) {
    fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    createOnce(hmacPath, () => `${randomBytes(32).toString('base64')}\n`);
    createOnce(macPath, () => `${randomBytes(32).toString('base64')}\n`);
    createOnce(signingPath, generateSigningKeyPem);
  }
  const hmacBytes = readHmacKey(hmacPath);
  const macBytes = readHmacKey(macPath);
  const fileEd25519 =
    tokenCheckpoint && !fs.existsSync(signingPath) ? null : fileEd25519Key(signingPath);
  const ed25519 = tokenCheckpoint ? tokenEd25519Key(tokenCheckpoint) : fileEd25519!;
  if (generate) {
    const spki = ed25519.publicKey.export({ format: 'der', type: 'spki' });
    createOnce(path.join(keysDir, CHECKPOINT_PUBLIC_KEY_FILE), () =>
      forge.pem.encode({ type: 'PUBLIC KEY', body: spki.toString('binary') }),
    );
  }
  const sm2 = loadSm2CheckpointKey(keysDir, { generate: generateSm2 && profile === 'gm', profile });
  const ed25519Verifiers = [ed25519];
  if (fileEd25519 && fileEd25519.keyId !== ed25519.keyId) ed25519Verifiers.push(fileEd25519);
  return {
    subjectRefKey: createSecretKey(hmacBytes),
    subjectRefKeyId: `sr-${createHmac('sha256', hmacBytes).update('audit-subject-ref-key-id').digest('hex').slice(0, 16)}`,
    eventMacKey: createSecretKey(macBytes),
    eventMacAlgorithm: macOf(profile),
    checkpointPublicKey: ed25519.publicKey,
    checkpointKeyId: ed25519.keyId,
    checkpointSigner: profile === 'gm' && sm2 ? sm2 : ed25519,
    checkpointVerifiers: sm2 ? [...ed25519Verifiers, sm2] : ed25519Verifiers,
    close: async () => tokenCheckpoint?.close(),
  };
}

type Ed25519CheckpointKey = CheckpointSigner & CheckpointVerifier & { publicKey: KeyObject };

/** `cp-` and the first 16 hex of SHA-256 over the SPKI: the same id for a file or a token key. */
function ed25519KeyId(publicKey: KeyObject): string {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return `cp-${createHash('sha256').update(spki).digest('hex').slice(0, 16)}`;
}

function fileEd25519Key(file: string): Ed25519CheckpointKey & { privateKey: KeyObject } {
  const privateKey = readEd25519PrivateKey(file);
  const publicKey = createPublicKey(privateKey);
  return {
    alg: 'Ed25519',
    keyId: ed25519KeyId(publicKey),
    publicKey,
    privateKey,
    sign: async (payload) => sign(null, payload, privateKey),
    verify: (payload, signature) => verify(null, payload, publicKey, signature),
  };
}

/** Signing is a CKM_EDDSA operation in the token; verifying needs only the public key. */
function tokenEd25519Key(signer: KeySigner): Ed25519CheckpointKey {
  const { publicKey } = signer;
  return {
    alg: 'Ed25519',
    keyId: ed25519KeyId(publicKey),
    publicKey,
    sign: (payload) => signer.sign(payload),
    verify: (payload, signature) => verify(null, payload, publicKey, signature),
  };
}

/**
 * The SM2 checkpoint key: required under gm (generated outside production),
 * read when present under intl. Its id is SM3 of its SPKI (first 16 hex).
 */
function loadSm2CheckpointKey(
  keysDir: string,
  { generate, profile }: { generate: boolean; profile: CryptoProfile },
): (CheckpointSigner & CheckpointVerifier) | null {
  const file = path.join(keysDir, SM2_CHECKPOINT_KEY_FILE);
  if (generate) {
    createOnce(file, () => sm2PrivateKeyPem(generateSm2KeyPair()));
  }
  if (profile !== 'gm' && !fs.existsSync(file)) return null;
  const pair = readSm2Key(file);
  if (generate) {
    createOnce(path.join(keysDir, SM2_CHECKPOINT_PUBLIC_KEY_FILE), () =>
      sm2PublicKeyPem(pair.publicKeyHex),
    );
  }
  return {
    alg: 'SM2',
    keyId: `cp-${hash('sm3', sm2PublicKeySpki(pair.publicKeyHex), 'hex').slice(0, 16)}`,
    sign: async (payload) => sm2Sign(payload, pair),
    verify: (payload, signature) => sm2Verify(payload, signature, pair.publicKeyHex),
  };
}

function readSm2Key(file: string): Sm2KeyPair {
  const pem = readKeyFile(file);
  try {
    return readSm2PrivateKeyPem(pem);
  } catch {
    throw new AuditKeyError(
      `access log signing key is not a PKCS#8 SM2 private key: ${path.basename(file)}`,
    );
  }
}

/**
 * Writes a new key file only if none exists, atomically: the content goes to a
 * temporary file that is then hard-linked into place, so two processes starting
 * at once (parallel test workers, two instances) end up reading the same key.
 */
function createOnce(file: string, content: () => string): void {
  if (fs.existsSync(file)) return;
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temporary, content(), { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

function generateSigningKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  return forge.pem.encode({ type: 'PRIVATE KEY', body: der.toString('binary') });
}

function readKeyFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch {
    throw new AuditKeyError(`access log key file missing or unreadable: ${path.basename(file)}`);
  }
}

/** Accepts raw bytes (at least 32), or the same as hex or base64 text. */
export function readHmacKey(file: string): Buffer {
  const content = readKeyFile(file);
  const text = content.toString('latin1').trim();
  let bytes: Buffer;
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 && text.length >= 64) {
    bytes = Buffer.from(text, 'hex');
  } else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text) && text.length >= 43) {
    bytes = Buffer.from(text, 'base64');
  } else {
    bytes = content;
  }
  if (bytes.length < MIN_HMAC_KEY_BYTES) {
    throw new AuditKeyError(`access log key file is too short: ${path.basename(file)}`);
  }
  return bytes;
}

/**
 * Reads a PKCS#8 PEM Ed25519 private key. node-forge parses the PEM and checks
 * the PKCS#8 structure and the Ed25519 OID (RFC 8410); node:crypto then builds
 * the KeyObject that signs.
 */
export function readEd25519PrivateKey(file: string): KeyObject {
  const pem = readKeyFile(file).toString('utf8');
  try {
    const message = forge.pem.decode(pem).find((entry) => entry.type === 'PRIVATE KEY');
    if (!message || message.procType) throw new Error('no unencrypted PKCS#8 block');
    forge.pki.ed25519.privateKeyFromAsn1(forge.asn1.fromDer(message.body));
    return createPrivateKey({
      key: Buffer.from(message.body, 'binary'),
      format: 'der',
      type: 'pkcs8',
    });
  } catch {
    throw new AuditKeyError(
      `access log signing key is not a PKCS#8 Ed25519 private key: ${path.basename(file)}`,
    );
  }
}
