import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import Joi from 'joi';
import { CROSS_BORDER_BASES } from '../cross-border/jurisdiction';
import { ROLES, route, type RouteDefinition } from '../http/route';
import {
  CHECKPOINT_KINDS,
  INVALID_REASONS,
  WARNING_REASONS,
  type AuditEventRecord,
} from './audit-chain';
import { toEcs } from './audit-ecs';
import type {
  AuditService,
  EventQuery,
  ListQuery,
  PersonSearch,
  PersonSearchQuery,
} from './audit-service';
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

const listQuery = Joi.object<ListQuery>({
  ...filters,
  limit: Joi.number().integer().min(1).max(500).default(50),
  after: Joi.string()
    .pattern(/^[A-Za-z0-9_-]{1,512}$/)
    .description('Opaque cursor: `next` of the previous page'),
});

/**
 * The search by person. The id number travels in the body so that no URL,
 * proxy log or browser history holds it; its checks are the identities
 * module's, and no error quotes it.
 */
const personSearchBody = Joi.object<PersonSearchQuery>({
  idNumber: Joi.string()
    .max(64)
    .required()
    .description('18-character resident identity number of the person; never stored or logged'),
  from: filters.from,
  to: filters.to,
  limit: Joi.number().integer().min(1).max(500).default(50),
  after: Joi.string()
    .pattern(/^[A-Za-z0-9_-]{1,512}$/)
    .description('Opaque cursor: `next` of the previous page'),
});

/** The export's query: the list's filters, and the one format there is. */
interface ExportQuery extends EventQuery {
  format: 'ndjson';
}

const exportQuery = Joi.object<ExportQuery>({
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
  repeat: Joi.object({
    count: Joi.number().integer().min(1),
    firstAt: Joi.date().iso(),
    lastAt: Joi.date().iso(),
  }).description(
    'Only on a DENIED event that stands for `count` refusals identical to an earlier event (same actor, address, route, action, fields), counted in one window instead of written one by one',
  ),
  transfer: Joi.object({
    country: Joi.string().description('ISO 3166-1 alpha-2, never CN'),
    basis: Joi.string().valid(...CROSS_BORDER_BASES),
  }).description(
    'Only on a disclosure to a partner outside mainland China: its country and the cross-border basis (PIPL art. 38-39); part of the hashed content',
  ),
  counts: Joi.object({
    identitiesErased: Joi.number().integer().min(0),
    holdsDestroyed: Joi.number().integer().min(0),
    recordsAnonymised: Joi.number().integer().min(0),
  }).description(
    'Only on a `retention.run` event: identities erased, legal holds destroyed, orders anonymised (or, on a dry run, that would be); part of the hashed content',
  ),
});

const pageSchema = Joi.object({
  items: Joi.array().items(eventSchema),
  next: Joi.string().allow(null),
});

const findingSchema = Joi.object({
  stream: Joi.string().allow(''),
  seq: Joi.number().integer(),
  reason: Joi.string().valid(...INVALID_REASONS),
  gseq: Joi.number().integer().description('Ledger position, for a ledger finding'),
});

const verifySchema = Joi.object({
  ok: Joi.boolean(),
  checked: Joi.number().integer(),
  streams: Joi.number().integer(),
  checkpoints: Joi.number().integer().description('Authentic, linked ledger records'),
  firstInvalid: findingSchema,
  findings: Joi.array()
    .items(findingSchema)
    .description('Every break found, by (stream, seq); `ok` is false when any'),
  warnings: Joi.array()
    .items(
      Joi.object({
        stream: Joi.string(),
        seq: Joi.number().integer(),
        toSeq: Joi.number().integer(),
        reason: Joi.string().valid(...WARNING_REASONS),
      }),
    )
    .description(
      'Weaker parts that are not breaks: events seq..toSeq sealed after their writer crashed, past its last checkpoint',
    ),
});

const headSchema = Joi.object({
  gseq: Joi.number().integer().description('Ledger position (global checkpoint sequence)'),
  digest: Joi.string().description(
    'SHA-256 of the signed payload; the next record names it as `prev`',
  ),
  prev: Joi.string(),
  kind: Joi.string().valid(...CHECKPOINT_KINDS),
  stream: Joi.string(),
  seq: Joi.number().integer(),
  hash: Joi.string().description('Hash of the event at (stream, seq)'),
  at: Joi.date().iso(),
  keyId: Joi.string(),
  alg: Joi.string().valid('Ed25519'),
  signature: Joi.string().description(
    'base64 Ed25519 over the RFC 8785 JSON of {gseq, prev, kind, stream, seq, hash, at, keyId}',
  ),
});

/** 401/403 on these routes become DENIED events: the log holds pseudonymous personal data. */
const personalData = (action: 'audit.read' | 'audit.verify' | 'audit.export') => ({
  action,
  fields: [] as const,
});

/**
 * The list item of the contract, plus the chain position and hashes. Stored
 * documents are shown as they are, even malformed (tampered) ones: hiding
 * them is verify's business, not the list's.
 */
function eventView(event: AuditEventRecord) {
  return {
    seq: event.seq,
    stream: event.stream,
    at: event.at instanceof Date ? event.at.toISOString() : null,
    actor: event.actor,
    action: event.action,
    purpose: event.purpose,
    subjectRef: event.subjectRef,
    subjectRefKeyId: event.subjectRefKeyId,
    resource: event.resource,
    fields: event.fields,
    outcome: event.outcome,
    requestId: event.requestId,
    sourceIp: event.sourceIp,
    prevHash: event.prevHash,
    hash: event.hash,
    ...(event.repeat ? { repeat: repeatView(event.repeat) } : {}),
    ...(event.transfer ? { transfer: event.transfer } : {}),
    ...(event.counts ? { counts: event.counts } : {}),
  };
}

function repeatView(repeat: NonNullable<AuditEventRecord['repeat']>) {
  const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : null);
  return { count: repeat.count, firstAt: iso(repeat.firstAt), lastAt: iso(repeat.lastAt) };
}

export function auditRoutes(audit: AuditService): RouteDefinition[] {
  return [
    route({
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
        const page = await audit.list(input.query, request);
        res.json({ items: page.items.map(eventView), next: page.next });
      },
    }),
    route({
      method: 'get',
      path: '/v1/audit-events/verify',
      summary: 'Check the integrity of the whole log (hash chains, sequences, signed checkpoints)',
      tag: 'Access log',
      roles: ['auditor'],
      personalData: personalData('audit.verify'),
      responses: {
        200: {
          description:
            'Result; `firstInvalid` is the first of `findings`, where the log stops being intact',
          schema: verifySchema,
        },
        503: { description: 'The verification could not be recorded' },
      },
      async handler(_req, res, { request }) {
        res.json(await audit.verify(request));
      },
    }),
    route({
      method: 'get',
      path: '/v1/audit-events/head',
      summary: 'The signed head of the checkpoint ledger, for copies kept outside the database',
      tag: 'Access log',
      roles: ['auditor'],
      responses: {
        200: { description: 'The latest ledger record as stored', schema: headSchema },
      },
      async handler(_req, res) {
        const head = await audit.head();
        res.json({
          gseq: head.gseq,
          digest: head.digest,
          prev: head.prev,
          kind: head.kind,
          stream: head.stream,
          seq: head.seq,
          hash: head.hash,
          at: head.at,
          keyId: head.keyId,
          alg: head.alg,
          signature: head.signature,
        });
      },
    }),
    route({
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
        await sendNdjson(res, ndjson(await audit.openExport(input.query, request)));
      },
    }),
  ];
}

/** `POST /v1/audit-events/search`: built apart, as it needs the identities module's port. */
export function personSearchRoutes(search: PersonSearch): RouteDefinition[] {
  return [
    route({
      method: 'post',
      path: '/v1/audit-events/search',
      summary:
        'Every event about the person with an id number, across all their identity records (deleted ones too); the search is itself an event',
      tag: 'Access log',
      roles: ['auditor'],
      body: personSearchBody,
      personalData: personalData('audit.read'),
      responses: {
        200: { description: 'One page, in (at, stream, seq) order', schema: pageSchema },
        400: { description: 'A malformed id number (never quoted back) or cursor' },
        503: { description: 'The search could not be recorded; nothing is returned' },
      },
      async handler(_req, res, { input, request }) {
        const page = await search(input.body, request);
        res.json({ items: page.items.map(eventView), next: page.next });
      },
    }),
  ];
}

/**
 * Streams the lines with status 200. The first chunk is read before the status
 * is sent, so a database failure up to there is still an ordinary error
 * response; after it, a failure can only cut the response short.
 */
async function sendNdjson(res: Response, lines: AsyncGenerator<string>): Promise<void> {
  try {
    const first = await lines.next();
    res.status(200).type('application/x-ndjson');
    await pipeline(Readable.from(resume(first, lines)), res);
  } catch (error) {
    if (!res.headersSent) throw error;
    res.destroy();
  } finally {
    // Ends the generators, and so the database read, whatever stopped the response.
    await lines.return(undefined).catch(() => undefined);
  }
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
