import type { Request } from 'express';
import Joi from 'joi';
import { CROSS_BORDER_BASES } from '../cross-border/jurisdiction';
import { AppError } from '../errors';
import { route, type None, type Role, type RouteDefinition } from '../http/route';
import { identifier, clearText } from '../http/schemas';
import type { IdentitiesService } from './identities-service';
import {
  PHOTO_SIDES,
  type IdentityCorrection,
  type NewIdentityInput,
  type PhotoSide,
} from './identities-types';
import { IDENTITY_ACCESS } from './identity-access-events';
import { exportFileName } from './identity-views';
import { parseIdNumber } from './identity-number';
import {
  nameProblem,
  normaliseName,
  normalisePhone,
  PHONE_DESCRIPTION,
  PHONE_MAX_CHARS,
  phoneProblem,
} from './personal-fields';
import { PHOTO_TYPES } from './photo-image';

/** Only the checkout flow registers and reads identities; admins manage clients, not people. */
const ROLES: readonly Role[] = ['checkout'];
const TAG = 'Identities';

const idNumber = Joi.string()
  .max(64)
  .custom((value: string, helpers) => {
    const parsed = parseIdNumber(value);
    return parsed.ok
      ? parsed.id.value
      : helpers.error('any.invalid', { safeMessage: parsed.message });
  })
  .description('18-character resident identity number; a lower-case x is accepted');

const name = Joi.string()
  .max(100)
  .custom((value: string, helpers) => {
    const normalised = normaliseName(value);
    const problem = nameProblem(normalised);
    return problem ? helpers.error('any.invalid', { safeMessage: problem }) : normalised;
  })
  .description('Chinese characters; a middle dot (·) between parts of a minority name');

const phone = Joi.string()
  .max(PHONE_MAX_CHARS)
  .custom((value: string, helpers) => {
    const normalised = normalisePhone(value);
    const problem = phoneProblem(normalised);
    return problem ? helpers.error('any.invalid', { safeMessage: problem }) : normalised;
  })
  .description(PHONE_DESCRIPTION);

const newIdentity = Joi.object<NewIdentityInput>({
  userId: identifier(/^[A-Za-z0-9._:@-]{1,64}$/).required(),
  name: name.required(),
  idNumber: idNumber.required(),
  phone: phone.required(),
  // Absent or not `true` is answered 422 CONSENT_REQUIRED by the service, not 400.
  consent: Joi.object({
    policyVersion: clearText(64).required(),
    sensitiveDataConsent: Joi.boolean().strict(),
    guardianConsent: Joi.boolean().strict(),
  }),
  relation: Joi.string().valid('self', 'other').default('self'),
});

const correction = Joi.object<IdentityCorrection>({ name, phone }).or('name', 'phone');

const identityParams = Joi.object<{ identityId: string }>({
  identityId: Joi.string().uuid().required(),
});

interface PhotoParams {
  identityId: string;
  side: PhotoSide;
}
const photoParams = Joi.object<PhotoParams>({
  identityId: Joi.string().uuid().required(),
  side: Joi.string()
    .valid(...PHOTO_SIDES)
    .required(),
});

const maskedView = Joi.object({
  identityId: Joi.string(),
  userId: Joi.string(),
  nameMasked: Joi.string().example('张*'),
  idNumberMasked: Joi.string().example('110***********1234'),
  phoneMasked: Joi.string().example('138****5678'),
  age: Joi.number().integer(),
  status: Joi.string().valid('VERIFIED', 'MISMATCH', 'UNVERIFIED'),
  relation: Joi.string().valid('self', 'other'),
  flags: Joi.array().items(Joi.string().valid('UNKNOWN_DIVISION_CODE')),
  createdAt: Joi.string(),
  updatedAt: Joi.string(),
});

const fen = () => Joi.number().integer();

const exportedOrder = Joi.object({
  orderNo: Joi.string(),
  status: Joi.string().description('As the quota ledger holds it (the verdict before it has one)'),
  orderedAt: Joi.string().isoDate(),
  quotaYear: Joi.number().integer(),
  items: Joi.array().items(
    Joi.object({
      sku: Joi.string(),
      name: Joi.string(),
      qty: Joi.number().integer(),
      unitPriceFen: fen(),
      category: Joi.string(),
    }),
  ),
  amounts: Joi.object({
    goodsValueFen: fen(),
    freightFen: fen(),
    insuranceFen: fen(),
    discountFen: fen(),
    taxableFen: fen(),
    taxFen: Joi.object({
      tariffFen: fen(),
      vatFen: fen(),
      consumptionTaxFen: fen(),
      totalTaxFen: fen(),
    }),
  }),
  consignee: Joi.object({ name: Joi.string(), phone: Joi.string(), address: Joi.string() })
    .allow(null)
    .description('Decrypted; null on an order never approved'),
  customsCode: Joi.string(),
  carrierCode: Joi.string(),
});

const exportView = Joi.object({
  identityId: Joi.string(),
  userId: Joi.string(),
  name: Joi.string(),
  idNumber: Joi.string(),
  phone: Joi.string(),
  age: Joi.number().integer(),
  status: Joi.string(),
  consent: Joi.array()
    .items(
      Joi.object({
        event: Joi.string().valid('GIVEN', 'WITHDRAWN'),
        at: Joi.string().isoDate(),
        policyVersion: Joi.string(),
        sensitiveDataConsent: Joi.boolean(),
        guardianConsent: Joi.boolean().allow(null),
      }),
    )
    .description('The consent history, oldest first'),
  photos: Joi.object().description('{front?, back?}: {contentType, base64}'),
  disclosures: Joi.array().items(
    Joi.object({
      at: Joi.string(),
      partnerCode: Joi.string().allow(null),
      role: Joi.string(),
      recipient: Joi.object({
        name: Joi.string().allow(null),
        contact: Joi.string().allow(null),
      }),
      fields: Joi.array().items(Joi.string()),
      purpose: Joi.string(),
      legalBasis: Joi.string().allow(null).description('PIPL article the disclosure rests on'),
      orderNo: Joi.string(),
      country: Joi.string()
        .allow(null)
        .description("Recipient's ISO 3166-1 alpha-2 country then; null on older receipts"),
      crossBorderBasis: Joi.string()
        .valid(...CROSS_BORDER_BASES)
        .description('Only when the recipient is outside mainland China'),
      crossBorderBasisText: Joi.string(),
    }),
  ),
  orders: Joi.array().items(exportedOrder).description("This registration's orders"),
  quota: Joi.array()
    .items(
      Joi.object({
        year: Joi.number().integer(),
        limitFen: fen(),
        usedFen: fen(),
        reservedFen: fen(),
        remainingFen: fen(),
      }),
    )
    .description("The person's quota usage per year"),
  exportedAt: Joi.string().isoDate(),
});

const exportQuery = Joi.object<{ download?: boolean }>({
  download: Joi.boolean()
    .truthy('1')
    .falsy('0')
    .description('1: the same JSON as a file (Content-Disposition: attachment)'),
});

const notFound = { description: 'Unknown or deleted identity' };

/** The declared media type without parameters: `image/png; x=y` -> `image/png`. */
function mediaTypeOf(req: Request): string {
  return (req.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * Long only as a list: one declaration per route, so the contract reads top
 * to bottom; each handler parses, calls one service function and renders.
 */
export function identitiesRoutes(
  service: IdentitiesService,
  { photoMaxBytes }: { photoMaxBytes: number },
): RouteDefinition[] {
  return [
    route({
      method: 'post',
      path: '/v1/identities',
      summary: 'Register a real-name identity (idempotent per userId and id number)',
      tag: TAG,
      roles: ROLES,
      body: newIdentity,
      // Synthetic: the docs' example person (a valid check character, no real holder).
      bodyExample: {
        userId: 'u-1024',
        name: '王小明',
        idNumber: '11010519491231002X',
        phone: '13812345678',
        consent: { policyVersion: '2024-01', sensitiveDataConsent: true },
      },
      personalData: IDENTITY_ACCESS.create,
      responses: {
        200: {
          description: 'This user had registered this id number: the same identity',
          schema: maskedView,
        },
        201: { description: 'Registered', schema: maskedView },
        422: { description: 'CONSENT_REQUIRED or GUARDIAN_CONSENT_REQUIRED' },
      },
      errors: [
        { status: 422, code: 'CONSENT_REQUIRED', when: 'sensitiveDataConsent is not true' },
        {
          status: 422,
          code: 'GUARDIAN_CONSENT_REQUIRED',
          when: 'under 14 without guardianConsent',
        },
        { status: 409, code: 'CONFLICT', when: 'the identity changed concurrently; retry' },
      ],
      async handler(_req, res, { input, request }) {
        const { created, identity } = await service.create(request, input.body);
        res.status(created ? 201 : 200).json(identity);
      },
    }),
    route({
      method: 'get',
      path: '/v1/identities/:identityId',
      summary: 'The masked view of an identity',
      tag: TAG,
      roles: ROLES,
      params: identityParams,
      personalData: IDENTITY_ACCESS.read,
      responses: { 200: { description: 'Masked view', schema: maskedView }, 404: notFound },
      async handler(_req, res, { input, request }) {
        res.json(await service.get(request, input.params.identityId));
      },
    }),
    route({
      method: 'patch',
      path: '/v1/identities/:identityId',
      summary: 'Correct the name or phone (PIPL art. 46); re-encrypted',
      tag: TAG,
      roles: ROLES,
      params: identityParams,
      body: correction,
      personalData: IDENTITY_ACCESS.update,
      responses: {
        200: { description: 'Corrected masked view', schema: maskedView },
        404: notFound,
      },
      async handler(_req, res, { input, request }) {
        res.json(await service.correct(request, input.params.identityId, input.body));
      },
    }),
    route({
      method: 'get',
      path: '/v1/identities/:identityId/export',
      summary: "The subject's own data in plaintext, with every disclosure of it",
      tag: TAG,
      roles: ROLES,
      params: identityParams,
      query: exportQuery,
      personalData: IDENTITY_ACCESS.export,
      responses: { 200: { description: 'Export', schema: exportView }, 404: notFound },
      async handler(_req, res, { input, request }) {
        const exported = await service.exportData(request, input.params.identityId);
        res.setHeader('Cache-Control', 'no-store');
        if (input.query.download) {
          // The name is fixed ASCII (letters, digits, '-', '.'): quoted as the contract shows it.
          const name = exportFileName(exported.exportedAt);
          res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
        }
        res.json(exported);
      },
    }),
    // The body is raw bytes: express.raw leaves it unset for any media type not listed.
    route<PhotoParams, None, Buffer | undefined>({
      method: 'put',
      path: '/v1/identities/:identityId/photos/:side',
      summary: 'Upload the front or back photo of the id card (JPEG or PNG)',
      tag: TAG,
      roles: ROLES,
      params: photoParams,
      rawBody: { types: PHOTO_TYPES, limit: `${photoMaxBytes}b` },
      personalData: IDENTITY_ACCESS.photo,
      responses: {
        204: { description: 'Stored (encrypted); returned only by export' },
        404: notFound,
        413: { description: 'Larger than PHOTO_MAX_BYTES' },
        415: { description: 'Not image/jpeg or image/png' },
      },
      async handler(req, res, { input, request }) {
        const bytes = input.body;
        if (!Buffer.isBuffer(bytes)) {
          throw new AppError(
            'UNSUPPORTED_MEDIA_TYPE',
            415,
            'The body must be image/jpeg or image/png.',
          );
        }
        await service.putPhoto(request, input.params.identityId, input.params.side, {
          contentType: mediaTypeOf(req),
          bytes,
        });
        res.status(204).end();
      },
    }),
    route({
      method: 'delete',
      path: '/v1/identities/:identityId',
      summary: 'Delete an identity: its data key is destroyed, so no copy of its data can be read',
      tag: TAG,
      roles: ROLES,
      params: identityParams,
      personalData: IDENTITY_ACCESS.delete,
      responses: { 204: { description: 'Deleted' }, 404: notFound },
      async handler(_req, res, { input, request }) {
        await service.remove(request, input.params.identityId);
        res.status(204).end();
      },
    }),
    route({
      method: 'post',
      path: '/v1/identities/:identityId/consent/withdraw',
      summary:
        'Withdraw the consent (PIPL art. 15): no new checkout, unpaid reservations released, id-card photos erased',
      tag: TAG,
      roles: ROLES,
      params: identityParams,
      personalData: IDENTITY_ACCESS.withdrawConsent,
      responses: {
        200: {
          description: 'Withdrawn (a repeat answers the first withdrawal)',
          schema: Joi.object({
            identityId: Joi.string(),
            consentWithdrawnAt: Joi.string().isoDate(),
            releasedOrders: Joi.array().items(Joi.string()),
          }),
        },
        404: notFound,
      },
      async handler(_req, res, { input, request }) {
        const withdrawal = await service.withdrawConsent(request, input.params.identityId);
        res.json({
          ...withdrawal,
          consentWithdrawnAt: withdrawal.consentWithdrawnAt.toISOString(),
        });
      },
    }),
  ];
}
