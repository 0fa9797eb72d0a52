import {
  constants,
  createHash,
  privateEncrypt,
  randomBytes,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import forge from 'node-forge';
import type { KeySigner } from '../crypto/key-provider';
import { sm2PublicKeyPem, sm2PublicKeySpki, sm2Sign, type Sm2KeyPair } from '../crypto/sm2';
import type { SigningMaterial } from './signing-key';

const { asn1, pki } = forge;

/** Signature scheme name, also sent as `X-Signature-Scheme` so it can change visibly. */
export const SIGNATURE_SCHEME = 'cms-detached-rsa-sha256';
/**
 * The gm profile's scheme: the bare SM2 signature (GB/T 32918.2, SM3, ID
 * 1234567812345678; DER SEQUENCE { r, s } per GB/T 35276), base64, over
 * exactly the body bytes. Verify: `openssl pkeyutl -verify -rawin -digest sm3
 * -pkeyopt distid:1234567812345678 -pubin -inkey <public key PEM>`.
 */
export const SM2_SIGNATURE_SCHEME = 'sm2-sm3-detached';

/**
 * A signature made in the process (a key from KEYS_DIR) is there at once; one
 * made in the HSM (KEY_PROVIDER=pkcs11) is a token operation, off the event loop.
 */
export type Signature = string | Promise<string>;

export interface PayloadSigner<S extends Signature = Signature> {
  /** What `sign` produces: SIGNATURE_SCHEME or SM2_SIGNATURE_SCHEME. */
  readonly scheme: string;
  /** The certificate (or, for SM2, the SPKI public key) that verifies, PEM. */
  readonly certificatePem: string;
  /** SHA-256 of the certificate's (SM2: the public key's SPKI) DER, hex: picks the pinned one. */
  readonly certificateFingerprint: string;
  /**
   * Detached CMS (PKCS#7) SignedData over exactly these bytes, DER, base64.
   * Signed attributes: contentType (data), signingTime, messageDigest (SHA-256).
   * Under gm: the SM2 signature over these bytes, DER, base64.
   */
  sign(body: Buffer): S;
}

function bytesOf(buffer: Buffer): forge.util.ByteStringBuffer {
  return forge.util.createBuffer(buffer.toString('binary'));
}

function der(object: forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1.toDer(object).getBytes(), 'binary');
}

/** RFC 8017 section 9.2: DigestInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING digest }. */
function sha256DigestInfo(digest: string): Buffer {
  return der(
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
        asn1.create(
          asn1.Class.UNIVERSAL,
          asn1.Type.OID,
          false,
          asn1.oidToDer(pki.oids.sha256!).getBytes(),
        ),
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
      ]),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, digest),
    ]),
  );
}

/**
 * The signer key handed to forge's PKCS#7 builder: forge assembles the CMS
 * structure, node:crypto (OpenSSL, blinded, ~20x faster than forge's own JS
 * RSA) does the private-key operation. RSASSA-PKCS1-v1_5 is exactly the
 * private-key operation with type-1 padding over the DigestInfo.
 */
function nodeRsaSigner(privateKey: KeyObject) {
  return {
    sign(md: forge.md.MessageDigest): string {
      if (md.algorithm !== 'sha256') throw new Error('only SHA-256 is used for signing');
      const signature = privateEncrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
        sha256DigestInfo(md.digest().getBytes()),
      );
      return signature.toString('binary');
    },
  };
}

/**
 * The payload signer of the material's profile: SM2 when it holds an SM2 key
 * (gm), CMS with RSA otherwise. node-forge's CMS cannot carry SM2 (GM/T 0010
 * would), and no SM2 certificate can be made here, so the gm form is the bare
 * signature and partners pin the public key.
 */
export function createPayloadSigner(material: SigningMaterial): PayloadSigner<string> {
  return material.sm2 ? createSm2PayloadSigner(material.sm2) : createCmsSigner(material);
}

/** The gm profile's payload signer (SM2, from KEYS_DIR under both providers). */
export function createSm2PayloadSigner(pair: Sm2KeyPair): PayloadSigner<string> {
  return {
    scheme: SM2_SIGNATURE_SCHEME,
    certificatePem: sm2PublicKeyPem(pair.publicKeyHex),
    certificateFingerprint: createHash('sha256')
      .update(sm2PublicKeySpki(pair.publicKeyHex))
      .digest('hex'),
    sign: (body) => sm2Sign(body, pair).toString('base64'),
  };
}

function createCmsSigner(material: SigningMaterial): PayloadSigner<string> {
  const key = nodeRsaSigner(material.privateKey);
  return {
    ...certificateOf(material.certificatePem),
    scheme: SIGNATURE_SCHEME,
    sign: (body) => detachedSignedData(body, material.certificate, key).toString('base64'),
  };
}

/** The certificate as given (never re-encoded: a CA's bytes stay the CA's) and its fingerprint. */
function certificateOf(certificatePem: string) {
  return {
    certificatePem,
    certificateFingerprint: createHash('sha256')
      .update(new X509Certificate(certificatePem).raw)
      .digest('hex'),
  };
}

/** The detached CMS SignedData over `body`, its one SignerInfo signed by `key` (forge's shape). */
function detachedSignedData(
  body: Buffer,
  certificate: forge.pki.Certificate,
  key: { sign(md: forge.md.MessageDigest): string },
): Buffer {
  const p7 = forge.pkcs7.createSignedData();
  p7.content = bytesOf(body);
  p7.addSigner({
    key: key as unknown as forge.pki.rsa.PrivateKey,
    certificate,
    digestAlgorithm: pki.oids.sha256!,
    // In DER SET OF order (by encoding): OpenSSL re-encodes the set when verifying.
    authenticatedAttributes: [
      { type: pki.oids.contentType!, value: pki.oids.data },
      { type: pki.oids.signingTime! },
      { type: pki.oids.messageDigest! },
    ],
  });
  p7.sign({ detached: true });
  return der(p7.toAsn1());
}

/**
 * CMS signed in the HSM (KEY_PROVIDER=pkcs11): forge's builder calls its key
 * synchronously with the digest of the signed attributes, so the key records
 * that digest and returns a placeholder of the signature's length; the token
 * then signs the digest (PKCS#1 v1.5 over the DigestInfo, in the token) and
 * the real signature replaces the placeholder, the only such bytes in the
 * encoding (the body is detached, and the placeholder is random).
 */
export function createTokenCmsSigner(
  signer: KeySigner,
  certificatePem: string,
): PayloadSigner<Promise<string>> {
  if (signer.algorithm !== 'rsa-pkcs1-sha256') {
    throw new Error('the disclosure signing key in the token must be an RSA key');
  }
  const certificate = pki.certificateFromPem(certificatePem);
  const signatureLength = Math.ceil(
    (signer.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8,
  );
  return {
    ...certificateOf(certificatePem),
    scheme: SIGNATURE_SCHEME,
    async sign(body) {
      let digest: Buffer | null = null;
      const placeholder = randomBytes(signatureLength);
      const encoded = detachedSignedData(body, certificate, {
        sign(md) {
          if (md.algorithm !== 'sha256') throw new Error('only SHA-256 is used for signing');
          digest = Buffer.from(md.digest().getBytes(), 'binary');
          return placeholder.toString('binary');
        },
      });
      const at = encoded.indexOf(placeholder);
      if (!digest || at < 0 || encoded.indexOf(placeholder, at + 1) >= 0) {
        throw new Error('the CMS signature placeholder was not found once');
      }
      const signature = await signer.signDigest(digest);
      signature.copy(encoded, at);
      return encoded.toString('base64');
    },
  };
}

/**
 * PKCS#7 EnvelopedData (DER) of the body for one recipient certificate:
 * AES-256-CBC content encryption with a fresh key from node:crypto, the key
 * transported with the recipient's RSA public key (PKCS#1 v1.5, the scheme
 * forge and `openssl cms -decrypt` share).
 */
export function envelopeFor(recipientCertificatePem: string, body: Buffer): Buffer {
  const p7 = forge.pkcs7.createEnvelopedData();
  p7.addRecipient(pki.certificateFromPem(recipientCertificatePem));
  p7.content = bytesOf(body);
  p7.encrypt(bytesOf(randomBytes(32)), pki.oids['aes256-CBC']);
  return der(p7.toAsn1());
}
