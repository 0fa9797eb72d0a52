import Joi from 'joi';
import { route, type RouteDefinition } from '../http/route';
import { clearText, timestamp } from '../http/schemas';
import type { PrivacyRequestsService, RegisteredRequest } from './privacy-requests-service';
import {
  LIST_STATUSES,
  REQUEST_CHANNELS,
  REQUEST_KINDS,
  REQUEST_OUTCOMES,
  REQUEST_STATUSES,
  type AnswerInput,
  type ListQuery,
  type ReceivedRange,
  type RecordInput,
} from './privacy-requests-types';

/**
 * The platform relays a person's request and its answer (`checkout`, the
 * platform's own role); the privacy office and security team read the
 * register (`auditor`). The register holds no personal data beyond the
 * internal identity id, so reading it records no access-log event
 * (docs/privacy-requests.md).
 */
const RELAY = ['checkout'] as const;
const OFFICE = ['auditor'] as const;
const TAG = 'Privacy requests';

const recordBody = Joi.object<RecordInput>({
  identityId: Joi.string()
    .uuid()
    .required()
    .description('The person (an identity id; an erased identity may still be named)'),
  kind: Joi.string()
    .valid(...REQUEST_KINDS)
    .required(),
  receivedAt: timestamp().description(
    'When the person made the request (default: now); not in the future',
  ),
  channel: Joi.string().valid(...REQUEST_CHANNELS),
});

const requestParams = Joi.object<{ requestId: string }>({
  requestId: Joi.string().uuid().required(),
});

const answerBody = Joi.object<AnswerInput>({
  outcome: Joi.string()
    .valid(...REQUEST_OUTCOMES)
    .required(),
  answeredAt: timestamp().description(
    'When the person was answered (default: now); not before receivedAt, not in the future',
  ),
  note: clearText(500).description(
    "The privacy office's note on the answer, shown in clear: no personal data",
  ),
});

const range = {
  from: timestamp().description('Inclusive lower bound on receivedAt'),
  to: timestamp().description('Exclusive upper bound on receivedAt'),
};

const listQuery = Joi.object<ListQuery>({
  status: Joi.string()
    .valid(...LIST_STATUSES)
    .description('OVERDUE: OPEN and past its due date now'),
  ...range,
  limit: Joi.number().integer().min(1).max(500).default(50),
  after: Joi.string()
    .pattern(/^[A-Za-z0-9_-]{1,512}$/)
    .description('Opaque cursor: `next` of the previous page'),
});

const reportQuery = Joi.object<ReceivedRange>(range);

const requestView = Joi.object({
  requestId: Joi.string().uuid(),
  identityId: Joi.string().uuid(),
  kind: Joi.string().valid(...REQUEST_KINDS),
  channel: Joi.string()
    .valid(...REQUEST_CHANNELS)
    .allow(null),
  receivedAt: Joi.string().isoDate(),
  dueAt: Joi.string()
    .isoDate()
    .description('23:59:59.999 Beijing time of the 15th calendar day after the day of receipt'),
  status: Joi.string().valid(...REQUEST_STATUSES),
  overdue: Joi.boolean().description('OPEN and past its due date now'),
  outcome: Joi.string()
    .valid(...REQUEST_OUTCOMES)
    .allow(null),
  answeredAt: Joi.string().isoDate().allow(null),
  answeredInTime: Joi.boolean().allow(null).description('answeredAt <= dueAt; null while open'),
  note: Joi.string().allow(null),
});

const pageView = Joi.object({
  items: Joi.array().items(requestView),
  next: Joi.string().allow(null),
});

const reportView = Joi.object({
  received: Joi.number().integer(),
  answered: Joi.number().integer(),
  answeredInTime: Joi.number().integer(),
  answeredLate: Joi.number().integer(),
  open: Joi.number().integer(),
  overdue: Joi.number().integer().description('Of the open ones, past their due date now'),
});

const view = (request: RegisteredRequest) => ({
  requestId: request.requestId,
  identityId: request.identityId,
  kind: request.kind,
  channel: request.channel,
  receivedAt: request.receivedAt.toISOString(),
  dueAt: request.dueAt.toISOString(),
  status: request.status,
  overdue: request.overdue,
  outcome: request.outcome,
  answeredAt: request.answeredAt?.toISOString() ?? null,
  answeredInTime: request.answeredInTime,
  note: request.note,
});

export function privacyRequestsRoutes(service: PrivacyRequestsService): RouteDefinition[] {
  return [
    route({
      method: 'post',
      path: '/v1/privacy-requests',
      summary: "Record a person's request (access, copy, correction, deletion, withdrawal)",
      tag: TAG,
      roles: RELAY,
      body: recordBody,
      responses: {
        201: { description: 'Recorded, OPEN, with its due date', schema: requestView },
        200: {
          description: 'Already recorded (same identity, kind and receivedAt): the stored request',
          schema: requestView,
        },
        409: { description: 'CONFLICT: recorded before with another channel' },
      },
      errors: [{ status: 409, code: 'CONFLICT' }],
      async handler(_req, res, { input }) {
        const { request, created } = await service.record(input.body);
        res.status(created ? 201 : 200).json(view(request));
      },
    }),
    route({
      method: 'post',
      path: '/v1/privacy-requests/:requestId/answer',
      summary: 'Record the answer to a request (once)',
      tag: TAG,
      roles: RELAY,
      params: requestParams,
      body: answerBody,
      responses: {
        200: { description: 'ANSWERED (also for the same answer sent again)', schema: requestView },
        404: { description: 'NOT_FOUND: no such request' },
        409: { description: 'INVALID_STATE_TRANSITION: answered before, differently' },
      },
      errors: [{ status: 409, code: 'INVALID_STATE_TRANSITION' }],
      async handler(_req, res, { input }) {
        res.json(view(await service.answer(input.params.requestId, input.body)));
      },
    }),
    route({
      method: 'get',
      path: '/v1/privacy-requests',
      summary: 'The register, oldest received first',
      tag: TAG,
      roles: OFFICE,
      query: listQuery,
      responses: { 200: { description: 'One page', schema: pageView } },
      async handler(_req, res, { input }) {
        const page = await service.list(input.query);
        res.json({ items: page.items.map(view), next: page.next });
      },
    }),
    route({
      method: 'get',
      path: '/v1/privacy-requests/report',
      summary: 'How the requests received in a period were answered',
      tag: TAG,
      roles: OFFICE,
      query: reportQuery,
      responses: { 200: { description: 'Counts', schema: reportView } },
      async handler(_req, res, { input }) {
        res.json(await service.report(input.query));
      },
    }),
  ];
}
