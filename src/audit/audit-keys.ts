import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

/** File names inside KEYS_DIR. Each key has one use only. */
export const SUBJECT_REF_KEY_FILE = 'audit-subject-ref.key';
export const EVENT_MAC_KEY_FILE = 'audit-event-mac.key';
export const CHECKPOINT_KEY_FILE = 'audit-checkpoint-ed25519.pem';
export const CHECKPOINT_PUBLIC_KEY_FILE = 'audit-checkpoint-ed25519.pub.pem';

const MIN_HMAC_KEY_BYTES = 32;

/** Key material the access log needs, loaded once at start-up. */
export interface AuditKeys {
  /** HMAC-SHA-256 key for subjectRef pseudonyms; used for nothing else. */
  subjectRefKey: KeyObject;
  /** Public, stable id of the subjectRef key, stored with every event. */
  subjectRefKeyId: string;
  /**
   * HMAC-SHA-256 key authenticating every event (its `hash`); used for nothing
   * else. Only the service holds it: a database writer cannot mint a valid event.
   */
  eventMacKey: KeyObject;
  /** Ed25519 key signing checkpoints; used for nothing else. */
  checkpointPrivateKey: KeyObject;
  checkpointPublicKey: KeyObject;
  /** SHA-256 (first 16 hex) of the public key's SPKI, stored with each checkpoint. */
  checkpointKeyId: string;
}

/** Start-up refuses to go on: a key file is missing or unusable. Never carries key bytes. */
export class AuditKeyError extends Error {
  override name = 'AuditKeyError';
}

/**
 * Loads the access log's keys from `keysDir`. When `generate` is true
 * (development, test) an absent key is generated and written with mode 0600;
 * in production an absent key is an AuditKeyError, so the service refuses to start.
 */
export function loadAuditKeys(keysDir: string, { generate }: { generate: boolean }): AuditKeys {
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
  const checkpointPrivateKey = readEd25519PrivateKey(signingPath);
  const checkpointPublicKey = createPublicKey(checkpointPrivateKey);
  const spki = checkpointPublicKey.export({ format: 'der', type: 'spki' });
  if (generate) {
    createOnce(path.join(keysDir, CHECKPOINT_PUBLIC_KEY_FILE), () =>
      forge.pem.encode({ type: 'PUBLIC KEY', body: spki.toString('binary') }),
    );
  }
  return {
    subjectRefKey: createSecretKey(hmacBytes),
    subjectRefKeyId: `sr-${createHmac('sha256', hmacBytes).update('audit-subject-ref-key-id').digest('hex').slice(0, 16)}`,
    eventMacKey: createSecretKey(macBytes),
    checkpointPrivateKey,
    checkpointPublicKey,
    checkpointKeyId: `cp-${createHash('sha256').update(spki).digest('hex').slice(0, 16)}`,
  };
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
