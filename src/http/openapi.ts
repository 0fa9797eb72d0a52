import j2s from 'joi-to-swagger';
import type { RouteDefinition } from './route';

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details', 'requestId'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
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

/** `/v1/clients/:clientId` -> `/v1/clients/{clientId}` */
function openapiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(route: RouteDefinition) {
  const fromSchema = (schema: RouteDefinition['params'], where: 'path' | 'query') => {
    if (!schema) return [];
    const converted = j2s(schema).swagger as {
      properties?: Record<string, object>;
      required?: string[];
    };
    return Object.entries(converted.properties ?? {}).map(([name, prop]) => ({
      name,
      in: where,
      required: where === 'path' || (converted.required ?? []).includes(name),
      schema: prop,
    }));
  };
  return [...fromSchema(route.params, 'path'), ...fromSchema(route.query, 'query')];
}

function operation(route: RouteDefinition) {
  const responses: Record<string, object> = {};
  for (const [status, doc] of Object.entries(route.responses)) {
    const type = doc.contentType ?? 'application/json';
    responses[status] = doc.schema
      ? { description: doc.description, content: { [type]: { schema: j2s(doc.schema).swagger } } }
      : { description: doc.description };
  }
  if (route.roles !== 'public') {
    responses['401'] = errorResponse('UNAUTHENTICATED');
    responses['403'] = errorResponse('FORBIDDEN');
  }
  if (route.body || route.params || route.query)
    responses['400'] = errorResponse('VALIDATION_FAILED');
  const body = route.rawBody
    ? {
        required: true,
        content: Object.fromEntries(
          route.rawBody.types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }]),
        ),
      }
    : route.body
      ? {
          required: !route.bodyOptional,
          content: { 'application/json': { schema: j2s(route.body).swagger } },
        }
      : undefined;
  return {
    summary: route.summary,
    tags: [route.tag],
    ...(route.roles === 'public'
      ? { security: [] }
      : { 'x-roles': route.roles, security: [{ bearer: [] }] }),
    parameters: parameters(route),
    ...(body ? { requestBody: body } : {}),
    responses,
  };
}

function errorResponse(code: string) {
  return {
    description: code,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
}

/** The OpenAPI 3 document of exactly the routes mounted, from their own validators. */
export function buildOpenApi(routes: RouteDefinition[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    const path = openapiPath(route.path);
    paths[path] = { ...(paths[path] ?? {}), [route.method]: operation(route) };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Customs identity service', version: '1.0.0' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths,
  };
}
