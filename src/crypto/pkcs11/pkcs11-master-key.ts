import { randomBytes } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import {
  decodeWrapped,
  oaepWrap,
  publicKeyFingerprint,
  UnwrapError,
  type MasterKeyProvider,
  type OaepHash,
} from '../key-provider';
import type { Pkcs11Config } from './pkcs11-config';
import { HsmError, operationFailed, returnValue, returnValueName } from './pkcs11-errors';
import {
  findKeyPair,
  MASTER_KEY_BITS,
  requireNonExtractable,
  type TokenKeyPair,
} from './pkcs11-keys';
import { openPkcs11Token, type Pkcs11Token } from './pkcs11-token';

/** RSA-OAEP parameters (PKCS#11 2.40, 2.1.8): the same hash for the label and MGF1. */
const OAEP_PARAMETERS: Record<OaepHash, { hashAlg: number; mgf: number }> = {
  sha256: { hashAlg: pkcs11js.CKM_SHA256, mgf: pkcs11js.CKG_MGF1_SHA256 },
  sha1: { hashAlg: pkcs11js.CKM_SHA_1, mgf: pkcs11js.CKG_MGF1_SHA1 },
};

/** CK_RSA_PKCS_OAEP_SOURCE_TYPE: the label is given (empty); the binding does not name it. */
const CKZ_DATA_SPECIFIED = 0x00000001;

/** What a token answers when it has the mechanism but not these OAEP parameters. */
const PARAMETERS_REFUSED = new Set([
  pkcs11js.CKR_ARGUMENTS_BAD,
  pkcs11js.CKR_MECHANISM_PARAM_INVALID,
  pkcs11js.CKR_MECHANISM_INVALID,
]);

/**
 * Answers meaning the token or session is gone (not that this ciphertext is
 * bad): those stay HsmErrors, for the operator. Any other failure of a
 * decryption is an UnwrapError: SoftHSM2 answers CKR_GENERAL_ERROR for a
 * tampered OAEP block, other tokens CKR_ENCRYPTED_DATA_INVALID.
 */
const TOKEN_UNAVAILABLE = new Set([
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_DEVICE_MEMORY,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
  pkcs11js.CKR_KEY_HANDLE_INVALID,
]);

function decryptInToken(
  token: Pkcs11Token,
  pair: TokenKeyPair,
  hash: OaepHash,
  ciphertext: Buffer,
): Promise<Buffer> {
  const parameter: pkcs11js.RsaOAEP = {
    type: pkcs11js.CK_PARAMS_RSA_OAEP,
    ...OAEP_PARAMETERS[hash],
    source: CKZ_DATA_SPECIFIED,
  };
  return token.run(({ pkcs11, session }) => {
    pkcs11.C_DecryptInit(
      session,
      { mechanism: pkcs11js.CKM_RSA_PKCS_OAEP, parameter },
      pair.privateKey,
    );
    return pkcs11.C_DecryptAsync(session, ciphertext, Buffer.alloc(ciphertext.length));
  });
}

/**
 * Which OAEP hash the token decrypts, found by a known-answer test at open
 * (which also proves the pair works): SHA-256 first; SoftHSM2 2.6 refuses it
 * (CKR_ARGUMENTS_BAD: its OAEP is SHA-1 only), then SHA-1.
 */
async function probeOaepHash(token: Pkcs11Token, pair: TokenKeyPair): Promise<OaepHash> {
  for (const hash of ['sha256', 'sha1'] as const) {
    const secret = randomBytes(32);
    const { ciphertext } = decodeWrapped(
      oaepWrap(pair.publicKey, hash, secret),
      modulusBytes(pair),
    );
    let answer: Buffer;
    try {
      answer = await decryptInToken(token, pair, hash, ciphertext);
    } catch (error) {
      if (PARAMETERS_REFUSED.has(returnValue(error) ?? -1)) continue;
      throw operationFailed(`RSA-OAEP self-test with "${pair.label}"`, error);
    }
    if (!answer.equals(secret)) {
      throw new HsmError(
        'HSM_OPERATION_FAILED',
        `PKCS#11 RSA-OAEP self-test with "${pair.label}" gave a wrong answer`,
      );
    }
    return hash;
  }
  throw new HsmError(
    'HSM_MECHANISM_UNSUPPORTED',
    `PKCS#11 token "${token.tokenLabel}" decrypts RSA-OAEP with neither SHA-256 nor SHA-1`,
  );
}

function modulusBytes(pair: TokenKeyPair): number {
  return Math.ceil((pair.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
}

/**
 * The master key in an HSM: unwrapping is C_Decrypt (CKM_RSA_PKCS_OAEP) in
 * the token; wrapping uses the public key in node:crypto (no secret needed).
 * The wrapped bytes are those of the file provider (key-provider.ts), with the
 * OAEP hash recorded when it is not SHA-256.
 */
export async function openPkcs11MasterKeyProvider(
  config: Pkcs11Config,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<MasterKeyProvider> {
  const token = openPkcs11Token(config, environment);
  try {
    const label = config.keyLabels.master;
    const pair = await token.run((context) => {
      const found = findKeyPair(context, label, config.tokenLabel);
      requireNonExtractable(context, found, config.tokenLabel);
      return found;
    });
    const bits = pair.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (pair.type !== 'rsa' || bits < MASTER_KEY_BITS) {
      throw new HsmError(
        'HSM_MECHANISM_UNSUPPORTED',
        `PKCS#11 key "${label}" is not an RSA key of at least ${MASTER_KEY_BITS} bits`,
      );
    }
    const oaepHash = await probeOaepHash(token, pair);
    return {
      kind: 'pkcs11',
      fingerprint: publicKeyFingerprint(pair.publicKey),
      publicKey: pair.publicKey,
      bits,
      oaepHash,
      wrap: (secret) => oaepWrap(pair.publicKey, oaepHash, secret),
      async unwrap(wrapped) {
        const { hash, ciphertext } = decodeWrapped(wrapped, modulusBytes(pair));
        if (hash === 'sha256' && oaepHash !== 'sha256') {
          throw new UnwrapError(
            `the wrapped key uses RSA-OAEP with SHA-256, which token "${config.tokenLabel}" cannot decrypt`,
          );
        }
        try {
          return await decryptInToken(token, pair, hash, ciphertext);
        } catch (error) {
          const code = returnValue(error);
          if (code === null || TOKEN_UNAVAILABLE.has(code)) {
            throw operationFailed(`unwrapping with "${label}"`, error);
          }
          throw new UnwrapError(
            `the wrapped key cannot be unwrapped with this master key (${returnValueName(error)})`,
          );
        }
      },
      close: () => token.close(),
    };
  } catch (error) {
    await token.close();
    throw error;
  }
}
