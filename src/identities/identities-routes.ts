import type { Request } from 'express';
import Joi from 'joi';
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

const exportView = Joi.object({
  identityId: Joi.string(),
  userId: Joi.string(),
  name: Joi.string(),
  idNumber: Joi.string(),
  phone: Joi.string(),
  age: Joi.number().integer(),
  status: Joi.string(),
  consent: Joi.object(),
  photos: Joi.object().description('{front?, back?}: {contentType, base64}'),
  disclosures: Joi.array().items(
    Joi.object({
      at: Joi.string(),
      partnerCode: Joi.string().allow(null),
      role: Joi.string(),
      fields: Joi.array().items(Joi.string()),
      purpose: Joi.string(),
    }),
  ),
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
      personalData: IDENTITY_ACCESS.create,
      responses: {
        200: {
          description: 'This user had registered this id number: the same identity',
          schema: maskedView,
        },
        201: { description: 'Registered', schema: maskedView },
        422: { description: 'CONSENT_REQUIRED or GUARDIAN_CONSENT_REQUIRED' },
      },
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
      personalData: IDENTITY_ACCESS.export,
      responses: { 200: { description: 'Export', schema: exportView }, 404: notFound },
      async handler(_req, res, { input, request }) {
        res.setHeader('Cache-Control', 'no-store');
        res.json(await service.exportData(request, input.params.identityId));
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
  ];
}
