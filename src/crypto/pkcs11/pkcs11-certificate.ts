import { randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

const { asn1, pki } = forge;

/** forge builds the TBSCertificate this way inside `cert.sign`; its typings do not list it. */
const getTbsCertificate = (
  pki as unknown as {
    getTBSCertificate(certificate: forge.pki.Certificate): forge.asn1.Asn1;
  }
).getTBSCertificate;

function der(object: forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1.toDer(object).getBytes(), 'binary');
}

export interface CertificateRequest {
  publicKey: KeyObject;
  commonName: string;
  keyUsage: { keyEncipherment?: boolean; digitalSignature?: boolean; nonRepudiation?: boolean };
  years: number;
}

/**
 * A self-signed X.509 certificate for an RSA key whose private half stays in
 * the token: forge builds the TBSCertificate (as `cert.sign` would), the
 * token signs its DER (sha256WithRSAEncryption, RFC 4055), forge assembles.
 * The same subject and extensions as the file key's certificate (master-key.ts).
 */
export async function selfSignedCertificate(
  request: CertificateRequest,
  signInToken: (tbsDer: Buffer) => Promise<Buffer>,
): Promise<{ pem: string; der: Buffer; subjectDer: Buffer }> {
  const certificate = pki.createCertificate();
  certificate.publicKey = pki.publicKeyFromPem(
    request.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  );
  // Positive serial: a leading 0x01 keeps the DER integer from reading as negative.
  certificate.serialNumber = '01' + randomBytes(15).toString('hex');
  const notBefore = new Date();
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + request.years);
  certificate.validity.notBefore = notBefore;
  certificate.validity.notAfter = notAfter;
  const subject = [
    { name: 'commonName', value: request.commonName },
    { name: 'organizationName', value: 'customs-identity-service' },
  ];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', critical: true, ...request.keyUsage },
    { name: 'subjectKeyIdentifier' },
  ]);
  certificate.signatureOid = certificate.siginfo.algorithmOid = pki.oids.sha256WithRSAEncryption!;
  certificate.tbsCertificate = getTbsCertificate(certificate);
  const signature = await signInToken(der(certificate.tbsCertificate));
  certificate.signature = signature.toString('binary');
  return {
    pem: pki.certificateToPem(certificate),
    der: der(pki.certificateToAsn1(certificate)),
    subjectDer: der(pki.distinguishedNameToAsn1(certificate.subject)),
  };
}
