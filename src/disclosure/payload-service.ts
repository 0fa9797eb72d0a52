import type { PartnerCertificates } from '../clients/clients-types';
import { AppError } from '../errors';
import type { RequestContext } from '../http/route';
import type { Ceb621Signer } from './ceb621-signature';
import { encodeCursor } from './cursor';
import type { DeclarationAck, DeclarationsService } from './declarations-service';
import type { DeclarationStatus, ShipmentStatus } from './disclosure-types';
import type { PayloadSigner } from './payload-crypto';
import {
  preferredForm,
  signJson,
  signXml,
  type AcceptNegotiator,
  type JsonRepresentation,
  type SignedPayload,
} from './representation';
import type { ShipmentAck, ShipmentsService } from './shipments-service';

/** A pull-queue request as the partner sends it; `after` is the decoded cursor. */
export interface PullQuery<S extends string> {
  status?: S;
  limit: number;
  after?: number;
}

/**
 * Every partner answer, signed: the representation is chosen first (a 406
 * discloses nothing), then the record is disclosed, serialised once and signed.
 */
export interface PayloadService {
  declarationsPage(
    context: RequestContext,
    accepts: AcceptNegotiator,
    query: PullQuery<DeclarationStatus>,
  ): Promise<SignedPayload>;
  /** JSON, the CEB621 message (XML), or JSON enveloped to the broker. */
  declaration(
    context: RequestContext,
    accepts: AcceptNegotiator,
    declarationId: string,
  ): Promise<SignedPayload>;
  /** Acks answer in plain JSON whatever the Accept header says. */
  ackDeclaration(
    context: RequestContext,
    declarationId: string,
    ack: DeclarationAck,
  ): Promise<SignedPayload>;
  shipmentsPage(
    context: RequestContext,
    accepts: AcceptNegotiator,
    query: PullQuery<ShipmentStatus>,
  ): Promise<SignedPayload>;
  shipment(
    context: RequestContext,
    accepts: AcceptNegotiator,
    shipmentId: string,
  ): Promise<SignedPayload>;
  ackShipment(
    context: RequestContext,
    shipmentId: string,
    ack: ShipmentAck,
  ): Promise<SignedPayload>;
  /** The certificate that verifies every signature, and its SHA-256 fingerprint. */
  signingCertificate(): { pem: string; fingerprint: string };
}

export interface PayloadServiceDeps {
  declarations: DeclarationsService;
  shipments: ShipmentsService;
  /** In the process or in the HSM: either way every signed payload below is awaited. */
  signer: PayloadSigner;
  /** XML-DSig of the CEB621 message, with the same key and certificate as `signer`. */
  xmlSigner: Ceb621Signer;
  certificates: PartnerCertificates;
}

const JSON_FORMS = ['json', 'pkcs7'] as const;
const DECLARATION_FORMS = ['json', 'xml', 'pkcs7'] as const;
const PLAIN_JSON: JsonRepresentation = { form: 'json' };

/** An envelope needs the partner's registered certificate: without one, 406. */
async function jsonRepresentation(
  certificates: PartnerCertificates,
  context: RequestContext,
  form: (typeof JSON_FORMS)[number],
): Promise<JsonRepresentation> {
  if (form === 'json') return PLAIN_JSON;
  const recipientPem = await certificates.certificateOf(context.actor.clientId);
  if (!recipientPem) {
    throw new AppError(
      'NOT_ACCEPTABLE',
      406,
      'No certificate is registered for this client: enveloped payloads cannot be produced.',
    );
  }
  return { form, recipientPem };
}

type ListPage<S extends string> = (
  context: RequestContext,
  query: { status?: S; limit: number; afterSeq: number },
) => Promise<{ items: unknown[]; nextAfter: number | null }>;

export function createPayloadService(deps: PayloadServiceDeps): PayloadService {
  const { declarations, shipments, signer, xmlSigner, certificates } = deps;
  const negotiateJson = async (context: RequestContext, accepts: AcceptNegotiator) =>
    jsonRepresentation(certificates, context, preferredForm(accepts, JSON_FORMS));

  /** Both pull queues answer the same way: one signed page and the cursor for the next. */
  async function page<S extends string>(
    context: RequestContext,
    accepts: AcceptNegotiator,
    query: PullQuery<S>,
    list: ListPage<S>,
  ): Promise<SignedPayload> {
    const representation = await negotiateJson(context, accepts);
    const result = await list(context, {
      status: query.status,
      limit: query.limit,
      afterSeq: query.after ?? 0,
    });
    return signJson(signer, representation, {
      items: result.items,
      next: result.nextAfter === null ? null : encodeCursor(result.nextAfter),
    });
  }

  return {
    declarationsPage: (context, accepts, query) => page(context, accepts, query, declarations.list),

    async declaration(context, accepts, declarationId) {
      const form = preferredForm(accepts, DECLARATION_FORMS);
      if (form === 'xml') {
        const unsigned = await declarations.inventoryMessage(context, declarationId);
        return signXml(signer, xmlSigner, unsigned);
      }
      const representation = await jsonRepresentation(certificates, context, form);
      return signJson(signer, representation, await declarations.get(context, declarationId));
    },

    async ackDeclaration(context, declarationId, ack) {
      return signJson(signer, PLAIN_JSON, await declarations.ack(context, declarationId, ack));
    },

    shipmentsPage: (context, accepts, query) => page(context, accepts, query, shipments.list),

    async shipment(context, accepts, shipmentId) {
      const representation = await negotiateJson(context, accepts);
      return signJson(signer, representation, await shipments.get(context, shipmentId));
    },

    async ackShipment(context, shipmentId, ack) {
      return signJson(signer, PLAIN_JSON, await shipments.ack(context, shipmentId, ack));
    },

    signingCertificate: () => ({
      pem: signer.certificatePem,
      fingerprint: signer.certificateFingerprint,
    }),
  };
}
