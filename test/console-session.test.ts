import { loadConfig } from '../src/config';
import { auth } from './helpers/auth';
import { idNumberFor } from './helpers/identity-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';

/**
 * The console's sign-in session through HTTP, as the page uses it: an auditor
 * key exchanged for a cookie and a CSRF token, the cookie accepted on the
 * console's auditor routes only, state changes refused without the token,
 * expiry, sign-out and revocation.
 */
const IDLE_MS = 60_000;
const MAX_MS = 180_000;

let t: TestApp;
let proxied: TestApp;
let auditor: { id: string; apiKey: string };

/** The app's clock runs from the real one, plus whatever a test moved it on. */
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);

beforeAll(async () => {
  t = await createTestApp(
    {
      CONSOLE_SESSION_IDLE_MS: String(IDLE_MS),
      CONSOLE_SESSION_MAX_MS: String(MAX_MS),
      REFUSALS_PER_MINUTE_PER_ADDRESS: '100000',
      REFUSALS_PER_MINUTE_PER_KEY: '100000',
    },
    { clock },
  );
  auditor = await t.clientKey('auditor');
  // Behind a proxy on this host: X-Forwarded-Proto says whether the browser used TLS.
  proxied = await createTestApp({ TRUST_PROXY: 'loopback', REFUSALS_PER_MINUTE_PER_ADDRESS: '3' });
});
afterAll(async () => {
  await proxied?.close();
  await t?.close();
});

interface SignedIn {
  /** `name=value`, as a browser sends it back. */
  cookie: string;
  setCookie: string;
  csrfToken: string;
  body: Record<string, unknown>;
  text: string;
}

async function signIn(app: TestApp = t, key = auditor.apiKey): Promise<SignedIn> {
  const response = await app.http().post('/console/session').set(auth(key)).expect(201);
  const setCookie = ([] as string[]).concat(response.headers['set-cookie'] ?? [])[0]!;
  return {
    cookie: setCookie.split(';')[0]!,
    setCookie,
    csrfToken: response.body.csrfToken,
    body: response.body,
    text: JSON.stringify(response.headers) + response.text,
  };
}

const listWith = (cookie: string) =>
  t.http().get('/v1/audit-events').query({ limit: 1 }).set('Cookie', cookie);

const searchWith = (session: SignedIn, csrfToken?: string) => {
  const request = t.http().post('/v1/audit-events/search').set('Cookie', session.cookie);
  return (csrfToken === undefined ? request : request.set('X-CSRF-Token', csrfToken)).send({
    idNumber: idNumberFor(),
  });
};

describe('POST /console/session', () => {
  it('when an auditor signs in, then an HttpOnly SameSite=Strict cookie with an expiry, a CSRF token, and the key nowhere in the answer', async () => {
    const session = await signIn();
    expect(session.setCookie).toMatch(/^console_session=[A-Za-z0-9_-]{43};/);
    const attributes = session.setCookie.split(';').map((part) => part.trim());
    expect(attributes).toEqual(
      expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${MAX_MS / 1000}`]),
    );
    expect(attributes.some((part) => part.startsWith('Expires='))).toBe(true);
    // Plain HTTP: no Secure (the browser would drop the cookie).
    expect(attributes).not.toContain('Secure');
    expect(session.body).toEqual({
      clientId: auditor.id,
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      idleExpiresAt: expect.any(String),
      expiresAt: expect.any(String),
    });
    expect(Date.parse(session.body.expiresAt as string) - Date.now()).toBeLessThanOrEqual(MAX_MS);
    expect(session.text).not.toContain(auditor.apiKey);
  });

  it('when stored, then the session holds neither its id, nor its CSRF token, nor the key in clear', async () => {
    const session = await signIn();
    const stored = await t.connection.collection('console_sessions').find().toArray();
    expect(stored.length).toBeGreaterThan(0);
    const dump = JSON.stringify(stored);
    expect(dump).not.toContain(session.cookie.split('=')[1]);
    expect(dump).not.toContain(session.csrfToken);
    expect(dump).not.toContain(auditor.apiKey);
    expect(stored[0]).toMatchObject({ clientId: expect.any(String) });
  });

  it('when a non-auditor key or a wrong key signs in, then 403 or 401 like the API, each a DENIED event on the route', async () => {
    const checkout = await t.clientKey('checkout');
    const refused = await t.http().post('/console/session').set(auth(checkout.apiKey)).expect(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect(refused.headers['set-cookie']).toBeUndefined();
    const unknown = await t
      .http()
      .post('/console/session')
      .set(auth('k'.repeat(40)))
      .expect(401);
    expect(unknown.body.error.code).toBe('UNAUTHENTICATED');
    await t.http().post('/console/session').expect(401);

    const denied = await t
      .http()
      .get('/v1/audit-events')
      .query({ outcome: 'DENIED', limit: 500 })
      .set(auth(auditor.apiKey))
      .expect(200);
    const onSignIn = denied.body.items.filter(
      (event: { resource: { route: string } }) => event.resource.route === '/console/session',
    );
    expect(onSignIn.map((event: { actor: { clientId: string } | null }) => event.actor)).toEqual(
      expect.arrayContaining([expect.objectContaining({ clientId: checkout.id }), null]),
    );
    expect(onSignIn.every((event: { action: string }) => event.action === 'audit.read')).toBe(true);
  });
});

describe('the session cookie on the API', () => {
  it('when the cookie is sent on a console GET route, then it answers as the auditor, and the read is logged with the auditor as actor', async () => {
    const session = await signIn();
    const response = await listWith(session.cookie).expect(200);
    expect(response.body.items).toHaveLength(1);
    const reads = await t
      .http()
      .get('/v1/audit-events')
      .query({ actorId: auditor.id, action: 'audit.read', limit: 500 })
      .set(auth(auditor.apiKey))
      .expect(200);
    expect(reads.body.items.length).toBeGreaterThan(0);
  });

  it('when a state change comes with the cookie but without or with a wrong CSRF token, then 403 and nothing done; with it, done', async () => {
    const session = await signIn();
    const missing = await searchWith(session).expect(403);
    expect(missing.body.error).toMatchObject({
      code: 'CSRF_TOKEN_INVALID',
      details: [
        { path: 'header.x-csrf-token', message: 'is missing or does not match the session' },
      ],
    });
    const other = await signIn();
    await searchWith(session, other.csrfToken).expect(403);
    await searchWith(session, 'x'.repeat(43)).expect(403);
    await listWith(session.cookie).expect(200);

    const done = await searchWith(session, session.csrfToken).expect(200);
    expect(done.body).toEqual({ items: [], next: null });
  });

  it('when the cookie is sent to a route the console does not use, then it is not a credential', async () => {
    const session = await signIn();
    await t.http().get('/v1/identities/abc').set('Cookie', session.cookie).expect(401);
    await t.http().post('/v1/clients').set('Cookie', session.cookie).send({}).expect(401);
    // Sign-in itself takes only the key.
    await t.http().post('/console/session').set('Cookie', session.cookie).expect(401);
  });

  it('when a cookie names no session, then 401', async () => {
    await listWith(`console_session=${'A'.repeat(43)}`).expect(401);
    await listWith('console_session=not-a-session-id').expect(401);
  });
});

describe('expiry, sign-out and revocation', () => {
  afterEach(() => {
    offsetMs = 0;
  });

  it('when a session is left unused longer than CONSOLE_SESSION_IDLE_MS, then 401', async () => {
    const session = await signIn();
    offsetMs = IDLE_MS - 5_000;
    await listWith(session.cookie).expect(200);
    // The use above moved the idle end on by a minute from then.
    offsetMs = 2 * IDLE_MS - 10_000;
    await listWith(session.cookie).expect(200);
    offsetMs = 3 * IDLE_MS;
    await listWith(session.cookie).expect(401);
  });

  it('when the only requests after sign-in are refused for want of the CSRF token, then they do not keep the session alive', async () => {
    const session = await signIn();
    offsetMs = IDLE_MS - 5_000;
    await searchWith(session).expect(403);
    offsetMs = IDLE_MS + 5_000;
    await listWith(session.cookie).expect(401);
  });

  it('when the page has lost its CSRF token (a reload), then it can still sign out, and the cookie ends', async () => {
    const session = await signIn();
    await t.http().delete('/console/session').set('Cookie', session.cookie).expect(204);
    await listWith(session.cookie).expect(401);
  });

  it('when the cookie comes twice, or its name with a no-break space, then it is no session', async () => {
    const session = await signIn();
    const value = session.cookie.split('=')[1]!;
    await listWith(`console_session=${value}; console_session=${value}`).expect(401);
    await listWith(`\u00a0console_session=${value}`).expect(401);
    await listWith(`console_session=${value}\u00a0`).expect(401);
    await listWith(` console_session=${value}\t`).expect(200);
  });

  it('when CONSOLE_SESSION_MAX_MS has passed since sign-in, then 401 however often it was used', async () => {
    const session = await signIn();
    for (let minute = 0.9; minute * 60_000 < MAX_MS; minute += 0.9) {
      offsetMs = Math.round(minute * 60_000);
      await listWith(session.cookie).expect(200);
    }
    offsetMs = MAX_MS;
    await listWith(session.cookie).expect(401);
  });

  it('when the auditor signs in and out, then the cookie is cleared, no longer works, and both are access-log events', async () => {
    const other = await t.clientKey('auditor');
    const session = await signIn(t, other.apiKey);
    const response = await t
      .http()
      .delete('/console/session')
      .set('Cookie', session.cookie)
      .set('X-CSRF-Token', session.csrfToken)
      .expect(204);
    const cleared = ([] as string[]).concat(response.headers['set-cookie'] ?? [])[0]!;
    expect(cleared).toMatch(/^console_session=;/);
    expect(cleared).toContain('Expires=Thu, 01 Jan 1970');
    await listWith(session.cookie).expect(401);
    await searchWith(session, session.csrfToken).expect(401);

    const events = await t
      .http()
      .get('/v1/audit-events')
      .query({ actorId: other.id, limit: 500 })
      .set(auth(auditor.apiKey))
      .expect(200);
    const actions = events.body.items.map((event: { action: string }) => event.action);
    expect(actions.filter((action: string) => action.startsWith('console.'))).toEqual([
      'console.sign-in',
      'console.sign-out',
    ]);
  });

  it("when the auditor's client is revoked, then its sessions stop working", async () => {
    const other = await t.clientKey('auditor');
    const session = await signIn(t, other.apiKey);
    await listWith(session.cookie).expect(200);
    await t.http().delete(`/v1/clients/${other.id}`).set(auth(ADMIN_KEY)).expect(204);
    const refused = await listWith(session.cookie).expect(401);
    expect(refused.body.error.code).toBe('UNAUTHENTICATED');
  });
});

describe('behind a proxy (TRUST_PROXY)', () => {
  it('when the browser used TLS (X-Forwarded-Proto: https), then the cookie is Secure and __Host- prefixed; over plain HTTP it is not', async () => {
    const key = (await proxied.clientKey('auditor')).apiKey;
    const tls = await proxied
      .http()
      .post('/console/session')
      .set(auth(key))
      .set('X-Forwarded-Proto', 'https')
      .expect(201);
    const secureCookie = ([] as string[]).concat(tls.headers['set-cookie'] ?? [])[0]!;
    expect(secureCookie).toMatch(/^__Host-console_session=[A-Za-z0-9_-]{43};/);
    expect(secureCookie.split(';').map((part) => part.trim())).toContain('Secure');
    await proxied
      .http()
      .get('/v1/audit-events')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', secureCookie.split(';')[0]!)
      .expect(200);

    const plain = await signIn(proxied, key);
    expect(plain.setCookie.split(';').map((part) => part.trim())).not.toContain('Secure');
  });

  it('when the proxy is not trusted (the default), then X-Forwarded-Proto does not make the cookie Secure', async () => {
    const response = await t
      .http()
      .post('/console/session')
      .set(auth(auditor.apiKey))
      .set('X-Forwarded-Proto', 'https')
      .expect(201);
    expect(String(response.headers['set-cookie'])).not.toContain('Secure');
  });

  it('when wrong keys keep signing in from one address, then the refusal limit answers 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await proxied
        .http()
        .post('/console/session')
        .set('X-Forwarded-For', '203.0.113.7')
        .set(auth(`wrong-key-${i}-${'k'.repeat(30)}`));
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429]);
  });
});

describe('configuration', () => {
  it('when TRUST_PROXY or the session lengths are out of range, then the start fails naming the variable', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).toThrow(
      'invalid configuration: TRUST_PROXY has an invalid value',
    );
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
    expect(() =>
      loadConfig({ CONSOLE_SESSION_IDLE_MS: '600000', CONSOLE_SESSION_MAX_MS: '300000' }),
    ).toThrow(/CONSOLE_SESSION_MAX_MS/);
    expect(() => loadConfig({ CONSOLE_SESSION_IDLE_MS: '1000' })).toThrow(
      /CONSOLE_SESSION_IDLE_MS/,
    );
    const config = loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' });
    expect(config.trustProxy).toEqual(['loopback', '10.0.0.0/8']);
    expect(loadConfig({}).consoleSession).toEqual({ idleMs: 1_800_000, maxMs: 28_800_000 });
    expect(loadConfig({}).trustProxy).toBe(false);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
