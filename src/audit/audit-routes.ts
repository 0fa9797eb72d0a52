import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Joi from 'joi';
import { defineRoutes, ROLES } from '../http/route';
import type { AuditEventRecord } from './audit-chain';
import { INVALID_REASONS } from './audit-chain';
import { toEcs } from './audit-ecs';
import type { AuditService, ListQuery } from './audit-service';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES, AUDIT_PURPOSES } from './audit-types';

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

const filters = {
  actorId: Joi.string().pattern(idPattern).description('Client id of the actor'),
  identityId: Joi.string()
    .pattern(idPattern)
    .description('Data subject; matched through its subjectRef pseudonym'),
  action: Joi.string().valid(...AUDIT_ACTIONS),
  outcome: Joi.string().valid(...AUDIT_OUTCOMES),
  from: Joi.date().iso().description('Inclusive lower bound on `at`'),
  to: Joi.date().iso().description('Exclusive upper bound on `at`'),
};

const listQuery = Joi.object({
  ...filters,
  limit: Joi.number().integer().min(1).max(500).default(50),
  after: Joi.string()
    .pattern(/^[A-Za-z0-9_-]{1,512}$/)
    .description('Opaque cursor: `next` of the previous page'),
});

const exportQuery = Joi.object({
  ...filters,
  format: Joi.string().valid('ndjson').default('ndjson'),
});

const actorView = Joi.object({
  clientId: Joi.string(),
  role: Joi.string().valid(...ROLES),
  partnerCode: Joi.string().allow(null),
}).allow(null);

const eventSchema = Joi.object({
  seq: Joi.number().integer().description('Position in its writer stream'),
  stream: Joi.string().description('Writer stream (one per app instance start)'),
  at: Joi.date().iso(),
  actor: actorView,
  action: Joi.string().valid(...AUDIT_ACTIONS),
  purpose: Joi.string().valid(...AUDIT_PURPOSES),
  subjectRef: Joi.string().allow(null).description('HMAC-SHA-256 pseudonym of the data subject'),
  subjectRefKeyId: Joi.string().allow(null),
  resource: Joi.object({ route: Joi.string(), id: Joi.string().allow(null) }),
  fields: Joi.array().items(Joi.string()).description('Names of the personal fields touched'),
  outcome: Joi.string().valid(...AUDIT_OUTCOMES),
  requestId: Joi.string(),
  sourceIp: Joi.string(),
  prevHash: Joi.string(),
  hash: Joi.string(),
});

const pageSchema = Joi.object({
  items: Joi.array().items(eventSchema),
  next: Joi.string().allow(null),
});

const verifySchema = Joi.object({
  ok: Joi.boolean(),
  checked: Joi.number().integer(),
  streams: Joi.number().integer(),
  checkpoints: Joi.number().integer(),
  firstInvalid: Joi.object({
    stream: Joi.string(),
    seq: Joi.number().integer(),
    reason: Joi.string().valid(...INVALID_REASONS),
  }),
});

/** 401/403 on these routes become DENIED events: the log holds pseudonymous personal data. */
const personalData = (action: 'audit.read' | 'audit.verify' | 'audit.export') => ({
  action,
  fields: [] as const,
});

export function auditRoutes(audit: AuditService) {
  return defineRoutes([
    {
      method: 'get',
      path: '/v1/audit-events',
      summary: 'List access-log events (oldest first); reading the log is itself an event',
      tag: 'Access log',
      roles: ['auditor'],
      query: listQuery,
      personalData: personalData('audit.read'),
      responses: {
        200: { description: 'One page, in (at, stream, seq) order', schema: pageSchema },
        503: { description: 'The read could not be recorded; nothing is returned' },
      },
      async handler(_req, res, { input, request }) {
        res.json(await audit.list(input.query as unknown as ListQuery, request));
      },
    },
    {
      method: 'get',
      path: '/v1/audit-events/verify',
      summary: 'Check the integrity of the whole log (hash chains, sequences, signed checkpoints)',
      tag: 'Access log',
      roles: ['auditor'],
      personalData: personalData('audit.verify'),
      responses: {
        200: {
          description: 'Result; `firstInvalid` names where the log stops being intact',
          schema: verifySchema,
        },
        503: { description: 'The verification could not be recorded' },
      },
      async handler(_req, res, { request }) {
        res.json(await audit.verify(request));
      },
    },
    {
      method: 'get',
      path: '/v1/audit-events/export',
      summary: 'Stream events as NDJSON with Elastic Common Schema field names, for a SIEM',
      tag: 'Access log',
      roles: ['auditor'],
      query: exportQuery,
      personalData: personalData('audit.export'),
      responses: {
        200: { description: 'One ECS JSON document per line', contentType: 'application/x-ndjson' },
        503: { description: 'The export could not be recorded; nothing is returned' },
      },
      async handler(_req, res, { input, request }) {
        const events = await audit.openExport(
          input.query as Omit<ListQuery, 'limit' | 'after'>,
          request,
        );
        try {
          // The first chunk is read before the status is sent: a database failure
          // up to here is still an ordinary error response.
          const lines = ndjson(events);
          const first = await lines.next();
          res.status(200).type('application/x-ndjson');
          await pipeline(Readable.from(resume(first, lines)), res);
        } catch (error) {
          // Once streaming has begun, a failure can only cut the response short.
          if (!res.headersSent) throw error;
          res.destroy();
        } finally {
          await events.close().catch(() => undefined);
        }
      },
    },
  ]);
}

async function* ndjson(events: AsyncIterable<AuditEventRecord>): AsyncGenerator<string> {
  let lines: string[] = [];
  for await (const event of events) {
    lines.push(`${JSON.stringify(toEcs(event))}\n`);
    if (lines.length >= 200) {
      yield lines.join('');
      lines = [];
    }
  }
  if (lines.length > 0) yield lines.join('');
}

async function* resume(
  first: IteratorResult<string>,
  rest: AsyncGenerator<string>,
): AsyncGenerator<string> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}
