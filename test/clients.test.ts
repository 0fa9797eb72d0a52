import { partnerKeyPair } from './helpers/disclosure-fixtures';
import { ADMIN_KEY, createTestApp, DEFAULT_PARTNER, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { auth } from './helpers/auth';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('POST /v1/clients', () => {
  it('when the admin registers a carrier, then it answers 201 with a key shown once', async () => {
    const response = await t
      .http()
      .post('/v1/clients')
      .set(auth(ADMIN_KEY))
      .send({
        name: 'SF Express',
        role: 'carrier',
        partnerCode: 'SF',
        jurisdiction: 'CN',
        contact: 'privacy@sf.example',
      })
      .expect(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      name: 'SF Express',
      role: 'carrier',
      partnerCode: 'SF',
      jurisdiction: 'CN',
      crossBorderBasis: null,
      contact: 'privacy@sf.example',
      apiKey: expect.stringMatching(/^cik_[A-Za-z0-9_-]{43}$/),
    });
  });

  it('when the key is stored, then only its hash is in the database', async () => {
    const { apiKey } = await t.clientKey('auditor');
    const raw = JSON.stringify(await t.connection.collection('clients').find().toArray());
    expect(raw).not.toContain(apiKey);
  });

  it('when a customs client has no partnerCode, then 400 on path partnerCode', async () => {
    const response = await t
      .http()
      .post('/v1/clients')
      .set(auth(ADMIN_KEY))
      .send({ name: 'Broker', role: 'customs', ...DEFAULT_PARTNER })
      .expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details).toEqual([{ path: 'partnerCode', message: 'is required' }]);
  });

  it('when the role is unknown, then 400 on path role', async () => {
    const response = await t
      .http()
      .post('/v1/clients')
      .set(auth(ADMIN_KEY))
      .send({ name: 'x', role: 'root' })
      .expect(400);
    expect(response.body.error.details[0].path).toBe('role');
  });
});

describe('authentication and roles', () => {
  it.each([
    ['no Authorization header', undefined],
    ['an unknown key', 'Bearer cik_unknown'],
    ['a malformed header', 'Basic abc'],
  ])('when a request has %s, then 401 UNAUTHENTICATED', async (_label, header) => {
    const call = t.http().post('/v1/clients').send({ name: 'x', role: 'auditor' });
    if (header) call.set('Authorization', header);
    const response = await call.expect(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
  });

  it.each(['checkout', 'auditor', 'customs', 'carrier'])(
    'when a %s client calls an admin route, then 403 FORBIDDEN',
    async (role) => {
      const partner = role === 'customs' || role === 'carrier' ? 'P1' : undefined;
      const { apiKey } = await t.clientKey(role, partner);
      const response = await t
        .http()
        .post('/v1/clients')
        .set(auth(apiKey))
        .send({ name: 'x', role: 'auditor' })
        .expect(403);
      expect(response.body.error.code).toBe('FORBIDDEN');
    },
  );

  it('when an admin client created through the API calls an admin route, then it is allowed', async () => {
    const { apiKey } = await t.clientKey('admin');
    await t
      .http()
      .post('/v1/clients')
      .set(auth(apiKey))
      .send({ name: 'x', role: 'auditor' })
      .expect(201);
  });
});

describe('partner codes travel in clear', () => {
  it.each(['13800138000', '138-0013-8000', '11010519491231002X'])(
    'when a partner code looks like a phone or an id number (%s), then 400 on partnerCode',
    async (code) => {
      const response = await t
        .http()
        .post('/v1/clients')
        .set(auth(ADMIN_KEY))
        .send({ name: 'Broker', role: 'customs', partnerCode: code, ...DEFAULT_PARTNER })
        .expect(400);
      expect(response.body.error).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [
          { path: 'partnerCode', message: 'must not look like an id number or a phone number' },
        ],
      });
    },
  );
});

describe('DELETE /v1/clients/{id}', () => {
  it('when a client is revoked, then its key fails on the very next request', async () => {
    const admin = await t.clientKey('admin');
    await t
      .http()
      .post('/v1/clients')
      .set(auth(admin.apiKey))
      .send({ name: 'a', role: 'auditor' })
      .expect(201);
    await t.http().delete(`/v1/clients/${admin.id}`).set(auth(ADMIN_KEY)).expect(204);
    const response = await t
      .http()
      .post('/v1/clients')
      .set(auth(admin.apiKey))
      .send({ name: 'a', role: 'auditor' })
      .expect(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('when the id is unknown, then 404 NOT_FOUND', async () => {
    const response = await t
      .http()
      .delete('/v1/clients/3f0f4bb4-5bd3-4a3c-9c59-1c1f2a0e0c7d')
      .set(auth(ADMIN_KEY))
      .expect(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });

  it('when the id is not a uuid, then 400 on path clientId', async () => {
    const response = await t.http().delete('/v1/clients/abc').set(auth(ADMIN_KEY)).expect(400);
    expect(response.body.error.details[0].path).toBe('clientId');
  });
});

describe('PUT /v1/clients/{id}/certificate', () => {
  let broker: { id: string; apiKey: string };
  beforeAll(async () => {
    broker = await t.clientKey('customs', 'BROKER1');
  });

  const put = (id: string, body: string, type = 'application/x-pem-file') =>
    t
      .http()
      .put(`/v1/clients/${id}/certificate`)
      .set(auth(ADMIN_KEY))
      .set('Content-Type', type)
      .send(body);

  it('when the certificate is sent as text/plain, then 200 with its summary', async () => {
    const response = await put(
      broker.id,
      partnerKeyPair('Broker One Ltd').certificatePem,
      'text/plain',
    ).expect(200);
    expect(response.body).toEqual({
      clientId: broker.id,
      certificate: {
        subject: 'CN=Broker One Ltd',
        serialNumber: expect.any(String),
        notBefore: expect.any(String),
        notAfter: expect.any(String),
        fingerprintSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
  });

  it('when the body is not a certificate, then 400 on path body', async () => {
    const response = await put(broker.id, 'hello').expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details).toEqual([
      { path: 'body', message: 'must be exactly one PEM certificate' },
    ]);
  });

  it('when the body is a private key, then 400 and the key is not echoed', async () => {
    const pair = partnerKeyPair();
    const response = await put(broker.id, pair.privateKeyPem).expect(400);
    expect(response.text).not.toContain(pair.privateKeyPem.split('\n')[1]);
  });

  it('when the client is unknown, then 404 NOT_FOUND', async () => {
    const response = await put(
      '3f0f4bb4-5bd3-4a3c-9c59-1c1f2a0e0c7d',
      partnerKeyPair().certificatePem,
    ).expect(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });

  it('when the body is JSON, then 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const response = await put(broker.id, '{"pem":"x"}', 'application/json').expect(415);
    expect(response.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('when the id is not a uuid and the body is JSON, then 400 on path clientId: params are checked first', async () => {
    const response = await put('abc', '{"pem":"x"}', 'application/json').expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details[0].path).toBe('clientId');
  });

  it('when a broker tries to register a certificate, then 403 FORBIDDEN', async () => {
    const response = await t
      .http()
      .put(`/v1/clients/${broker.id}/certificate`)
      .set(auth(broker.apiKey))
      .set('Content-Type', 'application/x-pem-file')
      .send(partnerKeyPair().certificatePem)
      .expect(403);
    expect(response.body.error.code).toBe('FORBIDDEN');
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
