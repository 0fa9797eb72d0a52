import { createHash } from 'node:crypto';
import { fromBER } from 'asn1js';
import { PublicKeyInfo } from 'pkijs';
import { sm2 } from 'sm-crypto';

/**
 * The gm profile's response signature (docs/cryptography.md): the bare SM2
 * signature (GB/T 32918.2: SM3, distinguishing identifier 1234567812345678)
 * over the exact body bytes, DER `SEQUENCE { r, s }`, base64 in
 * `X-Signature`. `GET /v1/signing-certificate` then serves the SM2 public key
 * (SPKI PEM), and `X-Signing-Certificate-Sha256` is the SHA-256 of that SPKI.
 * pkijs parses the key; sm-crypto verifies (node:crypto cannot set the SM2 identifier).
 */
export const SM2_SIGNATURE_SCHEME = 'sm2-sm3-detached';

const SM2_DEFAULT_ID = '1234567812345678';
const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  sm2Curve: '1.2.156.10197.1.301',
} as const;

/** The service's SM2 public key, as GET /v1/signing-certificate serves it under gm. */
export interface Sm2SigningKey {
  kind: 'sm2-public-key';
  pem: string;
  /** SHA-256 of the SPKI DER, hex: the value of `X-Signing-Certificate-Sha256`. */
  fingerprint: string;
  /** The uncompressed point `04 || x || y`, hex, as sm-crypto takes it. */
  publicKeyHex: string;
}

export class NotAnSm2Key extends Error {}

/** Reads an SPKI PEM holding an SM2 public key; NotAnSm2Key for anything else. */
export function sm2SigningKeyOf(pem: string): Sm2SigningKey {
  const base64 = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(pem);
  if (!base64) throw new NotAnSm2Key('not a PEM public key');
  const der = Buffer.from(base64[1]!.replace(/\s+/g, ''), 'base64');
  const parsed = fromBER(der);
  if (parsed.offset !== der.byteLength) throw new NotAnSm2Key('not one SPKI');
  const info = new PublicKeyInfo({ schema: parsed.result });
  const curve = (
    info.algorithm.algorithmParams as { getValue?: () => string } | undefined
  )?.getValue?.();
  if (info.algorithm.algorithmId !== OID.ecPublicKey || curve !== OID.sm2Curve) {
    throw new NotAnSm2Key('not an SM2 key');
  }
  const point = Buffer.from(info.subjectPublicKey.valueBlock.valueHexView);
  if (point.length !== 65 || point[0] !== 0x04) throw new NotAnSm2Key('not an uncompressed point');
  return {
    kind: 'sm2-public-key',
    pem,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    publicKeyHex: point.toString('hex'),
  };
}

/** True when `signature` (DER) is the key's SM2 signature over `body`. */
export function sm2SignatureVerifies(
  body: Uint8Array,
  signature: Buffer,
  key: Sm2SigningKey,
): boolean {
  try {
    return sm2.doVerifySignature(Array.from(body), signature.toString('hex'), key.publicKeyHex, {
      der: true,
      hash: true,
      userId: SM2_DEFAULT_ID,
    });
  } catch {
    // sm-crypto throws on DER it cannot read: that is no signature.
    return false;
  }
}
