import Joi from 'joi';
import { route, type Role, type RouteDefinition } from '../http/route';
import { clearText, identifier } from '../http/schemas';
import { HOLD_READ, type LegalHoldsService, type LegalRequest } from './legal-holds-service';
import {
  HOLD_STATUSES,
  REQUEST_TYPES,
  type HoldStatus,
  type LegalHoldSummary,
} from './retention-types';

/** The legal and privacy office alone: never checkout, partners, auditors or admins. */
const ROLES: readonly Role[] = ['legal'];
const TAG = 'Legal holds';

const holdParams = Joi.object<{ holdId: string }>({
  holdId: Joi.string()
    .pattern(/^hold-[0-9a-f-]{36}$/)
    .required(),
});

const legalRequest = Joi.object<LegalRequest>({
  requestType: Joi.string()
    .valid(...REQUEST_TYPES)
    .required(),
  requestedBy: clearText(200).required().description('The authority, e.g. its name and office'),
  reference: identifier(/^[A-Za-z0-9][A-Za-z0-9/._:-]{0,63}$/)
    .required()
    .description("The authority's case or document number"),
  reason: clearText(500).required(),
});

const listQuery = Joi.object<{ identityId?: string; status?: HoldStatus }>({
  identityId: Joi.string().uuid(),
  status: Joi.string().valid(...HOLD_STATUSES),
});

const requestView = Joi.object({
  requestType: Joi.string().valid(...REQUEST_TYPES),
  requestedBy: Joi.string(),
  reference: Joi.string(),
  reason: Joi.string(),
  clientId: Joi.string(),
  at: Joi.string().isoDate(),
});

const summaryView = Joi.object({
  holdId: Joi.string(),
  identityId: Joi.string(),
  orderNos: Joi.array().items(Joi.string()),
  basis: Joi.string(),
  heldFrom: Joi.string().isoDate(),
  heldUntil: Joi.string().isoDate(),
  status: Joi.string().valid(...HOLD_STATUSES),
  destroyedAt: Joi.string().isoDate().allow(null),
  accessRequests: Joi.array().items(requestView),
});

const disclosedView = Joi.object({
  holdId: Joi.string(),
  heldUntil: Joi.string().isoDate(),
  buyer: Joi.object({ name: Joi.string(), idNumber: Joi.string(), phone: Joi.string() }),
  orders: Joi.array().items(Joi.object().description('orderNo, consignee, items, amounts, status')),
});

function summaryOf(hold: LegalHoldSummary) {
  return {
    holdId: hold.holdId,
    identityId: hold.identityId,
    orderNos: hold.orderNos,
    basis: hold.basis,
    heldFrom: hold.heldFrom.toISOString(),
    heldUntil: hold.heldUntil.toISOString(),
    status: hold.status,
    destroyedAt: hold.destroyedAt?.toISOString() ?? null,
    accessRequests: hold.accessRequests.map((request) => ({
      ...request,
      at: request.at.toISOString(),
    })),
  };
}

export function retentionRoutes(holds: LegalHoldsService): RouteDefinition[] {
  return [
    route({
      method: 'get',
      path: '/v1/legal-holds',
      summary: 'Legal holds, without their sealed data',
      tag: TAG,
      roles: ROLES,
      query: listQuery,
      responses: {
        200: {
          description: 'Holds, oldest first',
          schema: Joi.object({ items: Joi.array().items(summaryView) }),
        },
      },
      async handler(_req, res, { input }) {
        res.json({ items: (await holds.list(input.query)).map(summaryOf) });
      },
    }),
    route<{ holdId: string }, Record<string, never>, LegalRequest>({
      method: 'post',
      path: '/v1/legal-holds/:holdId/disclose',
      summary:
        "Open a legal hold for an authority's request (customs, court, regulator); recorded on the hold and in the access log",
      tag: TAG,
      roles: ROLES,
      params: holdParams,
      body: legalRequest,
      personalData: HOLD_READ,
      responses: {
        200: { description: 'The retained data, decrypted', schema: disclosedView },
        404: { description: 'No such hold, or its period ended and its data was destroyed' },
      },
      async handler(_req, res, { input, request }) {
        const opened = await holds.disclose(request, input.params.holdId, input.body);
        res.setHeader('Cache-Control', 'no-store');
        res.json({
          holdId: opened.holdId,
          heldUntil: opened.heldUntil.toISOString(),
          ...opened.data,
        });
      },
    }),
  ];
}
