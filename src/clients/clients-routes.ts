import Joi from 'joi';
import { defineRoutes, ROLES } from '../http/route';
import type { ClientsService } from './clients-service';
import type { Client } from './clients-types';

const partnerCode = Joi.string()
  .pattern(/^[A-Za-z0-9_-]{1,32}$/)
  .description('Customs registration code or carrier code, e.g. SF');

const newClientSchema = Joi.object({
  name: Joi.string().trim().min(1).max(100).required(),
  role: Joi.string()
    .valid(...ROLES)
    .required(),
  partnerCode: partnerCode.when('role', {
    is: Joi.valid('customs', 'carrier'),
    then: Joi.required(),
    otherwise: Joi.forbidden(),
  }),
});

const clientView = Joi.object({
  id: Joi.string(),
  name: Joi.string(),
  role: Joi.string().valid(...ROLES),
  partnerCode: Joi.string().allow(null),
  apiKey: Joi.string().description('Shown once; only its hash is stored.'),
});

const clientIdParams = Joi.object({ clientId: Joi.string().uuid().required() });

function view(client: Client) {
  return {
    id: client.id,
    name: client.name,
    role: client.role,
    partnerCode: client.partnerCode,
  };
}

export function clientsRoutes(clientsService: ClientsService) {
  return defineRoutes([
    {
      method: 'post',
      path: '/v1/clients',
      summary: 'Register an API client; the key is shown once',
      tag: 'Clients',
      roles: ['admin'],
      body: newClientSchema,
      responses: { 201: { description: 'Created', schema: clientView } },
      async handler(_req, res, { input }) {
        const { client, apiKey } = await clientsService.create(input.body as never);
        res.status(201).json({ ...view(client), apiKey });
      },
    },
    {
      method: 'delete',
      path: '/v1/clients/:clientId',
      summary: 'Revoke a client; its key stops working at once',
      tag: 'Clients',
      roles: ['admin'],
      params: clientIdParams,
      responses: { 204: { description: 'Revoked' } },
      async handler(_req, res, { input }) {
        await clientsService.revoke(input.params.clientId!);
        res.status(204).end();
      },
    },
  ]);
}
