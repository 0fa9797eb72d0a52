import type { Request, Response } from 'express';
import Joi from 'joi';
import { ROLES, route, type RouteDefinition } from '../http/route';
import { clearText, identifier, queryInteger, timestamp } from '../http/schemas';
import { decodeCursor } from './cursor';
import type { DeclarationReceiptAck, DeclarationStatusAck } from './declarations-service';
import { disclosedFields } from './disclosure-policy';
import { DECLARATION_STATUSES, RETURN_STATUSES, SHIPMENT_STATUSES } from './disclosure-types';
import type { PayloadService, PullQuery } from './payload-service';
import { MEDIA, type AcceptNegotiator, type SignedPayload } from './representation';
import type { ShipmentAck } from './shipments-service';

const cursor = Joi.string()
  .max(64)
  .custom((value: string, helpers) => {
    const seq = decodeCursor(value);
    if (seq === null) return helpers.error('any.invalid', { safeMessage: 'is not a valid cursor' });
    return seq;
  });

function pullQuery<S extends string>(statuses: readonly S[]) {
  return Joi.object<PullQuery<S>>({
    status: Joi.string().valid(...statuses),
    limit: queryInteger().min(1).max(100).default(50),
    after: cursor,
  });
}

const fenSchema = Joi.number().integer();
const goodsSchema = Joi.object({
  gnum: Joi.number().integer(),
  sku: Joi.string(),
  name: Joi.string(),
  qty: Joi.number().integer(),
  unitPriceFen: fenSchema,
  totalPriceFen: fenSchema,
  hsCode: Joi.string().description(
    'The HS code declared for the line (from the product catalogue)',
  ),
});
const withheld = Joi.string()
  .valid('WITHDRAWN', 'RESTRICTED')
  .description(
    'Present when the personal fields are withheld: order cancelled, or subject data restricted',
  );

const declarationItem = Joi.object({
  declarationId: Joi.string().uuid(),
  orderNo: Joi.string(),
  status: Joi.string().valid(...DECLARATION_STATUSES),
  buyer: Joi.object({
    name: Joi.string(),
    idType: Joi.string().valid('1'),
    idNumber: Joi.string(),
    telephone: Joi.string(),
  }).allow(null),
  consignee: Joi.object({ address: Joi.string() }).allow(null),
  goods: Joi.array().items(goodsSchema),
  goodsValueFen: fenSchema,
  freightFen: fenSchema,
  insuranceFen: fenSchema,
  taxTotalFen: fenSchema,
  carrierCode: Joi.string(),
  logisticsNo: Joi.string().description("The carrier's waybill number"),
  createdAt: Joi.string().isoDate(),
  releasedAt: Joi.string().isoDate().allow(null),
  withheld,
});

const shipmentItem = Joi.object({
  shipmentId: Joi.string().uuid(),
  orderNo: Joi.string(),
  status: Joi.string().valid(...SHIPMENT_STATUSES),
  consignee: Joi.object({
    name: Joi.string(),
    telephone: Joi.string(),
    address: Joi.string(),
  }).allow(null),
  parcel: Joi.object({ itemCount: Joi.number().integer(), goodsValueFen: fenSchema }),
  createdAt: Joi.string().isoDate(),
  pickedUpAt: Joi.string().isoDate().allow(null),
  deliveredAt: Joi.string().isoDate().allow(null),
  withheld,
});

const page = (item: Joi.Schema) =>
  Joi.object({ items: Joi.array().items(item), next: Joi.string().allow(null) });

const declarationParams = Joi.object<{ declarationId: string }>({
  declarationId: Joi.string().uuid().required(),
});
const shipmentParams = Joi.object<{ shipmentId: string }>({
  shipmentId: Joi.string().uuid().required(),
});

/** The first contract's form: ACCEPTED (= 800, released) or REJECTED (= 100). */
const declarationAliasAck = Joi.object<DeclarationStatusAck>({
  status: Joi.string()
    .valid('ACCEPTED', 'REJECTED')
    .required()
    .description('Alias of returnStatus: ACCEPTED = 800 (released), REJECTED = 100'),
  note: clearText(500).description(
    'Free text, stored in clear: refused when it looks like an id number or a phone',
  ),
  releasedAt: timestamp().description('With ACCEPTED: customs release time; default: now'),
});

/** A CEB622 receipt: the code as text, as in the message. */
const declarationReceiptAck = Joi.object<DeclarationReceiptAck>({
  returnStatus: Joi.string()
    .valid(...RETURN_STATUSES)
    .required()
    .description(
      'CEB622 receipt code: 800 releases, 100 rejects (quota restored), the others are recorded',
    ),
  returnTime: timestamp().description(
    "Customs' time of the receipt; for 800 the release time (default: now)",
  ),
  returnInfo: clearText(1000).description("Customs' text"),
});

/**
 * One of the two forms, chosen by `returnStatus`: a body with both
 * `status` and `returnStatus` is refused on `status`, one with neither asks
 * for `status`. Release times are judged by the service against its clock
 * and the broker's first disclosure: 422 RELEASE_TIME_INVALID.
 */
const declarationAckBody = Joi.alternatives().conditional<
  DeclarationReceiptAck,
  DeclarationStatusAck
>('.returnStatus', {
  is: Joi.exist(),
  then: declarationReceiptAck,
  otherwise: declarationAliasAck,
});
const declarationAckView = Joi.object({
  declarationId: Joi.string(),
  orderNo: Joi.string(),
  status: Joi.string().valid(...DECLARATION_STATUSES),
  returnStatus: Joi.string()
    .valid(...RETURN_STATUSES)
    .allow(null)
    .description('The last customs receipt code recorded'),
  ackedAt: Joi.string().isoDate().allow(null),
  releasedAt: Joi.string().isoDate().allow(null),
});

const shipmentAckBody = Joi.object<ShipmentAck>({
  status: Joi.string().valid('ACCEPTED', 'PICKED_UP', 'DELIVERED').required(),
  logisticsNo: Joi.when('status', {
    is: 'ACCEPTED',
    then: identifier(/^[A-Za-z0-9-]{1,60}$/).required(),
    otherwise: Joi.forbidden(),
  }).description(
    "With ACCEPTED: the carrier's waybill number (CEB621 logisticsNo, at most 60 letters, digits or -)",
  ),
});
const shipmentAckView = Joi.object({
  shipmentId: Joi.string(),
  orderNo: Joi.string(),
  status: Joi.string().valid(...SHIPMENT_STATUSES),
  logisticsNo: Joi.string().allow(null),
  pickedUpAt: Joi.string().isoDate().allow(null),
  deliveredAt: Joi.string().isoDate().allow(null),
});

const SIGNED =
  ' Signed: `X-Signature` holds a detached CMS SignedData (DER, base64) over the exact body bytes; ' +
  'verify with the certificate from GET /v1/signing-certificate.';

const signedResponse = (description: string, schema: Joi.Schema) => ({
  description: description + SIGNED,
  schema,
});
const notAcceptable = {
  description: 'Unsupported Accept, or pkcs7-mime without a registered certificate',
};
const nextPage = 'A page; `next` is the cursor for `after`, null at the end.';

function acceptsOf(req: Request): AcceptNegotiator {
  return (types) => req.accepts(types);
}

/** Sends the signed bytes untouched, with the headers a partner verifies them by. */
function sendSigned(res: Response, payload: SignedPayload): void {
  res.status(200);
  res.setHeader('Content-Type', payload.contentType);
  res.setHeader('Content-Length', String(payload.body.length));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Vary', 'Accept');
  res.setHeader('X-Signature', payload.signature);
  res.setHeader('X-Signature-Scheme', payload.signatureScheme);
  res.setHeader('X-Signing-Certificate-Sha256', payload.certificateFingerprint);
  res.end(payload.body);
}

function declarationRoutes(payloads: PayloadService): RouteDefinition[] {
  const personalData = { action: 'declaration.disclose', fields: disclosedFields('customs') };
  return [
    route({
      method: 'get',
      path: '/v1/declarations',
      summary: 'Pull declarations of this broker (CEB621 fields); each disclosure is recorded',
      tag: 'Declarations',
      roles: ['customs'],
      query: pullQuery(DECLARATION_STATUSES),
      personalData,
      responses: { 200: signedResponse(nextPage, page(declarationItem)), 406: notAcceptable },
      async handler(req, res, { input, request }) {
        sendSigned(res, await payloads.declarationsPage(request, acceptsOf(req), input.query));
      },
    }),
    route({
      method: 'get',
      path: '/v1/declarations/:declarationId',
      summary: 'One declaration: JSON, the CEB621 message (Accept: application/xml), or enveloped',
      tag: 'Declarations',
      roles: ['customs'],
      params: declarationParams,
      personalData,
      responses: {
        200: signedResponse('The declaration (JSON), or the CEB621Message (XML).', declarationItem),
        404: { description: 'Unknown, or another broker’s' },
        406: notAcceptable,
        409: { description: 'DISCLOSURE_WITHHELD: no CEB621 message for a withheld declaration' },
      },
      errors: [
        { status: 409, code: 'DISCLOSURE_WITHHELD' },
        {
          status: 409,
          code: 'DECLARATION_INCOMPLETE',
          when: 'the XML inventory lacks data CEB621 requires (details name the elements)',
        },
      ],
      async handler(req, res, { input, request }) {
        const { declarationId } = input.params;
        sendSigned(res, await payloads.declaration(request, acceptsOf(req), declarationId));
      },
    }),
    route({
      method: 'post',
      path: '/v1/declarations/:declarationId/ack',
      summary:
        'Customs receipt (CEB622 returnStatus), relayed by the broker: 800 releases, 100 rejects (quota restored)',
      tag: 'Declarations',
      roles: ['customs'],
      params: declarationParams,
      body: declarationAckBody,
      responses: {
        200: signedResponse('The declaration state after the ack.', declarationAckView),
        404: { description: 'Unknown, or another broker’s' },
        409: {
          description:
            'INVALID_STATE_TRANSITION: another final answer was given; ' +
            'DECLARATION_NOT_DISCLOSED: a release of a declaration the broker never received',
        },
        422: {
          description:
            'RELEASE_TIME_INVALID: the release time is in the future or before the broker first received the declaration',
        },
      },
      errors: [
        { status: 409, code: 'INVALID_STATE_TRANSITION' },
        { status: 409, code: 'DECLARATION_NOT_DISCLOSED' },
        { status: 422, code: 'RELEASE_TIME_INVALID' },
      ],
      async handler(_req, res, { input, request }) {
        const { declarationId } = input.params;
        sendSigned(res, await payloads.ackDeclaration(request, declarationId, input.body));
      },
    }),
  ];
}

function shipmentRoutes(payloads: PayloadService): RouteDefinition[] {
  const personalData = { action: 'shipment.disclose', fields: disclosedFields('carrier') };
  return [
    route({
      method: 'get',
      path: '/v1/shipments',
      summary:
        'Pull shipments of this carrier (CEB511 consignee fields); each disclosure is recorded',
      tag: 'Shipments',
      roles: ['carrier'],
      query: pullQuery(SHIPMENT_STATUSES),
      personalData,
      responses: { 200: signedResponse(nextPage, page(shipmentItem)), 406: notAcceptable },
      async handler(req, res, { input, request }) {
        sendSigned(res, await payloads.shipmentsPage(request, acceptsOf(req), input.query));
      },
    }),
    route({
      method: 'get',
      path: '/v1/shipments/:shipmentId',
      summary: 'One shipment of this carrier',
      tag: 'Shipments',
      roles: ['carrier'],
      params: shipmentParams,
      personalData,
      responses: {
        200: signedResponse('The shipment.', shipmentItem),
        404: { description: 'Unknown, or another carrier’s' },
        406: notAcceptable,
      },
      async handler(req, res, { input, request }) {
        const { shipmentId } = input.params;
        sendSigned(res, await payloads.shipment(request, acceptsOf(req), shipmentId));
      },
    }),
    route({
      method: 'post',
      path: '/v1/shipments/:shipmentId/ack',
      summary:
        'Carrier progress: ACCEPTED with the waybill (the declaration is then lodged with the broker), PICKED_UP, DELIVERED',
      tag: 'Shipments',
      roles: ['carrier'],
      params: shipmentParams,
      body: shipmentAckBody,
      responses: {
        200: signedResponse('The shipment state after the ack.', shipmentAckView),
        404: { description: 'Unknown, or another carrier’s' },
        409: { description: 'INVALID_STATE_TRANSITION' },
      },
      errors: [{ status: 409, code: 'INVALID_STATE_TRANSITION' }],
      async handler(_req, res, { input, request }) {
        const { shipmentId } = input.params;
        sendSigned(res, await payloads.ackShipment(request, shipmentId, input.body));
      },
    }),
  ];
}

function signingCertificateRoute(payloads: PayloadService): RouteDefinition {
  return route({
    method: 'get',
    path: '/v1/signing-certificate',
    summary: 'The X.509 certificate (PEM) that verifies X-Signature on declarations and shipments',
    tag: 'Declarations',
    roles: [...ROLES],
    responses: {
      200: { description: 'PEM certificate', contentType: MEDIA.pem, schema: Joi.string() },
    },
    handler(_req, res) {
      const { pem, fingerprint } = payloads.signingCertificate();
      res.setHeader('Content-Type', MEDIA.pem);
      res.setHeader('X-Signing-Certificate-Sha256', fingerprint);
      res.status(200).send(pem);
    },
  });
}

/** Declarations for customs brokers, shipments for carriers: every answer signed. */
export function disclosureRoutes(payloads: PayloadService): RouteDefinition[] {
  return [
    ...declarationRoutes(payloads),
    ...shipmentRoutes(payloads),
    signingCertificateRoute(payloads),
  ];
}
