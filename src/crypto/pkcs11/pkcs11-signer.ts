import * as pkcs11js from 'pkcs11js';
import { sha256DigestInfo, type KeySigner, type SignatureAlgorithm } from '../key-provider';
import type { Pkcs11Config, Pkcs11KeyPurpose } from './pkcs11-config';
import { operationFailed } from './pkcs11-errors';
import {
  CKM_EDDSA,
  findKeyPair,
  readCertificate,
  requireNonExtractable,
  type TokenKeyPair,
} from './pkcs11-keys';
import { openPkcs11Token, type Pkcs11Token } from './pkcs11-token';

/** Signature sizes bound the output buffer: RSA one modulus, Ed25519 64 bytes (RFC 8032 5.1.6). */
function signatureBytes(pair: TokenKeyPair): number {
  return pair.type === 'rsa'
    ? Math.ceil((pair.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8)
    : 64;
}

/**
 * One signature in the token over the whole message: CKM_SHA256_RSA_PKCS
 * (RSASSA-PKCS1-v1_5, the token hashes) or CKM_EDDSA without parameters (pure
 * Ed25519), or CKM_RSA_PKCS over a DigestInfo the caller built (signDigest).
 * All verify with node:crypto's `verify` on the public key.
 */
export function signInToken(
  token: Pkcs11Token,
  pair: TokenKeyPair,
  data: Buffer,
  mechanism = pair.type === 'rsa' ? pkcs11js.CKM_SHA256_RSA_PKCS : CKM_EDDSA,
): Promise<Buffer> {
  return token
    .run(({ pkcs11, session }) => {
      pkcs11.C_SignInit(session, { mechanism }, pair.privateKey);
      return pkcs11.C_SignAsync(session, data, Buffer.alloc(signatureBytes(pair)));
    })
    .catch((error: unknown) => {
      throw operationFailed(`signing with "${pair.label}"`, error);
    });
}

/**
 * A signing key in the HSM: the checkpoint key (Ed25519) or the disclosure
 * key (RSA-3072, CMS and XML-DSig), found by its configured label.
 */
export async function openPkcs11Signer(
  config: Pkcs11Config,
  purpose: Exclude<Pkcs11KeyPurpose, 'master'>,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<KeySigner> {
  const token = openPkcs11Token(config, environment);
  try {
    const pair = await token.run((context) => {
      const found = findKeyPair(context, config.keyLabels[purpose], config.tokenLabel);
      requireNonExtractable(context, found, config.tokenLabel);
      return found;
    });
    const algorithm: SignatureAlgorithm = pair.type === 'rsa' ? 'rsa-pkcs1-sha256' : 'ed25519';
    return {
      kind: 'pkcs11',
      algorithm,
      publicKey: pair.publicKey,
      sign: (data) => signInToken(token, pair, data),
      async signDigest(digest) {
        if (pair.type !== 'rsa') throw new Error('an Ed25519 key signs messages only');
        // CKM_RSA_PKCS signs the DigestInfo as given: the PKCS#1 v1.5 padding is done in the token.
        return signInToken(token, pair, sha256DigestInfo(digest), pkcs11js.CKM_RSA_PKCS);
      },
      close: () => token.close(),
    };
  } catch (error) {
    await token.close();
    throw error;
  }
}

/**
 * The certificate stored next to a signing key (the ceremony's self-signed
 * one, or a CA-issued one an operator put there), DER; null when none is.
 */
export async function readPkcs11Certificate(
  config: Pkcs11Config,
  purpose: Exclude<Pkcs11KeyPurpose, 'master'>,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<Buffer | null> {
  const token = openPkcs11Token(config, environment);
  try {
    return await token.run((context) => readCertificate(context, config.keyLabels[purpose]));
  } finally {
    await token.close();
  }
}
