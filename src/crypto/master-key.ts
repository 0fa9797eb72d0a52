import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

/**
 * The root of the key hierarchy: an RSA key pair kept as PEM files in
 * KEYS_DIR, never in the database. It only wraps key-encryption keys
 * (RSA-OAEP with SHA-256, RFC 8017 7.1), so it is used a handful of times per
 * start-up. node-forge writes and parses the PEM/PKCS#8 files and the X.509
 * certificate; node:crypto does the RSA operations.
 */
export const MASTER_KEY_FILES = {
  privateKey: 'master-key.pem',
  publicKey: 'master-public.pem',
  certificate: 'master-cert.pem',
} as const;

export const MIN_MASTER_KEY_BITS = 3072;
export const DEFAULT_MASTER_KEY_BITS = 3072;

export interface MasterKey {
  publicKey: KeyObject;
  privateKey: KeyObject;
  /** SHA-256 of the public key (SPKI DER), hex: names the key without revealing anything. */
  fingerprint: string;
  bits: number;
}

export class MasterKeyError extends Error {}

function filePaths(dir: string) {
  return {
    privateKey: path.join(dir, MASTER_KEY_FILES.privateKey),
    publicKey: path.join(dir, MASTER_KEY_FILES.publicKey),
    certificate: path.join(dir, MASTER_KEY_FILES.certificate),
  };
}

/** True when the private key file is present (the others can be derived from it). */
export function masterKeyExists(dir: string): boolean {
  return fs.existsSync(filePaths(dir).privateKey);
}

/** True when the private key file grants nothing to group or others (0600 or stricter). */
export function masterKeyIsPrivate(dir: string): boolean {
  return (fs.statSync(filePaths(dir).privateKey).mode & 0o077) === 0;
}

/** A self-signed certificate for the public half, so it can be handed out and checked. */
function selfSignedCertificate(keys: forge.pki.rsa.KeyPair, years: number): forge.pki.Certificate {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = keys.publicKey;
  // Positive serial: a leading 0x01 nibble keeps the DER integer from reading as negative.
  certificate.serialNumber = '01' + randomBytes(15).toString('hex');
  const notBefore = new Date();
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + years);
  certificate.validity.notBefore = notBefore;
  certificate.validity.notAfter = notAfter;
  const subject = [
    { name: 'commonName', value: 'customs-identity master key' },
    { name: 'organizationName', value: 'customs-identity-service' },
  ];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', critical: true, keyEncipherment: true, digitalSignature: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  certificate.sign(keys.privateKey, forge.md.sha256.create());
  return certificate;
}

/**
 * Generates a master key pair and writes it: PKCS#8 private key (mode 0600),
 * SPKI public key and a self-signed X.509 certificate. Refuses to overwrite an
 * existing key unless `force`: losing it makes every stored record unreadable.
 */
export function generateMasterKeyFiles(
  dir: string,
  options: { bits?: number; force?: boolean; certificateYears?: number } = {},
): { fingerprint: string; files: string[] } {
  const bits = options.bits ?? DEFAULT_MASTER_KEY_BITS;
  if (!Number.isInteger(bits) || bits < MIN_MASTER_KEY_BITS) {
    throw new MasterKeyError(`master key must have at least ${MIN_MASTER_KEY_BITS} bits`);
  }
  const paths = filePaths(dir);
  if (masterKeyExists(dir) && !options.force) {
    throw new MasterKeyError('a master key already exists in KEYS_DIR; refusing to overwrite it');
  }
  // forge delegates to node:crypto's native generator when it is available (it is in Node).
  const keys = forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 });
  const privatePem = forge.pki.privateKeyInfoToPem(
    forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keys.privateKey)),
  );
  const publicPem = forge.pki.publicKeyToPem(keys.publicKey);
  const certificatePem = forge.pki.certificateToPem(
    selfSignedCertificate(keys, options.certificateYears ?? 10),
  );
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomically(paths.privateKey, privatePem, 0o600);
  writeAtomically(paths.publicKey, publicPem, 0o644);
  writeAtomically(paths.certificate, certificatePem, 0o644);
  return {
    fingerprint: fingerprintOf(createPublicKey(publicPem)),
    files: [paths.privateKey, paths.publicKey, paths.certificate],
  };
}

function writeAtomically(file: string, content: string, mode: number): void {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, content, { mode });
  fs.renameSync(temporary, file);
}

function fingerprintOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/**
 * Reads and checks the master key: a PKCS#8 RSA key of at least 3072 bits,
 * whose public file and certificate (when present) match it.
 */
export function loadMasterKey(dir: string): MasterKey {
  const paths = filePaths(dir);
  if (!masterKeyExists(dir)) throw new MasterKeyError('no master key in KEYS_DIR');
  const privatePem = fs.readFileSync(paths.privateKey, 'utf8');
  let forgeKey: forge.pki.rsa.PrivateKey;
  try {
    forgeKey = forge.pki.privateKeyFromPem(privatePem) as forge.pki.rsa.PrivateKey;
  } catch {
    throw new MasterKeyError('the master key file is not a readable PEM RSA private key');
  }
  const bits = forgeKey.n.bitLength();
  if (bits < MIN_MASTER_KEY_BITS) {
    throw new MasterKeyError(`the master key has fewer than ${MIN_MASTER_KEY_BITS} bits`);
  }
  const privateKey = createPrivateKey(privatePem);
  const publicKey = createPublicKey(privateKey);
  const modulus = forgeKey.n.toString(16);
  if (fs.existsSync(paths.publicKey)) {
    const filed = forge.pki.publicKeyFromPem(fs.readFileSync(paths.publicKey, 'utf8'));
    if (filed.n.toString(16) !== modulus) {
      throw new MasterKeyError('the master public key file does not match the private key');
    }
  }
  if (fs.existsSync(paths.certificate)) {
    const certificate = forge.pki.certificateFromPem(fs.readFileSync(paths.certificate, 'utf8'));
    if ((certificate.publicKey as forge.pki.rsa.PublicKey).n.toString(16) !== modulus) {
      throw new MasterKeyError('the master certificate does not match the private key');
    }
  }
  return { publicKey, privateKey, fingerprint: fingerprintOf(publicKey), bits };
}

const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;

/** RSA-OAEP (SHA-256) encryption of a small secret (a key) to the master public key. */
export function rsaOaepWrap(publicKey: KeyObject, secret: Buffer): Buffer {
  return publicEncrypt({ key: publicKey, ...OAEP }, secret);
}

/** The inverse of rsaOaepWrap; throws on any failure (callers decide what that means). */
export function rsaOaepUnwrap(privateKey: KeyObject, wrapped: Buffer): Buffer {
  return privateDecrypt({ key: privateKey, ...OAEP }, wrapped);
}
