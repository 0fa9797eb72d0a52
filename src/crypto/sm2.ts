import { hash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import forge from 'node-forge';
import { sm2, type KeyPairPoint } from 'sm-crypto';

/**
 * SM2 digital signatures (GB/T 32918.2) over SM3 with the distinguishing
 * identifier of GB/T 35276: e = SM3(Z_A || M), Z_A = SM3(ENTL || ID || a || b
 * || xG || yG || xA || yA). Signatures are DER SEQUENCE { r, s } (GB/T 35276),
 * the form `openssl pkeyutl -rawin -digest sm3 -pkeyopt distid:1234567812345678`
 * reads and writes.
 *
 * Why not node:crypto: an `ec` key on the SM2 curve signs plain ECDSA with
 * SM3 (no Z_A, another equation), which no SM2 verifier accepts; a key that
 * OpenSSL decodes as SM2 does sign SM2, but with an empty identifier, and
 * Node has no way to set it (checked in test/crypto-gm.test.ts). So the
 * arithmetic is the `sm-crypto` package's, with two things taken from
 * node:crypto: the per-signature secret k and the private key come from the
 * OS CSPRNG (sm-crypto's own generator is RC4 seeded once per process), and
 * keys are stored as standard PKCS#8 / SPKI PEM. sm-crypto is plain
 * JavaScript, not constant-time: production keys belong in a certified
 * module (docs/cryptography.md).
 */
export const SM2_DEFAULT_ID = '1234567812345678';

/** A key pair as sm-crypto takes it: hex scalar d, hex point 04 || x || y. */
export interface Sm2KeyPair {
  privateKeyHex: string;
  publicKeyHex: string;
}

/** The BigInteger class sm-crypto computes with (jsbn, resolved from sm-crypto itself). */
type BigIntegerClass = new (value: string, radix: number) => unknown;
const { BigInteger } = createRequire(require.resolve('sm-crypto'))('jsbn') as {
  BigInteger: BigIntegerClass;
};

/** What sm-crypto exports beyond its published types. */
const sm2Untyped = sm2 as unknown as {
  /** With a value: the scalar is value mod (n-1) + 1, not sm-crypto's own random. */
  generateKeyPairHex(value: string, radix: number): { privateKey: string; publicKey: string };
  getPublicKeyFromPrivateKey(privateKeyHex: string): string;
};

/** A scalar in [1, n-1] from 320 CSPRNG bits (negligible bias), and its point. */
function freshScalarPair(): { privateKey: string; publicKey: string } {
  return sm2Untyped.generateKeyPairHex(randomBytes(40).toString('hex'), 16);
}

export function generateSm2KeyPair(): Sm2KeyPair {
  const { privateKey, publicKey } = freshScalarPair();
  return { privateKeyHex: privateKey, publicKeyHex: publicKey };
}

/** SM2 signature (DER) over `data` with the standard identifier. */
export function sm2Sign(data: Buffer, key: Sm2KeyPair): Buffer {
  // (k, x1 of kG) for this one signature, k from the CSPRNG instead of sm-crypto's RC4. (Only
  // if r or s came out 0, probability about 2^-256, would sm-crypto draw a second k itself.)
  const point = freshScalarPair();
  const pool = [
    {
      ...point,
      k: new BigInteger(point.privateKey, 16),
      x1: new BigInteger(point.publicKey.slice(2, 66), 16),
    },
  ];
  const signature = sm2.doSignature(Array.from(data), key.privateKeyHex, {
    der: true,
    hash: true,
    publicKey: key.publicKeyHex,
    userId: SM2_DEFAULT_ID,
    pointPool: pool as unknown as KeyPairPoint[],
  });
  return Buffer.from(signature, 'hex');
}

/** Verifies a DER SM2 signature with the standard identifier; false for anything malformed. */
export function sm2Verify(data: Buffer, signature: Buffer, publicKeyHex: string): boolean {
  if (!Buffer.isBuffer(signature) || signature.length === 0 || signature.length > 80) return false;
  try {
    return sm2.doVerifySignature(Array.from(data), signature.toString('hex'), publicKeyHex, {
      der: true,
      hash: true,
      userId: SM2_DEFAULT_ID,
    });
  } catch {
    return false;
  }
}

const { asn1 } = forge;
const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';
const SM2_CURVE_OID = '1.2.156.10197.1.301';
const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex');
const PUBLIC_POINT = /^04[0-9a-f]{128}$/;

function node(tag: number, value: forge.asn1.Asn1[] | string, constructed = Array.isArray(value)) {
  return asn1.create(asn1.Class.UNIVERSAL, tag, constructed, value);
}

function oid(value: string) {
  return node(asn1.Type.OID, asn1.oidToDer(value).getBytes());
}

const binary = (hex: string) => Buffer.from(hex, 'hex').toString('binary');

/**
 * PKCS#8 PEM (id-ecPublicKey, curve SM2) with the SEC1 ECPrivateKey inside, as
 * `openssl genpkey -algorithm SM2` writes it. Built with node-forge's ASN.1,
 * not node:crypto: Node 20 aborts the process (a native assertion) when asked
 * to export a key OpenSSL decoded as SM2.
 */
export function sm2PrivateKeyPem(pair: Sm2KeyPair): string {
  if (!/^[0-9a-f]{64}$/.test(pair.privateKeyHex) || !PUBLIC_POINT.test(pair.publicKeyHex)) {
    throw new TypeError('not an SM2 key pair');
  }
  const ecPrivateKey = node(asn1.Type.SEQUENCE, [
    node(asn1.Type.INTEGER, String.fromCharCode(1)),
    node(asn1.Type.OCTETSTRING, binary(pair.privateKeyHex)),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 1, true, [
      node(asn1.Type.BITSTRING, `\0${binary(pair.publicKeyHex)}`, false),
    ]),
  ]);
  const privateKeyInfo = node(asn1.Type.SEQUENCE, [
    node(asn1.Type.INTEGER, String.fromCharCode(0)),
    node(asn1.Type.SEQUENCE, [oid(EC_PUBLIC_KEY_OID), oid(SM2_CURVE_OID)]),
    node(asn1.Type.OCTETSTRING, asn1.toDer(ecPrivateKey).getBytes()),
  ]);
  return forge.pem.encode({ type: 'PRIVATE KEY', body: asn1.toDer(privateKeyInfo).getBytes() });
}

/** The SPKI DER of an SM2 public key. */
export function sm2PublicKeySpki(publicKeyHex: string): Buffer {
  if (!PUBLIC_POINT.test(publicKeyHex)) throw new TypeError('not an SM2 public key');
  return Buffer.concat([SPKI_PREFIX, Buffer.from(publicKeyHex, 'hex')]);
}

export function sm2PublicKeyPem(publicKeyHex: string): string {
  return forge.pem.encode({
    type: 'PUBLIC KEY',
    body: sm2PublicKeySpki(publicKeyHex).toString('binary'),
  });
}

function children(value: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] {
  if (!value || !Array.isArray(value.value)) throw new TypeError('not an SM2 private key');
  return value.value;
}

/**
 * Reads an unencrypted PKCS#8 PEM private key on the SM2 curve (either
 * algorithm OID OpenSSL writes for it); TypeError for anything else. The
 * public point is recomputed from d, and must match the stored one if present.
 */
export function readSm2PrivateKeyPem(pem: string | Buffer): Sm2KeyPair {
  const block = forge.pem.decode(pem.toString()).find((entry) => entry.type === 'PRIVATE KEY');
  if (!block || block.procType) throw new TypeError('not an SM2 private key');
  const [version, algorithm, wrapped] = children(asn1.fromDer(block.body));
  const [keyOid, curveOid] = children(algorithm);
  const algorithmOk =
    asn1.derToOid(keyOid!.value as string) === EC_PUBLIC_KEY_OID ||
    asn1.derToOid(keyOid!.value as string) === SM2_CURVE_OID;
  if (
    version?.value !== String.fromCharCode(0) ||
    !algorithmOk ||
    asn1.derToOid(curveOid?.value as string) !== SM2_CURVE_OID
  ) {
    throw new TypeError('not an SM2 private key');
  }
  const fields = children(asn1.fromDer(wrapped!.value as string));
  const d = Buffer.from(fields[1]!.value as string, 'binary');
  if (d.length !== 32) throw new TypeError('not an SM2 private key');
  const privateKeyHex = d.toString('hex');
  const publicKeyHex = sm2Untyped.getPublicKeyFromPrivateKey(privateKeyHex);
  const stored = fields.find((f) => f.tagClass === asn1.Class.CONTEXT_SPECIFIC && f.type === 1);
  if (stored) {
    const bits = Buffer.from((children(stored)[0]!.value as string).slice(1), 'binary');
    if (bits.toString('hex') !== publicKeyHex) {
      throw new TypeError('SM2 private key and its public point disagree');
    }
  }
  return { privateKeyHex, publicKeyHex };
}

/** SM3 (hex) of an SM2 public key's SPKI: a stable key id. */
export function sm2KeyFingerprint(publicKeyHex: string): string {
  return hash('sm3', sm2PublicKeySpki(publicKeyHex), 'hex');
}
