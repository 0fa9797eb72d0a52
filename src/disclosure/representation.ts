import { AppError } from '../errors';
import type { Ceb621Signer } from './ceb621-signature';
import { envelopeFor, type PayloadSigner, type Signature } from './payload-crypto';

/** The media types partners exchange with this service. */
export const MEDIA = {
  json: 'application/json',
  xml: 'application/xml',
  pkcs7: 'application/pkcs7-mime',
  pem: 'application/x-pem-file',
} as const;

/** The forms a payload can take: JSON, the CEB621 XML message, or JSON enveloped to the partner. */
export type PayloadForm = 'json' | 'xml' | 'pkcs7';

/**
 * The Accept header's best match among `types`, false when it accepts none.
 * The HTTP layer supplies it (express's `req.accepts`), so no service reads a request.
 */
export type AcceptNegotiator = (types: string[]) => string | false;

/** A JSON payload as sent: plain, or enveloped to the certificate the partner registered. */
export type JsonRepresentation = { form: 'json' } | { form: 'pkcs7'; recipientPem: string };

/** The exact bytes sent, their type, and the detached signature over those bytes. */
export interface SignedPayload {
  body: Buffer;
  contentType: string;
  /** Detached CMS SignedData (gm: SM2 signature) over `body`, DER, base64. */
  signature: string;
  signatureScheme: string;
  certificateFingerprint: string;
}

/** The partner's preferred form among those `offered`, or 406 NOT_ACCEPTABLE. */
export function preferredForm<F extends PayloadForm>(
  accepts: AcceptNegotiator,
  offered: readonly F[],
): F {
  const type = accepts(offered.map((form) => MEDIA[form]));
  const chosen = offered.find((form) => MEDIA[form] === type);
  if (!chosen) {
    throw new AppError(
      'NOT_ACCEPTABLE',
      406,
      'None of the accepted media types can be produced here.',
    );
  }
  return chosen;
}

/**
 * A payload signed in the process is returned as it is; one signed in the HSM
 * as a promise of it. The service awaits either.
 */
export type Signed<S extends Signature> = S extends string ? SignedPayload : Promise<SignedPayload>;

/** `then` for a value that may or may not be a promise yet: stays synchronous when it is not. */
function after<T, U>(value: T | Promise<T>, next: (value: T) => U): U | Promise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

function signed<S extends Signature>(
  signer: PayloadSigner<S>,
  body: Buffer,
  contentType: string,
): Signed<S> {
  return after(signer.sign(body), (signature) => ({
    body,
    contentType,
    signature,
    signatureScheme: signer.scheme,
    certificateFingerprint: signer.certificateFingerprint,
  })) as Signed<S>;
}

/** Serialises once and signs those exact bytes (the envelope, when enveloped). */
export function signJson<S extends Signature>(
  signer: PayloadSigner<S>,
  representation: JsonRepresentation,
  value: unknown,
): Signed<S> {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  return representation.form === 'pkcs7'
    ? signed(
        signer,
        envelopeFor(representation.recipientPem, json),
        `${MEDIA.pkcs7}; smime-type=enveloped-data`,
      )
    : signed(signer, json, `${MEDIA.json}; charset=utf-8`);
}

/**
 * The CEB621 message as declared: XML-DSig enveloped inside (appStatus 2, the
 * signature that travels on with the message to the Single Window), and the
 * detached CMS signature over the bytes sent, like every other response.
 */
export function signXml<S extends Signature>(
  signer: PayloadSigner<S>,
  xmlSigner: Ceb621Signer<S>,
  unsignedXml: string,
): Signed<S> {
  return after(xmlSigner.declare(unsignedXml), (declared) =>
    signed(signer, Buffer.from(declared, 'utf8'), `${MEDIA.xml}; charset=utf-8`),
  ) as Signed<S>;
}
