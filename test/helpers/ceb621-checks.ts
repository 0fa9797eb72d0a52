import { DOMParser } from '@xmldom/xmldom';
import fs from 'node:fs';
import path from 'node:path';
import { SignedXml } from 'xml-crypto';
import { validateXML } from 'xmllint-wasm';
import { XMLDSIG_NAMESPACE } from '../../src/disclosure/ceb621-signature';

/** A copy of /work/shared/ceb/CEB621Message.xsd (see test/fixtures/ceb/README.md). */
export const XSD_PATH = path.join(__dirname, '..', 'fixtures', 'ceb', 'CEB621Message.xsd');
export const XSD = fs.readFileSync(XSD_PATH, 'utf8');

/** libxml2's schema errors for a message; empty when it validates against the CEB621 XSD. */
export async function schemaErrors(xml: string): Promise<string[]> {
  const result = await validateXML({
    xml: [{ fileName: 'message.xml', contents: xml }],
    schema: [{ fileName: 'CEB621Message.xsd', contents: XSD }],
  });
  return result.valid ? [] : result.errors.map((error) => error.message);
}

/** A real parser that throws on any well-formedness error. */
export function parseXml(xml: string): Document {
  const fail = (message: string) => {
    throw new Error(`not well-formed: ${message}`);
  };
  return new DOMParser({
    errorHandler: { warning: () => undefined, error: fail, fatalError: fail },
  }).parseFromString(xml, 'text/xml') as unknown as Document;
}

/**
 * Verification as a broker does it: the document re-parsed, exactly one
 * signature, checked against the pinned certificate (never the one in KeyInfo).
 */
export function signatureVerifies(xml: string, certificatePem: string): boolean {
  const signatures = parseXml(xml).getElementsByTagNameNS(XMLDSIG_NAMESPACE, 'Signature');
  if (signatures.length !== 1) return false;
  const verifier = new SignedXml({ publicCert: certificatePem, getCertFromKeyInfo: () => null });
  verifier.loadSignature(signatures[0]!);
  try {
    return verifier.checkSignature(xml);
  } catch {
    return false;
  }
}
