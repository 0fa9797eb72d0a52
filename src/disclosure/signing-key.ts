import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import type { CryptoProfile } from '../crypto/crypto-profile';
import type { KeySigner } from '../crypto/key-provider';
import type { Pkcs11Config } from '../crypto/pkcs11/pkcs11-config';
import { openPkcs11Signer, readPkcs11Certificate } from '../crypto/pkcs11/pkcs11-signer';
import {
  generateSm2KeyPair,
  readSm2PrivateKeyPem,
  sm2PrivateKeyPem,
  type Sm2KeyPair,
} from '../crypto/sm2';

/** Where the disclosure signing material lives, inside KEYS_DIR. */
export const SIGNING_DIR = 'disclosure-signing';
export const SIGNING_KEY_FILE = 'key.pem';
export const SIGNING_CERT_FILE = 'cert.pem';
/** The gm profile's payload-signing key (SM2, PKCS#8), beside the RSA pair. */
export const SM2_SIGNING_KEY_FILE = 'sm2-key.pem';
/**
 * KEY_PROVIDER=pkcs11: a CA-issued certificate of the token's disclosure key,
 * when an operator puts one there (the self-signed one is in the token).
 */
export const TOKEN_CERT_FILE = 'token-cert.pem';

export interface SigningMaterial {
  privateKey: KeyObject;
  /** The certificate forge parsed, for the PKCS#7 signer identifier. */
  certificate: forge.pki.Certificate;
  certificatePem: string;
  /**
   * Under the gm profile: the SM2 key that signs payloads (detached, see
   * payload-crypto.ts). The RSA pair above still signs the CEB621 XML-DSig.
   */
  sm2: Sm2KeyPair | null;
}

export class SigningKeyError extends Error {}

/**
 * Loads the service's payload-signing key and its X.509 certificate from
 * `KEYS_DIR/disclosure-signing/{key.pem,cert.pem}`. Outside production a
 * missing pair is generated (RSA-3072, self-signed); in production it is
 * required, because partners pin the certificate.
 */
export function loadSigningMaterial({
  keysDir,
  env,
  profile = 'intl',
}: {
  keysDir: string;
  env: 'development' | 'test' | 'production';
  profile?: CryptoProfile;
}): SigningMaterial {
  const dir = path.join(keysDir, SIGNING_DIR);
  if (!fs.existsSync(path.join(dir, SIGNING_KEY_FILE))) {
    if (env === 'production') {
      throw new SigningKeyError(
        `disclosure signing key missing: put ${SIGNING_DIR}/${SIGNING_KEY_FILE} and ${SIGNING_CERT_FILE} in KEYS_DIR`,
      );
    }
    generateDevelopmentMaterial(keysDir);
  }
  return {
    ...readMaterial(dir),
    sm2: profile === 'gm' ? loadSm2SigningKey({ keysDir, env }) : null,
  };
}

/** The disclosure key in the HSM (KEY_PROVIDER=pkcs11) and the certificate partners pin. */
export interface TokenSigningMaterial {
  signer: KeySigner;
  certificatePem: string;
}

/**
 * Opens the disclosure signing key in the token. Its certificate is
 * KEYS_DIR/disclosure-signing/token-cert.pem when an operator put one there (a
 * CA-issued certificate of the token's key), else the self-signed one the
 * ceremony stored next to the key; a certificate of another key stops the start.
 * The file key pair (key.pem, cert.pem) is neither read nor generated.
 */
export async function openTokenSigningMaterial({
  keysDir,
  pkcs11,
}: {
  keysDir: string;
  pkcs11: Pkcs11Config;
}): Promise<TokenSigningMaterial> {
  const signer = await openPkcs11Signer(pkcs11, 'disclosure');
  try {
    const file = path.join(keysDir, SIGNING_DIR, TOKEN_CERT_FILE);
    let certificatePem: string;
    if (fs.existsSync(file)) {
      certificatePem = fs.readFileSync(file, 'utf8');
    } else {
      const der = await readPkcs11Certificate(pkcs11, 'disclosure');
      if (!der) {
        throw new SigningKeyError(
          `disclosure signing key "${pkcs11.keyLabels.disclosure}" has no certificate in the token: put one in KEYS_DIR/${SIGNING_DIR}/${TOKEN_CERT_FILE}`,
        );
      }
      certificatePem = new X509Certificate(der).toString();
    }
    let certificateKey: Buffer;
    try {
      certificateKey = new X509Certificate(certificatePem).publicKey.export({
        type: 'spki',
        format: 'der',
      });
    } catch {
      throw new SigningKeyError('disclosure signing certificate cannot be read (PEM expected)');
    }
    const tokenKey = signer.publicKey.export({ type: 'spki', format: 'der' });
    if (signer.algorithm !== 'rsa-pkcs1-sha256' || !certificateKey.equals(tokenKey)) {
      throw new SigningKeyError(
        'disclosure signing certificate does not match the signing key in the token',
      );
    }
    return { signer, certificatePem };
  } catch (error) {
    await signer.close();
    throw error;
  }
}

/** The SM2 payload-signing key: generated outside production (written once), required in it. */
export function loadSm2SigningKey({
  keysDir,
  env,
}: {
  keysDir: string;
  env: 'development' | 'test' | 'production';
}): Sm2KeyPair {
  const dir = path.join(keysDir, SIGNING_DIR);
  const file = path.join(dir, SM2_SIGNING_KEY_FILE);
  if (!fs.existsSync(file)) {
    if (env === 'production') {
      throw new SigningKeyError(
        `disclosure SM2 signing key missing: put ${SIGNING_DIR}/${SM2_SIGNING_KEY_FILE} in KEYS_DIR (CRYPTO_PROFILE=gm)`,
      );
    }
    // Under KEY_PROVIDER=pkcs11 no RSA file pair made the folder.
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeOnce(file, sm2PrivateKeyPem(generateSm2KeyPair()));
  }
  try {
    return readSm2PrivateKeyPem(fs.readFileSync(file));
  } catch {
    throw new SigningKeyError(
      'disclosure SM2 signing key cannot be read (PKCS#8 PEM, SM2 expected)',
    );
  }
}

/** Writes through a temporary file hard-linked into place: two starting processes read one key. */
function writeOnce(file: string, content: string): void {
  linkOnce(file, content, 0o600);
}

/** writeOnce's work; false when another process's file was there first. */
function linkOnce(file: string, content: string, mode: number): boolean {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temporary, content, { mode, flag: 'wx' });
  try {
    fs.linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

function readMaterial(dir: string): Omit<SigningMaterial, 'sm2'> {
  let privateKey: KeyObject;
  let certificate: forge.pki.Certificate;
  try {
    privateKey = createPrivateKey(fs.readFileSync(path.join(dir, SIGNING_KEY_FILE)));
    certificate = forge.pki.certificateFromPem(
      fs.readFileSync(path.join(dir, SIGNING_CERT_FILE), 'utf8'),
    );
  } catch {
    // The cause may quote file content: it is not passed on.
    throw new SigningKeyError(
      'disclosure signing key or certificate cannot be read (PEM, RSA expected)',
    );
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw new SigningKeyError('disclosure signing key must be an RSA key');
  }
  const certificatePem = forge.pki.certificateToPem(certificate);
  const certKey = createPublicKey(certificatePem).export({ type: 'spki', format: 'der' });
  const ownKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (!certKey.equals(ownKey)) {
    throw new SigningKeyError('disclosure signing certificate does not match the signing key');
  }
  return { privateKey, certificate, certificatePem };
}

/**
 * Writes a fresh key and self-signed certificate. Both go to a temporary
 * folder renamed into place in one step, so two processes starting at once
 * never pair one's key with the other's certificate: the loser's rename fails
 * and it reads the winner's pair.
 */
function generateDevelopmentMaterial(keysDir: string): void {
  fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const certificatePem = selfSignedCertificate(
    keyPem,
    publicKey.export({ type: 'spki', format: 'pem' }) as string,
  );

  const dir = path.join(keysDir, SIGNING_DIR);
  if (fs.existsSync(dir)) {
    // The folder may hold only the SM2 key (a gm start with the RSA key in a token):
    // the certificate goes in first, the key last, since the key's presence is what
    // says the pair is complete; whoever links the certificate first owns the pair.
    if (!linkOnce(path.join(dir, SIGNING_CERT_FILE), certificatePem, 0o644)) return;
    writeOnce(path.join(dir, SIGNING_KEY_FILE), keyPem);
    return;
  }
  const staging = fs.mkdtempSync(path.join(keysDir, `.${SIGNING_DIR}-`));
  fs.writeFileSync(path.join(staging, SIGNING_KEY_FILE), keyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(staging, SIGNING_CERT_FILE), certificatePem, { mode: 0o644 });
  try {
    fs.renameSync(staging, path.join(keysDir, SIGNING_DIR));
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
}

function selfSignedCertificate(privateKeyPem: string, publicKeyPem: string): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  // Positive 128-bit serial (leading byte below 0x80).
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 2 * 365 * 24 * 3600 * 1000);
  const name = [
    { name: 'commonName', value: 'customs-identity disclosure signing (development)' },
    { name: 'organizationName', value: 'customs-identity-service' },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  // A one-off at generation time: forge's own RSA is fine here.
  cert.sign(forge.pki.privateKeyFromPem(privateKeyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
