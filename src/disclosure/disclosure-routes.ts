import type { Request, Response } from 'express';
import Joi from 'joi';
import type { ClientsService } from '../clients/clients-service';
import { AppError, ValidationFailed } from '../errors';
import { defineRoutes, ROLES, type RequestContext, type RouteDefinition } from '../http/route';
import type { DeclarationsService } from './declarations-service';
import { disclosedFields } from './disclosure-policy';
import { DECLARATION_STATUSES, SHIPMENT_STATUSES } from './disclosure-types';
import {
  checkPartnerCertificate,
  envelopeFor,
  SIGNATURE_SCHEME,
  type PayloadSigner,
} from './payload-crypto';
import type { ShipmentsService } from './shipments-service';

export const MEDIA = {
  json: 'application/json',
  xml: 'application/xml',
  pkcs7: 'application/pkcs7-mime',
  pem: 'application/x-pem-file',
} as const;

type Representation = 'json' | 'xml' | 'pkcs7';

/** Cursor: an opaque token for "after this record". Versioned so it can change shape later. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`v1:${seq}`, 'utf8').toString('base64url');
}

const cursor = Joi.string()
  .max(64)
  .custom((value: string, helpers) => {
    const match = /^v1:(\d{1,15})$/.exec(Buffer.from(value, 'base64url').toString('utf8'));
    if (!match) return helpers.error('any.invalid', { safeMessage: 'is not a valid cursor' });
    return Number(match[1]);
  });

function listQuery(statuses: readonly string[]) {
  return Joi.object({
    status: Joi.string().valid(...statuses),
    limit: Joi.number().integer().min(1).max(100).default(50),
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

const SIGNED =
  ' Signed: `X-Signature` holds a detached CMS SignedData (DER, base64) over the exact body bytes; ' +
  'verify with the certificate from GET /v1/signing-certificate.';

export interface DisclosureRoutesDeps {
  declarations: DeclarationsService;
  shipments: ShipmentsService;
  signer: PayloadSigner;
  clients: Pick<ClientsService, 'findById' | 'setCertificate'>;
}

export function disclosureRoutes({
  declarations,
  shipments,
  signer,
  clients,
}: DisclosureRoutesDeps) {
  /** Chooses the representation before anything is disclosed: a 406 discloses nothing. */
  async function negotiate(
    req: Request,
    request: RequestContext,
    offered: readonly Representation[],
  ): Promise<{ kind: Representation; recipientPem?: string }> {
    const kind = req.accepts(offered.map((name) => MEDIA[name])) as string | false;
    const chosen = offered.find((name) => MEDIA[name] === kind);
    if (!chosen) {
      throw new AppError(
        'NOT_ACCEPTABLE',
        406,
        'None of the accepted media types can be produced here.',
      );
    }
    if (chosen !== 'pkcs7') return { kind: chosen };
    const client = await clients.findById(request.actor.clientId);
    if (!client?.certificatePem) {
      throw new AppError(
        'NOT_ACCEPTABLE',
        406,
        'No certificate is registered for this client: enveloped payloads cannot be produced.',
      );
    }
    return { kind: 'pkcs7', recipientPem: client.certificatePem };
  }

  /** Serialises once, signs those exact bytes, sends them untouched. */
  function sendSigned(
    res: Response,
    representation: { kind: Representation; recipientPem?: string },
    payload: unknown,
  ): void {
    let body: Buffer;
    let type: string;
    if (representation.kind === 'xml') {
      body = Buffer.from(payload as string, 'utf8');
      type = `${MEDIA.xml}; charset=utf-8`;
    } else {
      const json = Buffer.from(JSON.stringify(payload), 'utf8');
      if (representation.kind === 'pkcs7') {
        body = envelopeFor(representation.recipientPem!, json);
        type = `${MEDIA.pkcs7}; smime-type=enveloped-data`;
      } else {
        body = json;
        type = `${MEDIA.json}; charset=utf-8`;
      }
    }
    res.status(200);
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', String(body.length));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Vary', 'Accept');
    res.setHeader('X-Signature', signer.sign(body));
    res.setHeader('X-Signature-Scheme', SIGNATURE_SCHEME);
    res.setHeader('X-Signing-Certificate-Sha256', signer.certificateFingerprint);
    res.end(body);
  }

  /** Both pull queues answer the same way: one signed page and the cursor for the next. */
  function pullPage<Status extends string>(
    list: (
      context: RequestContext,
      query: { status?: Status; limit: number; afterSeq: number },
    ) => Promise<{ items: unknown[]; nextAfter: number | null }>,
  ): RouteDefinition['handler'] {
    return async (req, res, { input, request }) => {
      const representation = await negotiate(req, request, ['json', 'pkcs7']);
      // The route's joi query schema has checked status against this queue's own list.
      const query = input.query as { status?: Status; limit: number; after?: number };
      const result = await list(request, {
        status: query.status,
        limit: query.limit,
        afterSeq: query.after ?? 0,
      });
      sendSigned(res, representation, {
        items: result.items,
        next: result.nextAfter === null ? null : encodeCursor(result.nextAfter),
      });
    };
  }

  const declarationParams = Joi.object({ declarationId: Joi.string().uuid().required() });
  const shipmentParams = Joi.object({ shipmentId: Joi.string().uuid().required() });
  const signedResponse = (description: string, schema: Joi.Schema) => ({
    description: description + SIGNED,
    schema,
  });

  return defineRoutes([
    {
      method: 'get',
      path: '/v1/declarations',
      summary: 'Pull declarations of this broker (CEB621 fields); each disclosure is recorded',
      tag: 'Declarations',
      roles: ['customs'],
      query: listQuery(DECLARATION_STATUSES),
      personalData: { action: 'declaration.disclose', fields: disclosedFields('customs') },
      responses: {
        200: signedResponse(
          'A page; `next` is the cursor for `after`, null at the end.',
          page(declarationItem),
        ),
        406: { description: 'Unsupported Accept, or pkcs7-mime without a registered certificate' },
      },
      handler: pullPage(declarations.list),
    },
    {
      method: 'get',
      path: '/v1/declarations/:declarationId',
      summary: 'One declaration: JSON, the CEB621 message (Accept: application/xml), or enveloped',
      tag: 'Declarations',
      roles: ['customs'],
      params: declarationParams,
      personalData: { action: 'declaration.disclose', fields: disclosedFields('customs') },
      responses: {
        200: signedResponse('The declaration (JSON), or the CEB621Message (XML).', declarationItem),
        404: { description: 'Unknown, or another broker’s' },
        406: { description: 'Unsupported Accept, or pkcs7-mime without a registered certificate' },
        409: { description: 'DISCLOSURE_WITHHELD: no CEB621 message for a withheld declaration' },
      },
      async handler(req, res, { input, request }) {
        const representation = await negotiate(req, request, ['json', 'xml', 'pkcs7']);
        const id = input.params.declarationId!;
        const payload =
          representation.kind === 'xml'
            ? await declarations.inventoryMessage(request, id)
            : await declarations.get(request, id);
        sendSigned(res, representation, payload);
      },
    },
    {
      method: 'post',
      path: '/v1/declarations/:declarationId/ack',
      summary:
        'Customs answer, relayed by the broker: ACCEPTED (released) or REJECTED (quota restored)',
      tag: 'Declarations',
      roles: ['customs'],
      params: declarationParams,
      body: Joi.object({
        status: Joi.string().valid('ACCEPTED', 'REJECTED').required(),
        note: Joi.string().max(500),
        releasedAt: Joi.date().iso().max('now').description('Customs release time; default: now'),
      }),
      responses: {
        200: signedResponse(
          'The declaration state after the ack.',
          Joi.object({
            declarationId: Joi.string(),
            orderNo: Joi.string(),
            status: Joi.string().valid(...DECLARATION_STATUSES),
            ackedAt: Joi.string().isoDate().allow(null),
            releasedAt: Joi.string().isoDate().allow(null),
          }),
        ),
        404: { description: 'Unknown, or another broker’s' },
        409: { description: 'INVALID_STATE_TRANSITION' },
      },
      async handler(_req, res, { input, request }) {
        const body = input.body as {
          status: 'ACCEPTED' | 'REJECTED';
          note?: string;
          releasedAt?: Date;
        };
        const result = await declarations.ack(request, input.params.declarationId!, body);
        sendSigned(res, { kind: 'json' }, result);
      },
    },
    {
      method: 'get',
      path: '/v1/shipments',
      summary:
        'Pull shipments of this carrier (CEB511 consignee fields); each disclosure is recorded',
      tag: 'Shipments',
      roles: ['carrier'],
      query: listQuery(SHIPMENT_STATUSES),
      personalData: { action: 'shipment.disclose', fields: disclosedFields('carrier') },
      responses: {
        200: signedResponse(
          'A page; `next` is the cursor for `after`, null at the end.',
          page(shipmentItem),
        ),
        406: { description: 'Unsupported Accept, or pkcs7-mime without a registered certificate' },
      },
      handler: pullPage(shipments.list),
    },
    {
      method: 'get',
      path: '/v1/shipments/:shipmentId',
      summary: 'One shipment of this carrier',
      tag: 'Shipments',
      roles: ['carrier'],
      params: shipmentParams,
      personalData: { action: 'shipment.disclose', fields: disclosedFields('carrier') },
      responses: {
        200: signedResponse('The shipment.', shipmentItem),
        404: { description: 'Unknown, or another carrier’s' },
        406: { description: 'Unsupported Accept, or pkcs7-mime without a registered certificate' },
      },
      async handler(req, res, { input, request }) {
        const representation = await negotiate(req, request, ['json', 'pkcs7']);
        sendSigned(res, representation, await shipments.get(request, input.params.shipmentId!));
      },
    },
    {
      method: 'post',
      path: '/v1/shipments/:shipmentId/ack',
      summary: 'Carrier progress: PICKED_UP, then DELIVERED',
      tag: 'Shipments',
      roles: ['carrier'],
      params: shipmentParams,
      body: Joi.object({ status: Joi.string().valid('PICKED_UP', 'DELIVERED').required() }),
      responses: {
        200: signedResponse(
          'The shipment state after the ack.',
          Joi.object({
            shipmentId: Joi.string(),
            orderNo: Joi.string(),
            status: Joi.string().valid(...SHIPMENT_STATUSES),
            pickedUpAt: Joi.string().isoDate().allow(null),
            deliveredAt: Joi.string().isoDate().allow(null),
          }),
        ),
        404: { description: 'Unknown, or another carrier’s' },
        409: { description: 'INVALID_STATE_TRANSITION' },
      },
      async handler(_req, res, { input, request }) {
        const { status } = input.body as { status: 'PICKED_UP' | 'DELIVERED' };
        sendSigned(
          res,
          { kind: 'json' },
          await shipments.ack(request, input.params.shipmentId!, status),
        );
      },
    },
    {
      method: 'get',
      path: '/v1/signing-certificate',
      summary:
        'The X.509 certificate (PEM) that verifies X-Signature on declarations and shipments',
      tag: 'Declarations',
      roles: [...ROLES],
      responses: {
        200: { description: 'PEM certificate', contentType: MEDIA.pem, schema: Joi.string() },
      },
      handler(_req, res) {
        res.setHeader('Content-Type', MEDIA.pem);
        res.setHeader('X-Signing-Certificate-Sha256', signer.certificateFingerprint);
        res.status(200).send(signer.certificatePem);
      },
    },
    {
      method: 'put',
      path: '/v1/clients/:clientId/certificate',
      summary: 'Register a partner certificate (PEM, RSA) for payloads enveloped to that partner',
      tag: 'Clients',
      roles: ['admin'],
      params: Joi.object({ clientId: Joi.string().uuid().required() }),
      rawBody: {
        types: [MEDIA.pem, 'application/pem-certificate-chain', 'text/plain'],
        limit: '16kb',
      },
      responses: {
        200: {
          description: 'Registered; replaces any earlier certificate of this client',
          schema: Joi.object({
            clientId: Joi.string(),
            certificate: Joi.object({
              subject: Joi.string(),
              serialNumber: Joi.string(),
              notBefore: Joi.string().isoDate(),
              notAfter: Joi.string().isoDate(),
              fingerprintSha256: Joi.string(),
            }),
          }),
        },
        404: { description: 'Unknown or revoked client' },
        415: { description: 'Body is not PEM text' },
      },
      async handler(_req, res, { input }) {
        if (!Buffer.isBuffer(input.body)) {
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', 415, 'Send the certificate as PEM text.');
        }
        const check = checkPartnerCertificate(input.body.toString('utf8'));
        if (!check.ok) throw new ValidationFailed([{ path: 'body', message: check.reason }]);
        const clientId = input.params.clientId!;
        await clients.setCertificate(clientId, check.pem);
        res.status(200).json({ clientId, certificate: check.summary });
      },
    },
  ]);
}
