import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1000' });
});
afterAll(() => t.close());

const admin = { Authorization: `Bearer ${ADMIN_KEY}` };
const postClient = (body: unknown) =>
  t
    .http()
    .post('/v1/clients')
    .set(admin)
    .send(body as object);

describe('validation', () => {
  it('when a body has an unknown field, then 400 VALIDATION_FAILED on that path', async () => {
    const response = await postClient({ name: 'a', role: 'auditor', colour: 'red' }).expect(400);
    expect(response.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'colour', message: 'is not allowed' }],
    });
  });

  it('when a body has a key starting with $, then 400 on that path', async () => {
    const response = await postClient({ name: 'a', role: 'auditor', $where: 'x' }).expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details).toEqual([
      { path: '$where', message: 'key is not allowed' },
    ]);
  });

  it('when a dotted key hides deep inside a body, then 400 names its full path', async () => {
    const response = await postClient({
      name: 'a',
      role: 'auditor',
      extra: [{ deeper: { 'a.b': 1 } }],
    }).expect(400);
    expect(response.body.error.details).toEqual([
      { path: 'extra.0.deeper.a.b', message: 'key is not allowed' },
    ]);
  });

  it('when an operator is nested as a value object, then it is rejected before it reaches a query', async () => {
    const response = await postClient({ name: { $gt: '' }, role: 'auditor' }).expect(400);
    expect(response.body.error.details).toEqual([
      { path: 'name.$gt', message: 'key is not allowed' },
    ]);
  });

  it('when the JSON is broken, then 400 VALIDATION_FAILED on path body', async () => {
    const response = await t
      .http()
      .post('/v1/clients')
      .set(admin)
      .set('Content-Type', 'application/json')
      .send('{"name": "a",')
      .expect(400);
    expect(response.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'body', message: 'is not valid JSON' }],
    });
  });

  it('when the body is over the size limit, then 413 PAYLOAD_TOO_LARGE', async () => {
    const response = await postClient({ name: 'a'.repeat(200 * 1024), role: 'auditor' }).expect(
      413,
    );
    expect(response.body.error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: [{ path: 'body', message: 'is too large' }],
    });
  });

  it('when the body is missing, then 400 names the required fields', async () => {
    const response = await t.http().post('/v1/clients').set(admin).expect(400);
    expect(response.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'body',
    ]);
  });

  it('when a value is invalid, then the error never repeats the value', async () => {
    const response = await postClient({ name: 'a', role: 'secret-role-value' }).expect(400);
    expect(JSON.stringify(response.body)).not.toContain('secret-role-value');
  });
});

describe('errors and request ids', () => {
  it('when the caller sends X-Request-Id, then it is echoed in the header and the error', async () => {
    const response = await t
      .http()
      .post('/v1/clients')
      .set('X-Request-Id', 'checkout-7f3a')
      .send({})
      .expect(401);
    expect(response.headers['x-request-id']).toBe('checkout-7f3a');
    expect(response.body.error.requestId).toBe('checkout-7f3a');
  });

  it('when no X-Request-Id is sent, then one is generated', async () => {
    const response = await t.http().get('/healthz').expect(200);
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when the incoming request id is malformed, then a fresh one replaces it', async () => {
    const response = await t.http().get('/healthz').set('X-Request-Id', 'a b<script>').expect(200);
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when the incoming request id could be an id number or a phone, then it is replaced', async () => {
    for (const id of ['11010519491231002X', 'order-13800138000']) {
      const response = await t.http().get('/healthz').set('X-Request-Id', id).expect(200);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('when a route does not exist, then 404 in the contract shape with no stack trace', async () => {
    const response = await t.http().get('/v1/nothing-here').set(admin).expect(404);
    expect(response.body).toEqual({
      error: {
        code: 'NOT_FOUND',
        message: 'No such route.',
        details: [],
        requestId: expect.any(String),
      },
    });
  });

  it('when a response is sent, then helmet security headers are set', async () => {
    const response = await t.http().get('/healthz').expect(200);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-powered-by']).toBeUndefined();
  });
});

describe('operations', () => {
  it('when /healthz is called without a key, then 200', async () => {
    await t.http().get('/healthz').expect(200, { status: 'ok' });
  });

  it('when the database is up and indexed, then /readyz is 200', async () => {
    await t.http().get('/readyz').expect(200, { status: 'ready', database: 'up' });
  });

  it('when /metrics is scraped, then requests are counted by route template, not raw path', async () => {
    await t
      .http()
      .delete('/v1/clients/3f0f4bb4-5bd3-4a3c-9c59-1c1f2a0e0c7d')
      .set(admin)
      .expect(404);
    const response = await t.http().get('/metrics').expect(200);
    expect(response.text).toContain(
      'http_requests_total{method="DELETE",route="/v1/clients/:clientId",status="404"}',
    );
    expect(response.text).not.toContain('3f0f4bb4');
    expect(response.text).toContain('http_request_duration_seconds_bucket');
  });

  it('when /openapi.json is fetched, then it describes every mounted route with its roles', async () => {
    const response = await t.http().get('/openapi.json').expect(200);
    expect(response.body.openapi).toBe('3.0.3');
    expect(response.body.paths['/v1/clients'].post['x-roles']).toEqual(['admin']);
    expect(
      response.body.paths['/v1/clients'].post.requestBody.content['application/json'].schema,
    ).toMatchObject({ type: 'object', required: expect.arrayContaining(['name', 'role']) });
    expect(response.body.paths['/v1/clients/{clientId}'].delete.parameters[0]).toMatchObject({
      name: 'clientId',
      in: 'path',
    });
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      expect(response.body.paths[path].get).toBeDefined();
    }
  });
});

describe('rate limiting', () => {
  it('when a client exceeds its per-minute budget, then 429 RATE_LIMITED with Retry-After', async () => {
    const limited = await createTestApp({ RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const call = () => limited.http().delete('/v1/clients/abc').set(admin);
      for (let i = 0; i < 3; i += 1) await call().expect(400);
      const response = await call().expect(429);
      expect(response.body.error.code).toBe('RATE_LIMITED');
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
