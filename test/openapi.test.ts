import { PUBLIC_PATHS } from './helpers/openapi-operations';
import { createTestApp, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every method + path Express actually serves, read from its router stack. */
function mountedRoutes(stack: Layer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const path = layer.route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      return Object.keys(layer.route.methods).map((method) => `${method} ${path}`);
    }
    return layer.handle?.stack ? mountedRoutes(layer.handle.stack) : [];
  });
}

describe('GET /openapi.json', () => {
  it('when fetched, then it documents exactly the routes the service serves', async () => {
    const response = await t.http().get('/openapi.json').expect(200);
    const documented = Object.entries(
      response.body.paths as Record<string, Record<string, unknown>>,
    ).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`));
    const served = mountedRoutes((t.app as unknown as { router: { stack: Layer[] } }).router.stack);
    expect(served.length).toBeGreaterThan(5);
    expect(documented.sort()).toEqual(served.sort());
  });

  it('when a route needs a key, then its operation says which roles may call it', async () => {
    const response = await t.http().get('/openapi.json').expect(200);
    for (const [path, operations] of Object.entries(
      response.body.paths as Record<
        string,
        Record<string, { security: unknown[]; 'x-roles'?: string[] }>
      >,
    )) {
      for (const operation of Object.values(operations)) {
        const isPublic = PUBLIC_PATHS.includes(path);
        expect({ path, public: operation.security.length === 0 }).toEqual({
          path,
          public: isPublic,
        });
        if (!isPublic) expect(operation['x-roles']!.length).toBeGreaterThan(0);
      }
    }
  });

  it('when read, then every operation has a summary and lists its error codes with their statuses', async () => {
    const problems: string[] = [];
    for (const { name, operation } of operationsOf(await servedDocument())) {
      if (!operation.summary?.trim()) problems.push(`${name}: no summary`);
      const errors = Object.entries(operation.responses).filter(
        ([status]) => Number(status) >= 400,
      );
      const codes = errors.flatMap(([, response]) => response['x-error-codes'] ?? []);
      if (codes.length === 0) problems.push(`${name}: no error code`);
      for (const [status, response] of errors) {
        if (!isErrorBody(response)) continue;
        const listed = response['x-error-codes'] ?? [];
        if (listed.length === 0) problems.push(`${name} ${status}: no code (add it to errors)`);
        const examples = response.content!['application/json']!.examples ?? {};
        for (const code of listed) {
          if (examples[code]?.value.error.code !== code) {
            problems.push(`${name} ${status}: no example of ${code}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('when a route can be refused for its key, its input or its access log, then those codes are listed', async () => {
    const document = await servedDocument();
    const codesOf = (path: string, method: string) =>
      Object.fromEntries(
        Object.entries(document.paths[path]![method]!.responses)
          .filter(([, response]) => response['x-error-codes'])
          .map(([status, response]) => [status, response['x-error-codes']]),
      );
    expect(codesOf('/v1/checkout/verify', 'post')).toMatchObject({
      '400': ['VALIDATION_FAILED'],
      '401': ['UNAUTHENTICATED'],
      '403': ['FORBIDDEN'],
      '409': ['ORDER_CONFLICT'],
      '429': ['RATE_LIMITED'],
      '503': expect.arrayContaining(['SERVICE_UNAVAILABLE', 'DATABASE_UNAVAILABLE']),
    });
    expect(codesOf('/v1/identities', 'post')['422']).toEqual([
      'CONSENT_REQUIRED',
      'GUARDIAN_CONSENT_REQUIRED',
    ]);
    expect(codesOf('/v1/declarations/{declarationId}/ack', 'post')).toMatchObject({
      '404': ['NOT_FOUND'],
      '409': ['INVALID_STATE_TRANSITION', 'DECLARATION_NOT_DISCLOSED'],
      '422': ['RELEASE_TIME_INVALID'],
    });
    expect(codesOf('/healthz', 'get')).toEqual({ '500': ['INTERNAL'] });
  });

  it('when read, then every JSON request and response body has an example', async () => {
    const missing: string[] = [];
    for (const { name, operation } of operationsOf(await servedDocument())) {
      const request = operation.requestBody?.content['application/json'];
      if (request && request.example === undefined) missing.push(`${name} request`);
      for (const [status, response] of Object.entries(operation.responses)) {
        const body = response.content?.['application/json'];
        if (body && body.example === undefined && body.examples === undefined) {
          missing.push(`${name} ${status}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});

interface MediaType {
  schema?: { $ref?: string };
  example?: unknown;
  examples?: Record<string, { value: { error: { code: string } } }>;
}
interface Operation {
  summary?: string;
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<
    string,
    { 'x-error-codes'?: string[]; content?: Record<string, MediaType | undefined> }
  >;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
}

async function servedDocument(): Promise<Document> {
  return (await t.http().get('/openapi.json').expect(200)).body as Document;
}

function operationsOf(document: Document) {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({
      name: `${method.toUpperCase()} ${path}`,
      operation,
    })),
  );
}

/** A response in the contract's error shape (not, say, /readyz's 503 status body). */
function isErrorBody(response: Operation['responses'][string]): boolean {
  return response.content?.['application/json']?.schema?.$ref === '#/components/schemas/Error';
}

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
