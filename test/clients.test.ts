import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

describe('POST /v1/clients', () => {
  it('when the admin registers a carrier, then it answers 201 with a key shown once', async () => {
    const response = await t
      .http()
      .post('/v1/clients')
      .set(auth(ADMIN_KEY))
      .send({ name: 'SF Express', role: 'carrier', partnerCode: 'SF' })
      .expect(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      name: 'SF Express',
      role: 'carrier',
      partnerCode: 'SF',
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
      .send({ name: 'Broker', role: 'customs' })
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
