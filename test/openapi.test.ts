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
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
