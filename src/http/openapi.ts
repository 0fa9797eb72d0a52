import j2s from 'joi-to-swagger';
import type { ErrorCode } from '../errors';
import type { RouteDefinition, RouteError } from './route';

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details', 'requestId'],
      properties: {
        code: { type: 'string', description: 'Stable error code: consumers switch on it' },
        message: { type: 'string', description: 'A fixed text; never quotes a request value' },
        details: {
          type: 'array',
          items: {
            type: 'object',
            properties: { path: { type: 'string' }, message: { type: 'string' } },
          },
        },
        requestId: { type: 'string' },
      },
    },
  },
};

type Schema = {
  type?: string;
  format?: string;
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maxLength?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};

/**
 * Example values by field name (most specific first: `tag.parent.field`,
 * `parent.field`, `field`): fake but realistic. The id number is synthetic
 * (region 110105, born 1949-12-31, valid check character), the one the docs
 * use; phones and names are the docs' examples too.
 */
const EXAMPLE_VALUES: Record<string, unknown> = {
  name: '王小明',
  'Clients..name': 'SF Express',
  'Products..name': '婴儿配方奶粉 900g',
  'items.name': 'Milk powder 900g',
  'goods.name': 'Milk powder 900g',
  idNumber: '11010519491231002X',
  phone: '13812345678',
  telephone: '13812345678',
  address: '上海市浦东新区世纪大道100号',
  nameMasked: '王**',
  idNumberMasked: '110***********002X',
  phoneMasked: '138****5678',
  userId: 'u-1024',
  orderNo: 'SO-20261125-0001',
  orderNos: 'SO-20261125-0001',
  sku: 'MILK-900',
  customsCode: '3120980001',
  carrierCode: 'SF',
  partnerCode: 'SF',
  logisticsNo: 'SF1234567890',
  hsCode: '0402210000',
  identityId: '5b0e8a52-7c1d-4f0a-9a63-1f2d3c4b5a69',
  declarationId: '9c4f1e2a-3b5d-4e6f-8a7b-0c1d2e3f4a5b',
  shipmentId: '2e7d9f1a-6b3c-4d5e-9f8a-7b6c5d4e3f2a',
  clientId: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  id: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  actorId: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  holdId: 'hold-3c2b1a09-8f7e-4d6c-b5a4-938271605f4e',
  alertId: 'QWxlcnQtMjAyNi0xMS0yNQ',
  after: 'djE6NDI',
  next: 'djE6NDI',
  barCode: '6901234567892',
  itemRecordNo: 'IR2026000001',
  reference: 'PR-2026/0001',
  tariffRate: '0',
  requestId: 'req-5f2c1a9e',
  policyVersion: '2024-01',
  apiKey: 'cik_Zm9yLWV4YW1wbGUtb25seS1ub3QtYS1yZWFsLWtleQ',
  contact: 'privacy@sf.example',
  jurisdiction: 'CN',
  spec: '900g/罐',
  originCountry: '601',
  unit: '122',
  legalUnit: '035',
  legalQtyPerUnit: '0.9',
  secondUnit: '035',
  secondQtyPerUnit: '0.9',
  netWeightKg: '0.9',
  grossWeightKg: '1.1',
  note: 'Released at Shanghai Pudong',
  returnInfo: '放行',
  reason: 'Reviewed with the partner: an agreed bulk export',
  subjectRef: 'sr_7Qm3Vd0cJ2k9XwE1nB5pYg',
  sourceIp: '203.0.113.7',
  route: '/v1/identities/:identityId',
  purpose: 'checkout-verification',
  action: 'identity.read',
  hash: '3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b',
  prevHash: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  digest: '3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b',
  fingerprintSha256: '2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
  keyId: 'audit-2026-01',
  stream: 'w-3f9a2c',
  createdAt: '2026-11-25T10:30:00+08:00',
  updatedAt: '2026-11-25T10:30:00+08:00',
  at: '2026-11-25T10:30:00+08:00',
  'Operations..status': 'ok',
  'orders.status': 'CONFIRMED',
  category: 'general',
  fields: 'buyer.idNumber',
  country: 'CN',
  role: 'customs',
  legalBasis: 'PIPL art. 13(1)2: necessary for a contract the person is party to',
  crossBorderBasisText: 'Necessary for a cross-border purchase the person made',
  basis: 'CUSTOMS_RECORDS',
  subject: 'CN=Partner privacy contact',
  serialNumber: '01a3f5c7e92b4d6f',
  subjectRefKeyId: 'subject-ref-2026-01',
  actor: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  acknowledgedBy: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  requestedBy: 'legal-office@mall.example',
  releasedOrders: 'SO-20261125-0001',
  prev: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  signature: 'q3Z0dGVzdC1zaWduYXR1cmUtb2YtNjQtYnl0ZXMtZm9yLWV4YW1wbGUtb25seS1ub3QtYS1yZWFsLW9uZQ==',
  seq: 42,
  year: 2026,
  quotaYear: 2026,
  age: 36,
  qty: 2,
  gnum: 1,
  count: 3,
  itemCount: 2,
  limit: 50,
  limitFen: 2600000,
  volumeMl: 900,
};

const EXAMPLE_TIME = '2026-11-25T10:30:00+08:00';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function valueFor(key: { tag: string; parent: string; name: string }): unknown {
  const { tag, parent, name } = key;
  for (const candidate of [`${tag}.${parent}.${name}`, `${parent}.${name}`, name]) {
    if (candidate in EXAMPLE_VALUES) return EXAMPLE_VALUES[candidate];
  }
  return undefined;
}

function fits(schema: Schema, value: unknown): boolean {
  if (value === undefined) return false;
  if (schema.enum && !schema.enum.includes(value)) return false;
  if (schema.type === 'string') {
    return (
      typeof value === 'string' &&
      (!schema.pattern || new RegExp(schema.pattern).test(value)) &&
      (schema.format !== 'uuid' || UUID.test(value)) &&
      (schema.format !== 'date-time' || !Number.isNaN(Date.parse(value)))
    );
  }
  if (schema.type === 'integer' || schema.type === 'number') return typeof value === 'number';
  return schema.type !== 'object' && schema.type !== 'array';
}

function scalarExample(schema: Schema, name: string): unknown {
  if (schema.enum) return schema.default ?? schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  switch (schema.type) {
    case 'integer':
    case 'number':
      return name.endsWith('Fen') ? 15980 : (schema.minimum ?? 1);
    case 'boolean':
      return true;
    case 'string':
      if (schema.format === 'date-time') return EXAMPLE_TIME;
      if (schema.format === 'date') return EXAMPLE_TIME.slice(0, 10);
      if (schema.format === 'uuid') return '0f8e2d4c-6b1a-4e3f-9d5c-7a8b9c0d1e2f';
      if (schema.format === 'email') return EXAMPLE_VALUES.contact;
      return 'text';
    default:
      return null;
  }
}

/**
 * An example made of a JSON schema and the example table: every property for
 * an answer, the required ones for a request (optional fields of a request
 * often exclude each other).
 */
function exampleOf(
  schema: Schema,
  key: { tag: string; parent: string; name: string },
  requestOnly: boolean,
): unknown {
  const first = schema.anyOf?.[0] ?? schema.oneOf?.[0] ?? schema.allOf?.[0];
  if (first) return exampleOf(first, key, requestOnly);
  if (schema.type === 'object' || schema.properties) {
    const required = schema.required ?? [];
    const names = Object.keys(schema.properties ?? {}).filter(
      (name) => !requestOnly || required.length === 0 || required.includes(name),
    );
    return Object.fromEntries(
      names.map((name) => [
        name,
        exampleOf(schema.properties![name]!, { tag: key.tag, parent: key.name, name }, requestOnly),
      ]),
    );
  }
  if (schema.type === 'array') {
    return schema.items ? [exampleOf(schema.items, key, requestOnly)] : [];
  }
  const known = valueFor(key);
  return fits(schema, known) ? known : scalarExample(schema, key.name);
}

/**
 * joi-to-swagger renders a conditional presence (`Joi.when(...)`, `.required()`
 * under a condition) as `oneOf: [{ 'x-required': true }]`: no constraint a
 * JSON-schema reader understands, and an illogical composition to linters. Dropped.
 */
function withoutPresenceMarkers<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(withoutPresenceMarkers) as T;
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    const composition = (key === 'oneOf' || key === 'anyOf') && Array.isArray(value);
    if (!composition) {
      out[key] = withoutPresenceMarkers(value);
      continue;
    }
    const members = (value as Record<string, unknown>[]).map((member) =>
      Object.fromEntries(Object.entries(member).filter(([k]) => !k.startsWith('x-'))),
    );
    const kept = members.filter((member) => Object.keys(member).length > 0);
    // One member left: it is the schema itself, not a choice.
    if (kept.length === 1) Object.assign(out, withoutPresenceMarkers(kept[0]));
    else if (kept.length > 1) out[key] = withoutPresenceMarkers(value);
  }
  return out as T;
}

/** A joi schema as OpenAPI's JSON schema. */
function jsonSchema(schema: Parameters<typeof j2s>[0]): Schema {
  return withoutPresenceMarkers(j2s(schema).swagger as Schema);
}

/** `/v1/clients/:clientId` -> `/v1/clients/{clientId}` */
function openapiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(route: RouteDefinition) {
  const fromSchema = (schema: RouteDefinition['params'], where: 'path' | 'query') => {
    if (!schema) return [];
    const converted = jsonSchema(schema);
    return Object.entries(converted.properties ?? {}).map(([name, prop]) => ({
      name,
      in: where,
      required: where === 'path' || (converted.required ?? []).includes(name),
      schema: prop,
      example: exampleOf(prop, { tag: route.tag, parent: '', name }, true),
    }));
  };
  return [...fromSchema(route.params, 'path'), ...fromSchema(route.query, 'query')];
}

/** The code each status means when a route names none (see src/errors.ts). */
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  406: 'NOT_ACCEPTABLE',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  500: 'INTERNAL',
  503: 'SERVICE_UNAVAILABLE',
};

/** The fixed messages the service answers with (src/errors.ts and the services), for the examples. */
const MESSAGES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: 'The request is not valid.',
  UNAUTHENTICATED: 'A valid API key is required.',
  FORBIDDEN: 'This client is not allowed to do this.',
  CSRF_TOKEN_INVALID: 'This request needs the X-CSRF-Token of the console session.',
  NOT_FOUND: 'No such resource.',
  METHOD_NOT_ALLOWED: 'This method is not allowed here.',
  NOT_ACCEPTABLE: 'None of the accepted media types can be produced here.',
  PAYLOAD_TOO_LARGE: 'The request body is too large.',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported body encoding.',
  RATE_LIMITED: 'Too many requests; retry later.',
  CONSENT_REQUIRED: 'Separate consent to processing sensitive personal data is required.',
  GUARDIAN_CONSENT_REQUIRED: 'A guardian must consent for a person under 14.',
  ORDER_CONFLICT: 'This order number was already verified with a different request.',
  INVALID_STATE_TRANSITION: 'Not allowed from the current status.',
  DISCLOSURE_WITHHELD:
    'The personal data of this declaration is withheld; no inventory message can be issued.',
  DECLARATION_INCOMPLETE: 'This declaration lacks data a CEB621 inventory requires.',
  RETURN_WINDOW_CLOSED: 'A return is allowed only within the return window after customs release.',
  RETURN_EXCEEDS_ORDER: 'The return asks for more than the order has left to return.',
  RELEASE_TIME_INVALID: 'The release time cannot be customs’ release.',
  DECLARATION_NOT_DISCLOSED:
    'The declaration was never disclosed to the broker: customs cannot have released it.',
  PRODUCT_DATA_MISSING:
    'Every item must be catalogued (PUT /v1/products/{sku}) before the order is confirmed.',
  CONFLICT: 'The record changed concurrently or is recorded differently.',
  SERVICE_UNAVAILABLE: 'The service cannot answer right now.',
  DATABASE_UNAVAILABLE: 'The database is not reachable.',
  INTERNAL: 'Internal error.',
};

/** What every route of its kind can answer, whatever its own code does. */
function commonErrors(route: RouteDefinition): RouteError[] {
  const parsesBody = route.method !== 'get' && route.method !== 'delete';
  const errors: RouteError[] = [];
  if (route.params || route.query || route.body || parsesBody) {
    errors.push({
      status: 400,
      code: 'VALIDATION_FAILED',
      when: 'a parameter or the body is not valid',
    });
  }
  if (route.roles !== 'public') {
    errors.push(
      { status: 401, code: 'UNAUTHENTICATED', when: 'no API key, or an unknown or revoked one' },
      { status: 403, code: 'FORBIDDEN', when: "the key's role may not call this route" },
      { status: 429, code: 'RATE_LIMITED', when: 'too many requests or refusals; see Retry-After' },
    );
  }
  if (parsesBody) {
    errors.push(
      { status: 413, code: 'PAYLOAD_TOO_LARGE', when: 'the body is over the limit' },
      { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', when: 'a body type or encoding not accepted' },
    );
  }
  errors.push({ status: 500, code: 'INTERNAL', when: 'an unexpected failure (no detail given)' });
  if (route.roles !== 'public') {
    errors.push({ status: 503, code: 'DATABASE_UNAVAILABLE', when: 'the database did not answer' });
  }
  if (route.personalData) {
    errors.push({
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      when: 'the access-log event could not be written: nothing was read or changed',
    });
  }
  return errors;
}

/** Route errors by status: the common ones, the route's own, and codes implied by documented statuses. */
function errorsByStatus(route: RouteDefinition): Map<number, RouteError[]> {
  const byStatus = new Map<number, RouteError[]>();
  const add = (error: RouteError) => {
    const list = byStatus.get(error.status) ?? [];
    if (!list.some((known) => known.code === error.code)) list.push(error);
    byStatus.set(error.status, list);
  };
  [...commonErrors(route), ...(route.errors ?? [])].forEach(add);
  for (const [status, doc] of Object.entries(route.responses)) {
    if (Number(status) < 400 || doc.schema) continue;
    const code = CODE_OF_STATUS[Number(status)];
    if (code) add({ status: Number(status), code, when: doc.description });
    // A documented error status with no code known for it: listed without one, which
    // test/openapi.test.ts refuses (name it in the route's `errors`).
    else if (!byStatus.has(Number(status))) byStatus.set(Number(status), []);
  }
  return byStatus;
}

function errorResponse(errors: RouteError[], documented: string | undefined) {
  const codes = errors.map((error) => error.code);
  const listed = errors.map((error) => (error.when ? `${error.code}: ${error.when}` : error.code));
  const description =
    documented && codes.every((code) => documented.includes(code))
      ? documented
      : [documented, ...listed].filter(Boolean).join('; ');
  return {
    description,
    'x-error-codes': codes,
    content: {
      'application/json': {
        schema: { $ref: '#/components/schemas/Error' },
        examples: Object.fromEntries(
          errors.map((error) => [
            error.code,
            {
              summary: error.when ?? error.code,
              value: {
                error: {
                  code: error.code,
                  message: MESSAGES[error.code],
                  details:
                    error.code === 'VALIDATION_FAILED'
                      ? [{ path: 'orderNo', message: 'is required' }]
                      : [],
                  requestId: 'req-5f2c1a9e',
                },
              },
            },
          ]),
        ),
      },
    },
  };
}

function responses(route: RouteDefinition) {
  const out: Record<string, object> = {};
  for (const [status, doc] of Object.entries(route.responses)) {
    if (Number(status) >= 400 && !doc.schema) continue;
    const type = doc.contentType ?? 'application/json';
    if (!doc.schema) {
      out[status] = { description: doc.description };
      continue;
    }
    const schema = jsonSchema(doc.schema);
    const example =
      doc.example ??
      (type.includes('json')
        ? exampleOf(schema, { tag: route.tag, parent: '', name: '' }, false)
        : undefined);
    out[status] = {
      description: doc.description,
      content: { [type]: { schema, ...(example === undefined ? {} : { example }) } },
    };
  }
  for (const [status, errors] of errorsByStatus(route)) {
    out[String(status)] = errorResponse(errors, route.responses[status]?.description);
  }
  return out;
}

function requestBody(route: RouteDefinition) {
  if (route.rawBody) {
    return {
      required: true,
      content: Object.fromEntries(
        route.rawBody.types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }]),
      ),
    };
  }
  if (!route.body) return undefined;
  const schema = jsonSchema(route.body);
  const example =
    route.bodyExample ?? exampleOf(schema, { tag: route.tag, parent: '', name: '' }, true);
  return {
    required: !route.bodyOptional,
    content: { 'application/json': { schema, example } },
  };
}

function operation(route: RouteDefinition) {
  const body = requestBody(route);
  return {
    operationId: operationId(route),
    summary: route.summary,
    tags: [route.tag],
    ...(route.roles === 'public'
      ? { security: [] }
      : { 'x-roles': route.roles, security: [{ bearer: [] }] }),
    parameters: parameters(route),
    ...(body ? { requestBody: body } : {}),
    responses: responses(route),
  };
}

/** `post /v1/orders/:orderNo/confirm` -> `postV1OrdersOrderNoConfirm`: unique per operation. */
function operationId(route: RouteDefinition): string {
  const words = route.path
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1));
  return route.method + words.join('');
}

const TAG_DESCRIPTIONS: Record<string, string> = {
  'Access log':
    'The tamper-evident access log and its alerts (auditor): every access to personal data',
  'Checkout and quota':
    'Checkout verification, the annual quota and the order lifecycle (checkout)',
  Clients: 'API clients, their roles and partner certificates (admin)',
  Console: "The security team's web console",
  Declarations: 'Declarations for customs brokers (CEB621 fields), signed',
  Identities: 'Real-name identities, field-level encrypted (checkout, on the person’s behalf)',
  'Legal holds': 'Data kept under a legal hold after erasure, disclosed only to the legal office',
  Operations: 'Liveness, readiness, metrics and this document',
  'Privacy requests': 'The register of data subjects’ requests (access, deletion, ...)',
  Products: 'The customs data of what is sold (checkout)',
  Shipments: 'Shipments for carriers (consignee fields), signed',
};

/** The OpenAPI 3 document of exactly the routes mounted, from their own validators. */
export function buildOpenApi(routes: RouteDefinition[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    const path = openapiPath(route.path);
    paths[path] = { ...(paths[path] ?? {}), [route.method]: operation(route) };
  }
  const tags = [...new Set(routes.map((route) => route.tag))].sort();
  return {
    openapi: '3.0.3',
    info: {
      title: 'Customs identity service',
      version: '1.0.0',
      description:
        'Field-level encrypted real-name data, annual quota, minimum-necessary disclosure to customs brokers and carriers, and a tamper-evident access log.',
      license: { name: 'Proprietary', url: 'https://example.com/license' },
    },
    // Relative: the API is where this document is served from.
    servers: [{ url: '/', description: 'The host serving this document' }],
    tags: tags.map((name) => ({ name, description: TAG_DESCRIPTIONS[name] ?? `${name} routes` })),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths,
  };
}
