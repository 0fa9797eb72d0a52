import type { BinaryLike, KeyLike } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml, type ErrorFirstCallback, type SignatureAlgorithm } from 'xml-crypto';
import type { KeySigner } from '../crypto/key-provider';
import { APP_STATUS_DECLARED, APP_STATUS_UNSIGNED, CEB_NAMESPACE } from './ceb621-xml';
import type { SigningMaterial } from './signing-key';

export const XMLDSIG_NAMESPACE = 'http://www.w3.org/2000/09/xmldsig#';

/**
 * The algorithms of the enveloped signature (XML-DSig 1.0, RFC 3275 / W3C
 * xmldsig-core; SHA-256 identifiers from RFC 6931): exclusive C14N for
 * SignedInfo and for the reference, after the enveloped-signature transform.
 */
export const CEB621_SIGNATURE_ALGORITHMS = {
  canonicalization: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  digest: 'http://www.w3.org/2001/04/xmlenc#sha256',
  envelopedTransform: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;

/** The message was not one `buildCeb621Xml` produced, unsigned. */
export class Ceb621SignatureError extends Error {
  readonly code = 'CEB621_NOT_SIGNABLE';
  constructor(message: string) {
    super(message);
    this.name = 'Ceb621SignatureError';
  }
}

export interface Ceb621Signer<S extends string | Promise<string> = string | Promise<string>> {
  /**
   * Declares an unsigned CEB621 message: every `appStatus` 1 becomes 2 and an
   * enveloped `ds:Signature` (reference URI "", RSA-SHA256, the certificate in
   * KeyInfo/X509Data) is appended as the last child of the root, where the
   * schema's `xs:any namespace="##other"` admits it. A promise when the key
   * is in the HSM.
   */
  declare(unsignedXml: string): S;
}

/** A parse error is an exception, not a console warning and a partial tree. */
function parseStrict(xml: string): Document {
  const fail = (message: string) => {
    throw new Ceb621SignatureError(`CEB621 message is not well-formed XML: ${message}`);
  };
  return new DOMParser({
    errorHandler: { warning: () => undefined, error: fail, fatalError: fail },
  }).parseFromString(xml, 'text/xml') as unknown as Document;
}

/** appStatus 1 -> 2 in every InventoryHead, refusing anything but an unsigned message. */
function markDeclared(doc: Document): void {
  const root = doc.documentElement;
  if (root?.namespaceURI !== CEB_NAMESPACE || root.localName !== 'CEB621Message') {
    throw new Ceb621SignatureError('not a CEB621Message');
  }
  if (root.getElementsByTagNameNS(XMLDSIG_NAMESPACE, 'Signature').length > 0) {
    throw new Ceb621SignatureError('the CEB621 message is signed already');
  }
  const statuses = Array.from(root.getElementsByTagNameNS(CEB_NAMESPACE, 'appStatus'));
  if (statuses.length === 0 || statuses.some((node) => node.textContent !== APP_STATUS_UNSIGNED)) {
    throw new Ceb621SignatureError(
      `only a message with appStatus ${APP_STATUS_UNSIGNED} is signed`,
    );
  }
  for (const node of statuses) node.textContent = APP_STATUS_DECLARED;
}

/**
 * xmldom writes CR, NEL and LS raw in text; a parser reads a raw CR back as
 * LF, and xmldom (XML 1.1 line ends) NEL and LS too, which would change the
 * digest for one verifier and not another. Written as references, every
 * reader gets the character itself. They appear only in text and attribute
 * values (no XML name contains them), so the replacement touches nothing else.
 */
const LINE_END_REFERENCES: Record<string, string> = {
  '\r': '&#xD;',
  '\u0085': '&#x85;',
  '\u2028': '&#x2028;',
};
const referenceLineEnds = (xml: string) =>
  xml.replace(/[\r\u0085\u2028]/g, (c) => LINE_END_REFERENCES[c]!);

/** The enveloped signature's settings, before a key signs SignedInfo. */
function prepare(
  unsignedXml: string,
  options: { privateKey: KeyLike; publicCert: string },
): { signer: SignedXml; xml: string } {
  const doc = parseStrict(unsignedXml);
  markDeclared(doc);
  const signer = new SignedXml({
    ...options,
    signatureAlgorithm: CEB621_SIGNATURE_ALGORITHMS.signature,
    canonicalizationAlgorithm: CEB621_SIGNATURE_ALGORITHMS.canonicalization,
  });
  signer.addReference({
    xpath: '/*',
    isEmptyUri: true,
    transforms: [
      CEB621_SIGNATURE_ALGORITHMS.envelopedTransform,
      CEB621_SIGNATURE_ALGORITHMS.canonicalization,
    ],
    digestAlgorithm: CEB621_SIGNATURE_ALGORITHMS.digest,
  });
  return { signer, xml: referenceLineEnds(doc.toString()) };
}

const LOCATION = { prefix: 'ds', location: { reference: '/*', action: 'append' } } as const;

/**
 * The platform's XML signer, with the service's signing key and certificate
 * (the pair that also makes the detached CMS signatures).
 */
export function createCeb621Signer(material: SigningMaterial): Ceb621Signer<string> {
  return {
    declare(unsignedXml) {
      const { signer, xml } = prepare(unsignedXml, {
        privateKey: material.privateKey,
        publicCert: material.certificatePem,
      });
      signer.computeSignature(xml, LOCATION);
      return referenceLineEnds(signer.getSignedXml());
    },
  };
}

/**
 * The same signature made in the HSM (KEY_PROVIDER=pkcs11): xml-crypto's
 * asynchronous flow hands the canonical SignedInfo to a signature algorithm of
 * our own under the RSA-SHA256 identifier, which has the token sign it
 * (CKM_SHA256_RSA_PKCS). xml-crypto wants a private key to be set: the public
 * key stands in, and nothing reads it.
 */
export function createTokenCeb621Signer(
  keySigner: KeySigner,
  certificatePem: string,
): Ceb621Signer<Promise<string>> {
  if (keySigner.algorithm !== 'rsa-pkcs1-sha256') {
    throw new Error('the disclosure signing key in the token must be an RSA key');
  }
  class TokenRsaSha256 implements SignatureAlgorithm {
    getSignature(signedInfo: BinaryLike, _key: KeyLike): string;
    getSignature(
      signedInfo: BinaryLike,
      _key: KeyLike,
      callback?: ErrorFirstCallback<string>,
    ): void;
    getSignature(
      signedInfo: BinaryLike,
      _key: KeyLike,
      callback?: ErrorFirstCallback<string>,
    ): string | void {
      if (!callback) throw new Error('a signature in the HSM is asynchronous');
      keySigner.sign(Buffer.from(signedInfo as string, 'utf8')).then(
        (signature) => callback(null, signature.toString('base64')),
        (error: Error) => callback(error),
      );
    }
    verifySignature(): boolean {
      throw new Error('this algorithm only signs');
    }
    getAlgorithmName() {
      return CEB621_SIGNATURE_ALGORITHMS.signature;
    }
  }
  return {
    async declare(unsignedXml) {
      const { signer, xml } = prepare(unsignedXml, {
        privateKey: keySigner.publicKey,
        publicCert: certificatePem,
      });
      signer.SignatureAlgorithms = {
        ...signer.SignatureAlgorithms,
        [CEB621_SIGNATURE_ALGORITHMS.signature]: TokenRsaSha256,
      };
      await new Promise<void>((resolve, reject) =>
        signer.computeSignature(xml, LOCATION, (error) => (error ? reject(error) : resolve())),
      );
      return referenceLineEnds(signer.getSignedXml());
    },
  };
}
