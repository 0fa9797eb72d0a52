import { X509Certificate } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { publicKeyFingerprint, type OaepHash, type SignatureAlgorithm } from '../key-provider';
import { selfSignedCertificate, type CertificateRequest } from './pkcs11-certificate';
import type { Pkcs11Config, Pkcs11KeyPurpose } from './pkcs11-config';
import { HsmError } from './pkcs11-errors';
import {
  findByLabel,
  findKeyPair,
  generateKeyPair,
  readCertificate,
  readProtection,
  requireNonExtractable,
  storeCertificate,
  type GenerateOptions,
  type KeyProtection,
  type TokenKeyPair,
} from './pkcs11-keys';
import { openPkcs11MasterKeyProvider } from './pkcs11-master-key';
import { signInToken } from './pkcs11-signer';
import { openPkcs11Token, type Pkcs11Token } from './pkcs11-token';

/**
 * The key ceremony's token steps (`npm run keys -- hsm-generate`,
 * `hsm-status`): generate each key inside the token, certify the RSA ones
 * there, and report what the token holds. See docs/key-management.md.
 */
const PURPOSES: Record<
  Pkcs11KeyPurpose,
  {
    generate: Omit<GenerateOptions, 'label'>;
    certificate: Omit<CertificateRequest, 'publicKey'> | null;
  }
> = {
  // Sign too: the self-signed certificate is the key's proof of possession (as for the file key).
  master: {
    generate: { type: 'rsa', uses: ['decrypt', 'sign'] },
    certificate: {
      commonName: 'customs-identity master key',
      keyUsage: { keyEncipherment: true, digitalSignature: true },
      years: 10,
    },
  },
  disclosure: {
    generate: { type: 'rsa', uses: ['sign'] },
    certificate: {
      commonName: 'customs-identity disclosure signing',
      keyUsage: { digitalSignature: true, nonRepudiation: true },
      years: 2,
    },
  },
  checkpoint: { generate: { type: 'ed25519', uses: ['sign'] }, certificate: null },
};

export interface TokenKeyReport {
  purpose: Pkcs11KeyPurpose;
  label: string;
  algorithm: SignatureAlgorithm | 'rsa-oaep';
  fingerprint: string;
  publicKeyPem: string;
  certificatePem: string | null;
  protection: KeyProtection;
}

function report(
  purpose: Pkcs11KeyPurpose,
  pair: TokenKeyPair,
  protection: KeyProtection,
  certificateDer: Buffer | null,
): TokenKeyReport {
  return {
    purpose,
    label: pair.label,
    algorithm:
      purpose === 'master' ? 'rsa-oaep' : pair.type === 'rsa' ? 'rsa-pkcs1-sha256' : 'ed25519',
    fingerprint: publicKeyFingerprint(pair.publicKey),
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    certificatePem: certificateDer ? new X509Certificate(certificateDer).toString() : null,
    protection,
  };
}

async function withToken<T>(
  config: Pkcs11Config,
  environment: NodeJS.ProcessEnv,
  work: (token: Pkcs11Token) => Promise<T>,
): Promise<T> {
  const token = openPkcs11Token(config, environment);
  try {
    return await work(token);
  } finally {
    await token.close();
  }
}

/**
 * Generates the key pair for `purpose` in the token. Refuses when any object
 * already has its label: replacing the master key makes every stored record
 * unreadable, so destroying one is a separate, deliberate step.
 */
export function generateTokenKey(
  config: Pkcs11Config,
  purpose: Pkcs11KeyPurpose,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<TokenKeyReport> {
  const label = config.keyLabels[purpose];
  const { generate, certificate } = PURPOSES[purpose];
  return withToken(config, environment, async (token) => {
    const pair = await token.run(async (context) => {
      const taken = [
        pkcs11js.CKO_PRIVATE_KEY,
        pkcs11js.CKO_PUBLIC_KEY,
        pkcs11js.CKO_CERTIFICATE,
      ].some((objectClass) => findByLabel(context, objectClass, label).length > 0);
      if (taken) {
        throw new HsmError(
          'HSM_KEY_EXISTS',
          `PKCS#11 token "${config.tokenLabel}" already holds a key labelled "${label}": refusing to replace it (see docs/key-management.md)`,
        );
      }
      await generateKeyPair(context, { label, ...generate });
      return findKeyPair(context, label, config.tokenLabel);
    });
    let certificateDer: Buffer | null = null;
    if (certificate) {
      const made = await selfSignedCertificate(
        { publicKey: pair.publicKey, ...certificate },
        (tbs) => signInToken(token, pair, tbs),
      );
      await token.run((context) => storeCertificate(context, pair, made));
      certificateDer = made.der;
    }
    const protection = await token.run((context) =>
      requireNonExtractable(context, pair, config.tokenLabel),
    );
    return report(purpose, pair, protection, certificateDer);
  });
}

export interface TokenStatus {
  token: { label: string; manufacturer: string; model: string; serialNumber: string };
  keys: (TokenKeyReport | { purpose: Pkcs11KeyPurpose; label: string; missing: true })[];
  /** The OAEP hash the master key unwraps with (a known-answer test), when it is present. */
  masterOaepHash: OaepHash | null;
}

/** What the token holds for the service, without using any key but the master's self-test. */
export async function tokenStatus(
  config: Pkcs11Config,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<TokenStatus> {
  const status = await withToken(config, environment, (token) =>
    token.run(({ pkcs11, session }) => {
      const info = pkcs11.C_GetTokenInfo(pkcs11.C_GetSessionInfo(session).slotID);
      const context = { pkcs11, session };
      const keys = (Object.keys(PURPOSES) as Pkcs11KeyPurpose[]).map((purpose) => {
        const label = config.keyLabels[purpose];
        if (findByLabel(context, pkcs11js.CKO_PRIVATE_KEY, label).length === 0) {
          return { purpose, label, missing: true as const };
        }
        const pair = findKeyPair(context, label, config.tokenLabel);
        return report(
          purpose,
          pair,
          readProtection(context, pair.privateKey),
          readCertificate(context, label),
        );
      });
      return {
        token: {
          label: info.label.trim(),
          manufacturer: info.manufacturerID.trim(),
          model: info.model.trim(),
          serialNumber: info.serialNumber.trim(),
        },
        keys,
      };
    }),
  );
  const master = status.keys.find((key) => key.purpose === 'master');
  let masterOaepHash: OaepHash | null = null;
  if (master && !('missing' in master)) {
    const provider = await openPkcs11MasterKeyProvider(config, environment);
    masterOaepHash = provider.oaepHash;
    await provider.close();
  }
  return { ...status, masterOaepHash };
}
