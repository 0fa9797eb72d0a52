import { constants, createHash, privateEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
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

export interface PayloadSigner {
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
  sign(body: Buffer): string;
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
export function createPayloadSigner(material: SigningMaterial): PayloadSigner {
  return material.sm2 ? createSm2PayloadSigner(material.sm2) : createCmsSigner(material);
}

function createSm2PayloadSigner(pair: Sm2KeyPair): PayloadSigner {
  return {
    scheme: SM2_SIGNATURE_SCHEME,
    certificatePem: sm2PublicKeyPem(pair.publicKeyHex),
    certificateFingerprint: createHash('sha256')
      .update(sm2PublicKeySpki(pair.publicKeyHex))
      .digest('hex'),
    sign: (body) => sm2Sign(body, pair).toString('base64'),
  };
}

function createCmsSigner(material: SigningMaterial): PayloadSigner {
  const key = nodeRsaSigner(material.privateKey);
  const certificateDer = der(pki.certificateToAsn1(material.certificate));
  return {
    scheme: SIGNATURE_SCHEME,
    certificatePem: material.certificatePem,
    certificateFingerprint: createHash('sha256').update(certificateDer).digest('hex'),
    sign(body) {
      const p7 = forge.pkcs7.createSignedData();
      p7.content = bytesOf(body);
      p7.addSigner({
        key: key as unknown as forge.pki.rsa.PrivateKey,
        certificate: material.certificate,
        digestAlgorithm: pki.oids.sha256!,
        // In DER SET OF order (by encoding): OpenSSL re-encodes the set when verifying.
        authenticatedAttributes: [
          { type: pki.oids.contentType!, value: pki.oids.data },
          { type: pki.oids.signingTime! },
          { type: pki.oids.messageDigest! },
        ],
      });
      p7.sign({ detached: true });
      return der(p7.toAsn1()).toString('base64');
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
