import Joi from 'joi';
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { CROSS_BORDER_BASES, isCountryCode, MAINLAND_CHINA } from '../cross-border/jurisdiction';
import { ROLES, route, type None, type RouteDefinition } from '../http/route';
import { clearText, partnerCode as partnerCodeSchema } from '../http/schemas';
import type { ClientsService } from './clients-service';
import type { Client, NewClient } from './clients-types';

const partnerCode = partnerCodeSchema().description(
  'Customs registration code or carrier code, e.g. SF',
);

/** Partners: the clients that receive personal data. */
const forPartners = <T extends Joi.Schema>(schema: T) =>
  schema.when('role', {
    is: Joi.valid('customs', 'carrier'),
    then: Joi.required(),
    otherwise: Joi.forbidden(),
  });

const jurisdiction = Joi.string()
  .custom((value: string, helpers) =>
    isCountryCode(value)
      ? value
      : helpers.error('any.invalid', {
          safeMessage: 'must be an ISO 3166-1 alpha-2 country code, e.g. CN, HK, JP',
        }),
  )
  .description(
    'Where the partner is: ISO 3166-1 alpha-2 (CN: mainland China; HK, MO and TW count as outside the mainland). Required for customs and carrier clients',
  );

const crossBorderBasis = Joi.string()
  .valid(...CROSS_BORDER_BASES)
  .description(
    'Why a partner outside mainland China may receive personal data (PIPL art. 38-39): LAW, EXPLICIT_CONSENT or CONTRACT_NECESSITY. Required when jurisdiction is not CN, not allowed when it is',
  );

const EMAIL = Joi.string().email({ tlds: { allow: false } });
const E164 = /^\+[1-9]\d{7,14}$/;

/** An email, or a phone in E.164 form that is possible for its country code. */
const contact = Joi.string()
  .trim()
  .max(254)
  .custom((value: string, helpers) => {
    const ok = value.includes('@')
      ? !EMAIL.validate(value).error
      : E164.test(value) && parsePhoneNumberFromString(value)?.isPossible() === true;
    return ok
      ? value
      : helpers.error('any.invalid', { safeMessage: 'must be an email or an E.164 phone number' });
  })
  .description("The partner's privacy contact (email or E.164 phone), shown to data subjects");

const newClientSchema = Joi.object<NewClient>({
  name: clearText(100).required(),
  role: Joi.string()
    .valid(...ROLES)
    .required(),
  partnerCode: forPartners(partnerCode),
  jurisdiction: forPartners(jurisdiction),
  crossBorderBasis: crossBorderBasis.when('jurisdiction', {
    is: Joi.exist().invalid(MAINLAND_CHINA),
    then: Joi.required(),
    otherwise: Joi.forbidden(),
  }),
  contact: forPartners(contact),
});

const clientView = Joi.object({
  id: Joi.string(),
  name: Joi.string(),
  role: Joi.string().valid(...ROLES),
  partnerCode: Joi.string().allow(null),
  jurisdiction: Joi.string().allow(null),
  crossBorderBasis: Joi.string()
    .valid(...CROSS_BORDER_BASES)
    .allow(null),
  contact: Joi.string().allow(null),
  apiKey: Joi.string().description('Shown once; only its hash is stored.'),
});

const clientIdParams = Joi.object<{ clientId: string }>({
  clientId: Joi.string().uuid().required(),
});

/** The media types a PEM certificate arrives as, depending on the tool that sends it. */
const PEM_TYPES = ['application/x-pem-file', 'application/pem-certificate-chain', 'text/plain'];

const certificateView = Joi.object({
  clientId: Joi.string(),
  certificate: Joi.object({
    subject: Joi.string(),
    serialNumber: Joi.string(),
    notBefore: Joi.string().isoDate(),
    notAfter: Joi.string().isoDate(),
    fingerprintSha256: Joi.string(),
  }),
});

function view(client: Client) {
  return {
    id: client.id,
    name: client.name,
    role: client.role,
    partnerCode: client.partnerCode,
    jurisdiction: client.jurisdiction,
    crossBorderBasis: client.crossBorderBasis,
    contact: client.contact,
  };
}

export function clientsRoutes(clientsService: ClientsService): RouteDefinition[] {
  return [
    route({
      method: 'post',
      path: '/v1/clients',
      summary: 'Register an API client; the key is shown once',
      tag: 'Clients',
      roles: ['admin'],
      body: newClientSchema,
      bodyExample: {
        name: 'SF Express',
        role: 'carrier',
        partnerCode: 'SF',
        jurisdiction: 'CN',
        contact: 'privacy@sf.example',
      },
      responses: { 201: { description: 'Created', schema: clientView } },
      async handler(_req, res, { input }) {
        const { client, apiKey } = await clientsService.create(input.body);
        res.status(201).json({ ...view(client), apiKey });
      },
    }),
    route({
      method: 'delete',
      path: '/v1/clients/:clientId',
      summary: 'Revoke a client; its key stops working at once',
      tag: 'Clients',
      roles: ['admin'],
      params: clientIdParams,
      responses: { 204: { description: 'Revoked' } },
      errors: [{ status: 404, code: 'NOT_FOUND', when: 'unknown or already revoked client' }],
      async handler(_req, res, { input }) {
        await clientsService.revoke(input.params.clientId);
        res.status(204).end();
      },
    }),
    // The body is the uploaded bytes: the router refuses any other media type with 415.
    route<{ clientId: string }, None, Buffer>({
      method: 'put',
      path: '/v1/clients/:clientId/certificate',
      summary: 'Register a partner certificate (PEM, RSA) for payloads enveloped to that partner',
      tag: 'Clients',
      roles: ['admin'],
      params: clientIdParams,
      rawBody: { types: PEM_TYPES, limit: '16kb' },
      responses: {
        200: {
          description: 'Registered; replaces any earlier certificate of this client',
          schema: certificateView,
        },
        404: { description: 'Unknown or revoked client' },
        415: { description: 'Body is not PEM text' },
      },
      async handler(_req, res, { input }) {
        const { clientId } = input.params;
        const certificate = await clientsService.registerCertificate(clientId, input.body);
        res.status(200).json({ clientId, certificate });
      },
    }),
  ];
}
