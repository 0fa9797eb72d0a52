import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { HsmError } from './pkcs11-errors';
import type { TokenContext } from './pkcs11-token';

/**
 * Key objects in the token: finding a pair by label, reading its public half
 * and how it is protected, generating one. PKCS#11 3.0 values the binding
 * (written to 2.40) does not name: EdDSA (Ed25519) keys and mechanism.
 */
export const CKK_EC_EDWARDS = 0x40;
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
/** DER of OID 1.3.101.112 (id-Ed25519, RFC 8410), the CKA_EC_PARAMS of an Ed25519 key. */
const ED25519_EC_PARAMS = Buffer.from('06032b6570', 'hex');

export const MASTER_KEY_BITS = 3072;

export type TokenKeyType = 'rsa' | 'ed25519';

export interface TokenKeyPair {
  label: string;
  type: TokenKeyType;
  privateKey: pkcs11js.Handle;
  publicKey: KeyObject;
  /** CKA_ID shared by the private key, public key and certificate objects. */
  id: Buffer;
}

/** How the private key is held, as the token reports it (PKCS#11 2.40, 4.9 table 27). */
export interface KeyProtection {
  sensitive: boolean;
  extractable: boolean;
  alwaysSensitive: boolean;
  neverExtractable: boolean;
  /** Generated in the token (not imported). */
  local: boolean;
}

function ulong(value: Buffer): number {
  return value.length >= 8 ? Number(value.readBigUInt64LE(0)) : value.readUInt32LE(0);
}

function findObjects(
  { pkcs11, session }: TokenContext,
  template: pkcs11js.Template,
): pkcs11js.Handle[] {
  pkcs11.C_FindObjectsInit(session, template);
  try {
    return pkcs11.C_FindObjects(session, 16);
  } finally {
    pkcs11.C_FindObjectsFinal(session);
  }
}

export function findByLabel(
  context: TokenContext,
  objectClass: number,
  label: string,
): pkcs11js.Handle[] {
  return findObjects(context, [
    { type: pkcs11js.CKA_CLASS, value: objectClass },
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
}

function attribute(context: TokenContext, handle: pkcs11js.Handle, type: number): Buffer {
  const [result] = context.pkcs11.C_GetAttributeValue(context.session, handle, [{ type }]);
  return result!.value;
}

/** The public half as a node:crypto KeyObject, from the public key object's attributes. */
function readPublicKey(
  context: TokenContext,
  handle: pkcs11js.Handle,
): { type: TokenKeyType; publicKey: KeyObject } {
  const keyType = ulong(attribute(context, handle, pkcs11js.CKA_KEY_TYPE));
  if (keyType === pkcs11js.CKK_RSA) {
    const jwk = {
      kty: 'RSA',
      n: attribute(context, handle, pkcs11js.CKA_MODULUS).toString('base64url'),
      e: attribute(context, handle, pkcs11js.CKA_PUBLIC_EXPONENT).toString('base64url'),
    };
    return { type: 'rsa', publicKey: createPublicKey({ key: jwk, format: 'jwk' }) };
  }
  if (keyType === CKK_EC_EDWARDS) {
    let point = attribute(context, handle, pkcs11js.CKA_EC_POINT);
    // DER OCTET STRING (04 20 ...) in SoftHSM2 and most tokens; some give the 32 bytes bare.
    if (point.length === 34 && point[0] === 0x04 && point[1] === 0x20) point = point.subarray(2);
    if (point.length !== 32) throw new Error('not an Ed25519 public key');
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url') };
    return { type: 'ed25519', publicKey: createPublicKey({ key: jwk, format: 'jwk' }) };
  }
  throw new Error(`unsupported key type 0x${keyType.toString(16)}`);
}

/**
 * The pair labelled `label`: exactly one private key and its public key
 * object (same label and CKA_ID). A missing pair says which command makes it.
 */
export function findKeyPair(
  context: TokenContext,
  label: string,
  tokenLabel: string,
): TokenKeyPair {
  const privateKeys = findByLabel(context, pkcs11js.CKO_PRIVATE_KEY, label);
  if (privateKeys.length === 0) {
    throw new HsmError(
      'HSM_KEY_NOT_FOUND',
      `PKCS#11 key "${label}" not found on token "${tokenLabel}": create it with "npm run keys -- hsm-generate" or fix the key label`,
    );
  }
  if (privateKeys.length > 1) {
    throw new HsmError(
      'HSM_KEY_NOT_FOUND',
      `PKCS#11 key label "${label}" names ${privateKeys.length} private keys on token "${tokenLabel}": keep one`,
    );
  }
  const privateKey = privateKeys[0]!;
  const id = attribute(context, privateKey, pkcs11js.CKA_ID);
  const publicKeys = findObjects(context, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
  ]);
  if (publicKeys.length !== 1) {
    throw new HsmError(
      'HSM_KEY_NOT_FOUND',
      `PKCS#11 public key "${label}" not found on token "${tokenLabel}" beside its private key: regenerate the pair`,
    );
  }
  return { label, id, privateKey, ...readPublicKey(context, publicKeys[0]!) };
}

export function readProtection(context: TokenContext, privateKey: pkcs11js.Handle): KeyProtection {
  const flag = (type: number) => attribute(context, privateKey, type)[0] === 1;
  return {
    sensitive: flag(pkcs11js.CKA_SENSITIVE),
    extractable: flag(pkcs11js.CKA_EXTRACTABLE),
    alwaysSensitive: flag(pkcs11js.CKA_ALWAYS_SENSITIVE),
    neverExtractable: flag(pkcs11js.CKA_NEVER_EXTRACTABLE),
    local: flag(pkcs11js.CKA_LOCAL),
  };
}

/** The service refuses a private key the token would let out: that is the point of the HSM. */
export function requireNonExtractable(
  context: TokenContext,
  pair: TokenKeyPair,
  tokenLabel: string,
): KeyProtection {
  const protection = readProtection(context, pair.privateKey);
  if (!protection.sensitive || protection.extractable) {
    throw new HsmError(
      'HSM_KEY_EXTRACTABLE',
      `PKCS#11 key "${pair.label}" on token "${tokenLabel}" can be exported (CKA_SENSITIVE false or CKA_EXTRACTABLE true): generate a new one with "npm run keys -- hsm-generate"`,
    );
  }
  return protection;
}

export interface GenerateOptions {
  label: string;
  type: TokenKeyType;
  /** decrypt: unwrapping KEKs (master key); sign: signatures (and the self-signed certificate). */
  uses: readonly ('decrypt' | 'sign')[];
}

/**
 * Generates a pair inside the token: the private key is a token object
 * (CKA_TOKEN), needs a login (CKA_PRIVATE), never leaves in clear
 * (CKA_SENSITIVE) and cannot be wrapped out (CKA_EXTRACTABLE false).
 */
export async function generateKeyPair(
  context: TokenContext,
  options: GenerateOptions,
): Promise<pkcs11js.KeyPair> {
  const id = randomBytes(16);
  const decrypt = options.uses.includes('decrypt');
  const sign = options.uses.includes('sign');
  const common = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: options.label },
    { type: pkcs11js.CKA_ID, value: id },
  ];
  const publicTemplate: pkcs11js.Template = [
    ...common,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_PRIVATE, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: decrypt },
    { type: pkcs11js.CKA_VERIFY, value: sign },
    { type: pkcs11js.CKA_WRAP, value: false },
  ];
  const privateTemplate: pkcs11js.Template = [
    ...common,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_DECRYPT, value: decrypt },
    { type: pkcs11js.CKA_SIGN, value: sign },
    { type: pkcs11js.CKA_UNWRAP, value: false },
  ];
  if (options.type === 'rsa') {
    return context.pkcs11.C_GenerateKeyPairAsync(
      context.session,
      { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [
        ...publicTemplate,
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
        { type: pkcs11js.CKA_MODULUS_BITS, value: MASTER_KEY_BITS },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([0x01, 0x00, 0x01]) },
      ],
      [...privateTemplate, { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA }],
    );
  }
  return context.pkcs11.C_GenerateKeyPairAsync(
    context.session,
    { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
    [
      ...publicTemplate,
      { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS },
      { type: pkcs11js.CKA_EC_PARAMS, value: ED25519_EC_PARAMS },
    ],
    [...privateTemplate, { type: pkcs11js.CKA_KEY_TYPE, value: CKK_EC_EDWARDS }],
  );
}

/** Stores an X.509 certificate beside the pair (same label and CKA_ID), so it travels with the token. */
export function storeCertificate(
  context: TokenContext,
  pair: Pick<TokenKeyPair, 'label' | 'id'>,
  certificate: { der: Buffer; subjectDer: Buffer },
): void {
  context.pkcs11.C_CreateObject(context.session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
    { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: false },
    { type: pkcs11js.CKA_LABEL, value: pair.label },
    { type: pkcs11js.CKA_ID, value: pair.id },
    { type: pkcs11js.CKA_SUBJECT, value: certificate.subjectDer },
    { type: pkcs11js.CKA_VALUE, value: certificate.der },
  ]);
}

/** The certificate stored beside a pair, DER, or null. */
export function readCertificate(context: TokenContext, label: string): Buffer | null {
  const [certificate] = findByLabel(context, pkcs11js.CKO_CERTIFICATE, label);
  return certificate ? attribute(context, certificate, pkcs11js.CKA_VALUE) : null;
}
