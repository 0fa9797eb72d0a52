import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { auth } from './helpers/auth';

/**
 * Client errors found by a security review that the service answered with
 * 500 INTERNAL, and identifiers that could carry personal data. Each must be
 * a 4xx in the contract's error shape.
 */
let t: TestApp;
let server: http.Server;
let port: number;

beforeAll(async () => {
  t = await createTestApp();
  server = t.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.close();
});

const admin = { Authorization: `Bearer ${ADMIN_KEY}` };

describe('client errors are 4xx, never 500', () => {
  it('when a path has broken percent-encoding, then 400 VALIDATION_FAILED on path "path", with or without a key', async () => {
    for (const headers of [{}, admin]) {
      const response = await t.http().get('/v1/identities/%E0%A4%A').set(headers);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [{ path: 'path', message: 'is not valid percent-encoding' }],
      });
    }
  });

  it('when a body says Content-Encoding gzip but is not compressed, then 400', async () => {
    const response = await t
      .http()
      .post('/v1/clients')
      .set(admin)
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .send('{"name":"a","role":"auditor"}');
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'body', message: 'cannot be decoded' }],
    });
  });

  it('when JSON is nested 2,000 deep, then 400 VALIDATION_FAILED on path body', async () => {
    const deep = `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`;
    const response = await t
      .http()
      .post('/v1/clients')
      .set(admin)
      .set('Content-Type', 'application/json')
      .send(`{"name":"a","role":"auditor","x":${deep}}`);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'body', message: 'is nested too deeply' }],
    });
  });

  it('when a client drops the connection mid-body, then nothing is logged as a server fault', async () => {
    const logged = t.logs.length;
    await new Promise<void>((resolve) => {
      const request = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/clients',
        headers: { ...admin, 'Content-Type': 'application/json', 'Content-Length': '1000' },
      });
      request.on('error', () => resolve());
      request.write('{"name":"half');
      setTimeout(() => {
        request.destroy();
        resolve();
      }, 100);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const faults = t.logs.slice(logged).filter((line) => line.includes('"level":50'));
    expect(faults).toEqual([]);
  });
});

describe('keys that reach prototypes are refused like $ keys', () => {
  it.each(['__proto__', 'constructor', 'prototype'])(
    'when a body has a %s key, then 400 on that path',
    async (key) => {
      const response = await t
        .http()
        .post('/v1/clients')
        .set(admin)
        .set('Content-Type', 'application/json')
        .send(`{"name":"a","role":"auditor","extra":{"${key}":{"x":1}}}`);
      expect(response.status).toBe(400);
      expect(response.body.error.details).toContainEqual({
        path: `extra.${key}`,
        message: 'key is not allowed',
      });
    },
  );
});

describe('X-Request-Id that could be a phone or an id number', () => {
  it.each([
    '138-1234-5670',
    '138 1234 5670',
    '+86 138.1234.5670',
    '110105-19491231-002X',
    '+852 9123 4567',
    '00853-6612-3456',
    '+886-912-345-678',
    '+44 20 7946 0958',
  ])('when the request id is %s, then it is replaced, not echoed', async (incoming) => {
    const response = await t.http().get('/healthz').set('X-Request-Id', incoming).expect(200);
    expect(response.headers['x-request-id']).not.toBe(incoming);
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('when the request id is a UUID whose joined groups hold a long digit run, then it is echoed', async () => {
    const uuid = 'quota-f1e6f432-3321-4601-aebd-f4e0edbfd2bf';
    const response = await t.http().get('/healthz').set('X-Request-Id', uuid).expect(200);
    expect(response.headers['x-request-id']).toBe(uuid);
  });

  it('when the request id is an ordinary trace id, then it is echoed', async () => {
    const response = await t
      .http()
      .get('/healthz')
      .set('X-Request-Id', 'trace-ab12-7f3e')
      .expect(200);
    expect(response.headers['x-request-id']).toBe('trace-ab12-7f3e');
  });
});

describe('errors and free text never carry personal data', () => {
  const ID = '11010519491231002X';
  const MOBILE = '13800138000';

  it('when an unknown key is a phone, an id number or a name, then the error names it [redacted]', async () => {
    const { apiKey } = await t.clientKey('checkout');
    for (const key of [MOBILE, `$${ID}`, '王小明.x']) {
      const response = await t
        .http()
        .patch('/v1/identities/3f0f4bb4-5bd3-4a3c-9c59-1c1f2a0e0c7d')
        .set(auth(apiKey))
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ [key]: 1 }))
        .expect(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
      expect(response.body.error.details.map((d: { path: string }) => d.path)).toContain(
        '[redacted]',
      );
      expect(response.text).not.toContain(MOBILE);
      expect(response.text).not.toContain(ID);
      expect(response.text).not.toContain('王小明');
    }
  });

  it('when a client name is a phone number, then 400 on name', async () => {
    const response = await t
      .http()
      .post('/v1/clients')
      .set(auth(ADMIN_KEY))
      .send({ name: MOBILE, role: 'auditor' })
      .expect(400);
    expect(response.body.error.details).toEqual([
      { path: 'name', message: 'must not contain an id number or a phone number' },
    ]);
  });

  it('when a goods name or a consent policy version carries an id number, then 400 on that field', async () => {
    const { apiKey } = await t.clientKey('checkout');
    const verify = await t
      .http()
      .post('/v1/checkout/verify')
      .set(auth(apiKey))
      .send({ items: [{ sku: 'S1', name: `gift for ${ID}`, qty: 1, unitPriceFen: 100 }] })
      .expect(400);
    expect(verify.body.error.details).toContainEqual({
      path: 'items.0.name',
      message: 'must not contain an id number or a phone number',
    });
    const register = await t
      .http()
      .post('/v1/identities')
      .set(auth(apiKey))
      .send({ consent: { policyVersion: ID, sensitiveDataConsent: true } })
      .expect(400);
    expect(register.body.error.details).toContainEqual({
      path: 'consent.policyVersion',
      message: 'must not contain an id number or a phone number',
    });
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
