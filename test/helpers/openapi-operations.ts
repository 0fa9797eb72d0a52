import { ROLES } from '../../src/http/route';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { TestApp } from './test-app';

/** Routes without a key: probes, the contract, and the console's static files (no data). */
export const PUBLIC_PATHS = [
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.json',
  '/console',
  '/console/console.js',
  '/console/console.css',
  '/console/console-api.js',
  '/console/console-dom.js',
];

/** The subset of an OpenAPI 3 schema object (as joi-to-swagger emits it) that the tests read. */
export interface SchemaObject {
  type?: string;
  format?: string;
  pattern?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, SchemaObject>;
  required?: string[];
  items?: SchemaObject;
  additionalProperties?: boolean | SchemaObject;
  oneOf?: SchemaObject[];
  anyOf?: SchemaObject[];
}

interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: SchemaObject;
}

interface OperationObject {
  security?: unknown[];
  'x-roles'?: string[];
  parameters?: ParameterObject[];
  requestBody?: { content?: Record<string, { schema?: SchemaObject }> };
}

/** One documented operation, as the tests need it. */
export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI template: `/v1/identities/{identityId}`. */
  path: string;
  /** `x-roles` of the operation; null when it is public (`security: []`). */
  roles: string[] | null;
  pathParameters: ParameterObject[];
  /** The JSON request body schema, when the operation takes one. */
  jsonBody: SchemaObject | null;
  /** Media types of a non-JSON body (binary uploads). */
  rawBodyTypes: string[];
}

/** Every role the service knows: a role added to ROLES is covered without touching the tests. */
export const ALL_ROLES = ROLES;
export type RoleName = (typeof ALL_ROLES)[number];

/** Partner codes of the clients that need one: a broker's registration code, a carrier. */
export const PARTNER_CODES: Partial<Record<RoleName, string>> = {
  customs: 'BROKER3301',
  carrier: 'SF',
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Every operation of `GET /openapi.json`, read from the document, not from src/. */
export async function documentedOperations(t: TestApp): Promise<Operation[]> {
  const response = await t.http().get('/openapi.json');
  if (response.status !== 200) throw new Error(`GET /openapi.json answered ${response.status}`);
  const paths = response.body.paths as Record<string, Partial<Record<string, OperationObject>>>;
  const operations: Operation[] = [];
  for (const [path, byMethod] of Object.entries(paths)) {
    for (const method of METHODS) {
      const operation = byMethod[method];
      if (!operation) continue;
      const content = operation.requestBody?.content ?? {};
      operations.push({
        method,
        path,
        roles: operation.security?.length === 0 ? null : (operation['x-roles'] ?? []),
        pathParameters: (operation.parameters ?? []).filter((p) => p.in === 'path'),
        jsonBody: content['application/json']?.schema ?? null,
        rawBodyTypes: Object.keys(content).filter((type) => type !== 'application/json'),
      });
    }
  }
  return operations;
}

/** A value that satisfies a path parameter's schema: uuid, enum member or pattern match. */
export function wellFormedValue(schema: SchemaObject | undefined, seed: number): string {
  if (!schema) return 'x1';
  if (schema.enum && schema.enum.length > 0) return String(schema.enum[0]);
  if (schema.format === 'uuid') return randomUUID();
  if (schema.type === 'integer' || schema.type === 'number') {
    return String(schema.minimum ?? 1);
  }
  if (schema.pattern) {
    const [value] = fc.sample(fc.stringMatching(new RegExp(schema.pattern)), { numRuns: 1, seed });
    return value!;
  }
  return 'x1';
}

/** The operation's path with every `{name}` replaced by a well-formed, URL-encoded value. */
export function concretePath(operation: Operation, seed = 12): string {
  return operation.path.replace(/\{([^}]+)\}/g, (_whole, name: string) => {
    const parameter = operation.pathParameters.find((p) => p.name === name);
    return encodeURIComponent(wellFormedValue(parameter?.schema, seed));
  });
}

/** `POST /v1/identities`: how operations are named in test titles and reports. */
export const describeOperation = (operation: Operation) =>
  `${operation.method.toUpperCase()} ${operation.path}`;

/** The contract's error shape: `{error: {code, message, details, requestId}}`. */
export function errorShapeProblem(body: unknown): string | null {
  const error = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!error || typeof error !== 'object') return 'no error object';
  if (typeof error.code !== 'string' || error.code.length === 0) return 'no code';
  if (typeof error.message !== 'string') return 'no message';
  if (!Array.isArray(error.details)) return 'details is not an array';
  if (typeof error.requestId !== 'string' || error.requestId.length === 0) return 'no requestId';
  return null;
}
