import { createHash } from 'node:crypto';
import forge from 'node-forge';

const { asn1, pki } = forge;

/** What an admin sees of a registered partner certificate: nothing secret, nothing of the key. */
export interface PartnerCertificateSummary {
  subject: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
}

export type PartnerCertificateCheck =
  { ok: true; pem: string; summary: PartnerCertificateSummary } | { ok: false; reason: string };

const PEM_CERTIFICATE =
  /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/;
/** Payloads are enveloped with the partner's RSA key: anything shorter is refused. */
const MIN_RSA_BITS = 2048;

/**
 * Checks a partner certificate before it is registered: exactly one PEM
 * X.509 certificate, an RSA key of at least 2048 bits, currently valid.
 * Reasons are fixed strings; nothing from the input is echoed.
 */
export function checkPartnerCertificate(text: string, now = new Date()): PartnerCertificateCheck {
  const trimmed = text.trim();
  if (!PEM_CERTIFICATE.test(trimmed)) {
    return { ok: false, reason: 'must be exactly one PEM certificate' };
  }
  let certificate: forge.pki.Certificate;
  try {
    certificate = pki.certificateFromPem(trimmed);
  } catch {
    return { ok: false, reason: 'must be an X.509 certificate with an RSA key' };
  }
  const publicKey = certificate.publicKey as forge.pki.rsa.PublicKey;
  if (!publicKey?.n || publicKey.n.bitLength() < MIN_RSA_BITS) {
    return { ok: false, reason: 'must carry an RSA key of at least 2048 bits' };
  }
  if (certificate.validity.notAfter <= now || certificate.validity.notBefore > now) {
    return { ok: false, reason: 'is not valid at this time' };
  }
  return { ok: true, pem: pki.certificateToPem(certificate), summary: summarise(certificate) };
}

function summarise(certificate: forge.pki.Certificate): PartnerCertificateSummary {
  const der = Buffer.from(asn1.toDer(pki.certificateToAsn1(certificate)).getBytes(), 'binary');
  return {
    subject: certificate.subject.attributes
      .map((attribute) => `${attribute.shortName ?? attribute.name}=${String(attribute.value)}`)
      .join(', '),
    serialNumber: certificate.serialNumber,
    notBefore: certificate.validity.notBefore.toISOString(),
    notAfter: certificate.validity.notAfter.toISOString(),
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
  };
}
