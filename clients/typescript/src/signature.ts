import { createHash, timingSafeEqual, verify, X509Certificate } from 'node:crypto';
import { fromBER, ObjectIdentifier, OctetString } from 'asn1js';
import {
  Certificate,
  ContentInfo,
  IssuerAndSerialNumber,
  SignedData,
  type Attribute,
  type SignerInfo,
} from 'pkijs';
import {
  SM2_SIGNATURE_SCHEME,
  sm2SignatureVerifies,
  sm2SigningKeyOf,
  type Sm2SigningKey,
} from './sm2-signature';

/**
 * Verification of the service's response signatures: a detached CMS
 * SignedData (RFC 5652) over the exact body bytes, signer RSA with SHA-256,
 * signed attributes contentType and messageDigest (docs/declarations-and-shipments.md);
 * under the service's gm profile a bare SM2 signature (sm2-signature.ts).
 * pkijs (with asn1js) parses the untrusted signature; node:crypto hashes and
 * verifies, synchronously, so no WebCrypto engine is involved.
 */
export const SIGNATURE_SCHEME = 'cms-detached-rsa-sha256';

const OID = {
  data: ContentInfo.DATA,
  signedData: ContentInfo.SIGNED_DATA,
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

/** RSASSA-PKCS1-v1_5: named by the key's OID (as the service's signer does) or with the hash. */
const SIGNATURE_ALGORITHMS = new Set<string>([OID.rsaEncryption, OID.sha256WithRsa]);

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The service's X.509 signing certificate (the intl profile). */
export interface X509SigningCertificate {
  kind: 'x509';
  pem: string;
  /** SHA-256 of the certificate's DER, hex: the value of `X-Signing-Certificate-Sha256`. */
  fingerprint: string;
  certificate: X509Certificate;
}

/**
 * What verifies the service's signatures, as GET /v1/signing-certificate
 * serves it: an X.509 certificate (intl), or an SM2 public key (gm).
 */
export type SigningCertificate = X509SigningCertificate | Sm2SigningKey;

/** The scheme each kind of key verifies (`X-Signature-Scheme`). */
const SCHEME_OF = {
  x509: SIGNATURE_SCHEME,
  'sm2-public-key': SM2_SIGNATURE_SCHEME,
} as const;

export function signingCertificateOf(pem: string): SigningCertificate {
  if (pem.includes('-----BEGIN PUBLIC KEY-----')) return sm2SigningKeyOf(pem);
  const certificate = new X509Certificate(pem);
  const fingerprint = createHash('sha256').update(certificate.raw).digest('hex');
  return { kind: 'x509', pem, fingerprint, certificate };
}

/** A scheme this client verifies: CMS with RSA (intl) or bare SM2 (gm). */
export function isKnownScheme(scheme: string | null): boolean {
  return scheme === SIGNATURE_SCHEME || scheme === SM2_SIGNATURE_SCHEME;
}

/** Why a signature was refused: a fixed word, never anything from the body. */
export type SignatureFailure =
  | 'missing-signature'
  | 'unknown-scheme'
  | 'certificate-mismatch'
  | 'malformed-signature'
  | 'unsupported-algorithm'
  | 'signer-mismatch'
  | 'digest-mismatch'
  | 'bad-signature';

class Refused extends Error {
  constructor(readonly reason: SignatureFailure) {
    super(reason);
  }
}

function refuseUnless(condition: boolean, reason: SignatureFailure): asserts condition {
  if (!condition) throw new Refused(reason);
}

/**
 * The one SignerInfo of a detached SignedData. pkijs checks every structure
 * against the RFC 5652 schema; whatever it cannot read is malformed.
 */
function signerInfoOf(signature: Uint8Array): SignerInfo {
  let signedData: SignedData;
  try {
    // parseEmbedded off: nothing here is an OCTET STRING holding ASN.1, so none is parsed.
    const parsed = fromBER(signature, { parseEmbedded: false });
    // Trailing bytes after the ContentInfo are not part of any signature the service makes.
    refuseUnless(parsed.offset === signature.byteLength, 'malformed-signature');
    const contentInfo = new ContentInfo({ schema: parsed.result });
    refuseUnless(contentInfo.contentType === OID.signedData, 'malformed-signature');
    signedData = new SignedData({ schema: contentInfo.content });
  } catch (error) {
    if (error instanceof Refused) throw error;
    throw new Refused('malformed-signature');
  }
  // Detached: the signed bytes are the body received, never a copy inside the signature.
  const content = signedData.encapContentInfo;
  refuseUnless(
    content.eContentType === OID.data && content.eContent === undefined,
    'malformed-signature',
  );
  refuseUnless(signedData.signerInfos.length === 1, 'malformed-signature');
  return signedData.signerInfos[0]!;
}

/** The single value of the single attribute of this type (RFC 5652 sections 5.3, 11). */
function attributeValue(attributes: readonly Attribute[], type: string): unknown {
  const matching = attributes.filter((attribute) => attribute.type === type);
  refuseUnless(matching.length === 1 && matching[0]!.values.length === 1, 'malformed-signature');
  return matching[0]!.values[0];
}

/** DER forbids the constructed (chunked) form of an OCTET STRING. */
function octetsOf(value: unknown): Uint8Array | null {
  if (!(value instanceof OctetString) || value.idBlock.isConstructed) return null;
  return value.valueBlock.valueHexView;
}

/** Section 5.3: the signer names its certificate by issuer and serial number, as the pinned one. */
function isPinnedCertificate(signerId: unknown, pinned: X509SigningCertificate): boolean {
  if (!(signerId instanceof IssuerAndSerialNumber)) return false;
  const certificate = Certificate.fromBER(pinned.certificate.raw);
  return (
    signerId.serialNumber.toBigInt() === certificate.serialNumber.toBigInt() &&
    signerId.issuer.isEqual(certificate.issuer)
  );
}

function checkSignerInfo(
  signer: SignerInfo,
  body: Uint8Array,
  pinned: X509SigningCertificate,
): void {
  // Section 5.4: without signed attributes the digest would be signed directly;
  // this service always signs attributes, so their absence is a forgery attempt.
  const signedAttributes = signer.signedAttrs;
  refuseUnless(signedAttributes !== undefined, 'malformed-signature');
  refuseUnless(signer.digestAlgorithm.algorithmId === OID.sha256, 'unsupported-algorithm');
  refuseUnless(
    SIGNATURE_ALGORITHMS.has(signer.signatureAlgorithm.algorithmId) &&
      pinned.certificate.publicKey.asymmetricKeyType === 'rsa',
    'unsupported-algorithm',
  );
  refuseUnless(isPinnedCertificate(signer.sid, pinned), 'signer-mismatch');

  const contentType = attributeValue(signedAttributes.attributes, OID.contentType);
  refuseUnless(
    contentType instanceof ObjectIdentifier && contentType.getValue() === OID.data,
    'malformed-signature',
  );
  const digest = octetsOf(attributeValue(signedAttributes.attributes, OID.messageDigest));
  refuseUnless(digest !== null, 'malformed-signature');
  const actual = createHash('sha256').update(body).digest();
  refuseUnless(
    digest.length === actual.length && timingSafeEqual(digest, actual),
    'digest-mismatch',
  );

  const signatureValue = octetsOf(signer.signature);
  refuseUnless(signatureValue !== null, 'malformed-signature');
  // Section 5.4: the signature covers the attributes' encoding with the SET OF tag,
  // not [0]: pkijs keeps those exact received bytes with the tag already replaced.
  const signedBytes = new Uint8Array(signedAttributes.encodedValue);
  refuseUnless(
    verify('sha256', signedBytes, pinned.certificate.publicKey, signatureValue),
    'bad-signature',
  );
}

/**
 * Checks a signed response: its scheme, that it names the pinned certificate,
 * and the CMS signature over exactly `body`. Returns null when it verifies,
 * else why not.
 */
export function signatureFailure(
  body: Uint8Array,
  headers: Headers,
  pinned: SigningCertificate,
): SignatureFailure | null {
  try {
    const signature = headers.get('x-signature');
    refuseUnless(!!signature, 'missing-signature');
    const scheme = headers.get('x-signature-scheme');
    refuseUnless(isKnownScheme(scheme), 'unknown-scheme');
    // Another kind of key than the one held (the service changed profile) is another certificate.
    refuseUnless(
      scheme === SCHEME_OF[pinned.kind] &&
        headers.get('x-signing-certificate-sha256')?.toLowerCase() === pinned.fingerprint,
      'certificate-mismatch',
    );
    // Buffer.from skips what is not base64; a header that is not exactly base64 is no signature.
    refuseUnless(BASE64.test(signature!), 'malformed-signature');
    const bytes = Buffer.from(signature!, 'base64');
    if (pinned.kind === 'sm2-public-key') {
      refuseUnless(sm2SignatureVerifies(body, bytes, pinned), 'bad-signature');
    } else {
      checkSignerInfo(signerInfoOf(bytes), body, pinned);
    }
    return null;
  } catch (error) {
    if (error instanceof Refused) return error.reason;
    throw error;
  }
}
