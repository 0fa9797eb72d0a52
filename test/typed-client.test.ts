import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createCustomsIdentityClient,
  CustomsIdentityApiError,
  SignatureVerificationError,
  unwrap,
  type CustomsIdentityClient,
  type Declaration,
  type Shipment,
  type VerifyOrderRequest,
} from '../clients/typescript/src';
import { orderBody, registerBuyer } from './helpers/checkout-fixtures';
import {
  carrierKey,
  confirmedOrder,
  openssl,
  partnerKeyPair,
  scratchDir,
  verifyDetached,
} from './helpers/disclosure-fixtures';
import { randomPerson, registration } from './helpers/identity-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

let t: TestApp;
let server: Server;
let baseUrl: string;
let checkoutKey: string;
let brokerKey: string;

function listen(app: TestApp['app']): Promise<Server> {
  return new Promise((resolve, reject) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    listening.once('error', reject);
  });
}

beforeAll(async () => {
  t = await createTestApp();
  server = await listen(t.app);
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  checkoutKey = (await t.clientKey('checkout')).apiKey;
  brokerKey = (await t.clientKey('customs', 'BROKER1')).apiKey;
});
afterAll(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await t.close();
});

type Fetch = (request: Request) => Promise<Response>;

/** A transport between the client and the real server that sees (and may spoil) each exchange. */
function transport(
  spoil: (request: Request, forward: Fetch) => Promise<Response> = (r, f) => f(r),
) {
  const calls: string[] = [];
  const fetchThrough: Fetch = async (request) => {
    calls.push(`${request.method} ${new URL(request.url).pathname}`);
    return spoil(request, (r) => fetch(r));
  };
  return { calls, fetch: fetchThrough };
}

function clientOf(
  apiKey: string,
  options: Partial<Parameters<typeof createCustomsIdentityClient>[0]> = {},
) {
  return createCustomsIdentityClient({ baseUrl, apiKey, ...options });
}

/** A retry policy that records its waits instead of waiting: no test depends on time. */
function recordedWaits() {
  const waits: number[] = [];
  return { waits, retry: { sleep: async (ms: number) => void waits.push(ms) } };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const CLIENT_TYPES_FILE = 'clients/typescript/src/openapi-types.ts';

/** The types openapi-typescript makes of a document, by the generator script itself (run by tsx). */
function generatedTypesOf(document: object): string {
  const dir = scratchDir();
  try {
    writeFileSync(`${dir}/openapi.json`, JSON.stringify(document));
    return execFileSync(
      'node_modules/.bin/tsx',
      ['scripts/client-generate.ts', '--types-of', `${dir}/openapi.json`],
      { encoding: 'utf8', timeout: 60_000 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the generated types', () => {
  it('when the served /openapi.json is generated again, then it equals the committed types', async () => {
    const served = await t.http().get('/openapi.json').expect(200);
    const generated = generatedTypesOf(served.body).split('\n');
    const committed = readFileSync(CLIENT_TYPES_FILE, 'utf8').split('\n');
    const line = generated.findIndex((text, index) => text !== committed[index]);
    if (line >= 0 || generated.length !== committed.length) {
      throw new Error(
        `${CLIENT_TYPES_FILE} does not match GET /openapi.json (from line ${line + 1}: ` +
          `${JSON.stringify(generated[line]?.trim())}): run \`npm run client:generate\` and commit the result`,
      );
    }
  });
});

describe('registering and verifying through the client', () => {
  let checkout: CustomsIdentityClient;
  beforeAll(() => {
    checkout = clientOf(checkoutKey);
  });

  it('when a buyer registers twice, then the second answer is the same masked identity', async () => {
    const person = randomPerson();
    const first = await checkout.registerIdentity(registration(person));
    const again = await checkout.registerIdentity(registration(person));
    expect(first.identityId).toEqual(expect.any(String));
    expect(again.identityId).toBe(first.identityId);
    expect(first.idNumberMasked).toBe(
      `${person.idNumber.slice(0, 3)}${'*'.repeat(11)}${person.idNumber.slice(-4)}`,
    );
    expect(JSON.stringify(first)).not.toContain(person.idNumber);
  });

  it('when the answer to a verify is lost, then the retry with the same orderNo gets the same decision and reserves once', async () => {
    const buyer = await registerBuyer(t, checkoutKey);
    const body = orderBody(buyer) as VerifyOrderRequest;
    let lost = 0;
    const wire = transport(async (request, forward) => {
      const response = await forward(request);
      // The service answered, the answer never arrived: what a dropped connection looks like.
      if (lost++ === 0) throw new TypeError('fetch failed');
      return response;
    });
    const { waits, retry } = recordedWaits();
    const result = await clientOf(checkoutKey, { fetch: wire.fetch, retry }).verifyOrder(body);

    expect(wire.calls).toEqual(['POST /v1/checkout/verify', 'POST /v1/checkout/verify']);
    expect(waits).toHaveLength(1);
    expect(result.decision).toBe('APPROVED');
    const taxable = result.tax!.taxableFen!;
    expect(result.quota!.reservedFen).toBe(taxable);
    const quota = unwrap(
      await checkout.api.GET('/v1/identities/{identityId}/quota', {
        params: { path: { identityId: buyer.identityId } },
      }),
      'GET /v1/identities/{identityId}/quota',
    );
    expect(quota.reservedFen).toBe(taxable);

    // Once more, by hand: the contract's replay answers the same decision, reserving nothing more.
    const replay = await checkout.verifyOrder(body);
    expect(replay).toEqual(result);
  });

  it('when the service is busy (503, then 429 with Retry-After), then verify waits and tries again', async () => {
    const buyer = await registerBuyer(t, checkoutKey);
    let attempt = 0;
    const wire = transport(async (request, forward) => {
      attempt++;
      if (attempt === 1)
        return Response.json({ error: { code: 'SERVICE_UNAVAILABLE' } }, { status: 503 });
      if (attempt === 2) {
        return Response.json(
          { error: { code: 'RATE_LIMITED' } },
          { status: 429, headers: { 'Retry-After': '2' } },
        );
      }
      return forward(request);
    });
    const { waits, retry } = recordedWaits();
    const result = await clientOf(checkoutKey, { fetch: wire.fetch, retry }).verifyOrder(
      orderBody(buyer) as VerifyOrderRequest,
    );
    expect(result.decision).toBe('APPROVED');
    expect(wire.calls).toHaveLength(3);
    expect(waits[1]).toBe(2000);
  });

  it('when another body reuses an orderNo, then the typed error says ORDER_CONFLICT and it is not retried', async () => {
    const buyer = await registerBuyer(t, checkoutKey);
    const body = orderBody(buyer) as VerifyOrderRequest;
    await checkout.verifyOrder(body);
    const wire = transport();
    const { waits, retry } = recordedWaits();
    const error = await rejection(
      clientOf(checkoutKey, { fetch: wire.fetch, retry }).verifyOrder({ ...body, freightFen: 700 }),
    );
    expect(error).toBeInstanceOf(CustomsIdentityApiError);
    expect(error).toMatchObject({
      code: 'ORDER_CONFLICT',
      status: 409,
      requestId: expect.any(String),
    });
    expect(wire.calls).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('when a body is refused, then the error names the fields and its message holds no personal data', async () => {
    const person = randomPerson();
    // A wrong check character (never the right one by chance).
    const wrong = person.idNumber.endsWith('0') ? '1' : '0';
    const bad = { ...registration(person), idNumber: `${person.idNumber.slice(0, 17)}${wrong}` };
    const error = (await rejection(checkout.registerIdentity(bad))) as CustomsIdentityApiError;
    expect(error).toBeInstanceOf(CustomsIdentityApiError);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details.map((d) => d.path)).toContain('idNumber');
    const said = `${error.message} ${error.stack} ${JSON.stringify(error)}`;
    for (const value of [bad.idNumber, person.name, person.phone])
      expect(said).not.toContain(value);
  });

  it('when the key is unknown, then the error is UNAUTHENTICATED with the request id', async () => {
    const error = await rejection(
      clientOf('cik_not-a-key').registerIdentity(registration(randomPerson())),
    );
    expect(error).toMatchObject({
      code: 'UNAUTHENTICATED',
      status: 401,
      requestId: expect.any(String),
    });
  });
});

describe('pulling declarations and shipments through the client', () => {
  let orderNos: string[];
  let broker: CustomsIdentityClient;
  let carrier: CustomsIdentityClient;
  beforeAll(async () => {
    orderNos = [];
    for (let i = 0; i < 3; i++) orderNos.push((await confirmedOrder(t, checkoutKey)).orderNo);
    broker = clientOf(brokerKey);
    carrier = clientOf(await carrierKey(t, 'SF'));
  });

  it('when a broker pages through its declarations, then every page follows `next` and is verified', async () => {
    const pages = await collect(broker.declarationPages({ limit: 2 }));
    expect(pages.map((p) => p.items.length)).toEqual([2, 1]);
    expect(pages[0]!.next).toEqual(expect.any(String));
    expect(pages[1]!.next).toBeNull();
    const declarations: Declaration[] = pages.flatMap((p) => p.items);
    expect(declarations.map((d) => d.orderNo).sort()).toEqual([...orderNos].sort());
    expect(declarations.every((d) => d.buyer?.idNumber?.length === 18)).toBe(true);
    expect((await collect(broker.declarations({ limit: 1 }))).map((d) => d.declarationId)).toEqual(
      declarations.map((d) => d.declarationId),
    );
  });

  it('when a carrier pages through its shipments and acks one, then the signed answers verify', async () => {
    const shipments: Shipment[] = await collect(carrier.shipments({ limit: 2 }));
    expect(shipments.map((s) => s.orderNo).sort()).toEqual([...orderNos].sort());
    const acked = await carrier.ackShipment(shipments[0]!.shipmentId!, { status: 'PICKED_UP' });
    expect(acked).toMatchObject({ shipmentId: shipments[0]!.shipmentId, status: 'PICKED_UP' });
  });

  it('when a broker acks a declaration, then the signed answer verifies', async () => {
    const [first] = await collect(broker.declarations({ limit: 1 }));
    const acked = await broker.ackDeclaration(first!.declarationId!, { status: 'ACCEPTED' });
    expect(acked).toMatchObject({ declarationId: first!.declarationId, returnStatus: '800' });
  });

  it('when the client verifies a signature, then openssl agrees on the same bytes and certificate', async () => {
    const certificate = await broker.signingCertificate();
    const served = await t
      .http()
      .get('/v1/signing-certificate')
      .set('Authorization', `Bearer ${brokerKey}`);
    expect(certificate.fingerprint).toBe(served.headers['x-signing-certificate-sha256']);
    const result = await broker.api.GET('/v1/declarations', {
      params: { query: { limit: 1 } },
      parseAs: 'arrayBuffer',
    });
    const body = new Uint8Array(unwrap(result, 'GET /v1/declarations'));
    await broker.verifySignedResponse(body, result.response.headers);
    const signature = result.response.headers.get('x-signature')!;
    expect(verifyDetached(Buffer.from(body), signature, certificate.pem).status).toBe(0);
  });

  it('when one byte of a signed page is changed on the way, then the client rejects the page', async () => {
    const wire = transport(async (request, forward) => {
      const response = await forward(request);
      if (!request.url.includes('/v1/declarations')) return response;
      const bytes = new Uint8Array(await response.arrayBuffer());
      const at = new TextDecoder().decode(bytes).indexOf('"orderNo":"') + 12;
      bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
      return new Response(bytes, { status: response.status, headers: response.headers });
    });
    const error = await rejection(
      collect(clientOf(brokerKey, { fetch: wire.fetch }).declarations()),
    );
    expect(error).toBeInstanceOf(SignatureVerificationError);
    expect(error).toMatchObject({ reason: 'digest-mismatch' });
  });

  it('when the signature header is dropped or another certificate is pinned, then the client rejects the answer', async () => {
    const unsigned = transport(async (request, forward) => {
      const response = await forward(request);
      const headers = new Headers(response.headers);
      headers.delete('x-signature');
      return new Response(await response.arrayBuffer(), { status: response.status, headers });
    });
    const stripped = clientOf(await carrierKey(t, 'SF'), { fetch: unsigned.fetch });
    expect(await rejection(collect(stripped.shipments()))).toMatchObject({
      reason: 'missing-signature',
    });

    const pinned = clientOf(brokerKey, {
      signingCertificatePem: partnerKeyPair('Not the service').certificatePem,
    });
    expect(await rejection(collect(pinned.declarations()))).toMatchObject({
      name: 'SignatureVerificationError',
      reason: 'certificate-mismatch',
    });
  });

  /** A broker whose transport rewrites the X-Signature header of every signed answer. */
  function brokerWithSignature(rewrite: (signature: string) => string): CustomsIdentityClient {
    const wire = transport(async (request, forward) => {
      const response = await forward(request);
      const headers = new Headers(response.headers);
      const signature = headers.get('x-signature');
      if (signature) headers.set('x-signature', rewrite(signature));
      return new Response(await response.arrayBuffer(), { status: response.status, headers });
    });
    return clientOf(brokerKey, { fetch: wire.fetch });
  }

  it('when the signature header holds random bytes, a truncated signature or no base64, then the client refuses it as malformed-signature', async () => {
    const spoilers: Record<string, (signature: string) => string> = {
      'random bytes': () => randomBytes(400).toString('base64'),
      'truncated DER': (signature) => signature.slice(0, 200),
      'truncated base64': (signature) => signature.slice(0, -3),
      'not base64': () => 'not a signature!',
    };
    const reasons: Record<string, unknown> = {};
    for (const [name, rewrite] of Object.entries(spoilers)) {
      const error = await rejection(collect(brokerWithSignature(rewrite).declarations()));
      reasons[name] = error instanceof SignatureVerificationError ? error.reason : error;
    }
    expect(reasons).toEqual({
      'random bytes': 'malformed-signature',
      'truncated DER': 'malformed-signature',
      'truncated base64': 'malformed-signature',
      'not base64': 'malformed-signature',
    });
  });

  it('when the RSA signature value is altered, then the client rejects the answer as bad-signature', async () => {
    const altered = brokerWithSignature((signature) => {
      const der = Buffer.from(signature, 'base64');
      // The SignerInfo ends with the signature value: its last byte is the signature's.
      der[der.length - 1] ^= 0x01;
      return der.toString('base64');
    });
    expect(await rejection(collect(altered.declarations()))).toMatchObject({
      name: 'SignatureVerificationError',
      reason: 'bad-signature',
    });
  });
});

describe('pulling from a service on the gm profile (SM2 signatures)', () => {
  /** The same database as `t`, restarted under gm: a rolling restart of one instance. */
  let gm: TestApp;
  let gmServer: Server;
  let gmUrl: string;
  beforeAll(async () => {
    gm = await createTestApp({ DB_NAME: t.connection.name, CRYPTO_PROFILE: 'gm' });
    gmServer = await listen(gm.app);
    gmUrl = `http://127.0.0.1:${(gmServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    gmServer.closeAllConnections();
    await new Promise<void>((resolve) => gmServer.close(() => resolve()));
    await gm.stop();
    await gm.connection.close();
  });

  const gmBroker = (options: Partial<Parameters<typeof createCustomsIdentityClient>[0]> = {}) =>
    createCustomsIdentityClient({ baseUrl: gmUrl, apiKey: brokerKey, ...options });

  it('when a broker pages through its declarations, then each page is verified with the SM2 key the service serves, and openssl agrees', async () => {
    const broker = gmBroker();
    const declarations = await collect(broker.declarations({ limit: 2 }));
    expect(declarations.length).toBeGreaterThanOrEqual(3);
    const key = await broker.signingCertificate();
    expect(key.kind).toBe('sm2-public-key');

    const result = await broker.api.GET('/v1/declarations', {
      params: { query: { limit: 1 } },
      parseAs: 'arrayBuffer',
    });
    expect(result.response.headers.get('x-signature-scheme')).toBe('sm2-sm3-detached');
    expect(result.response.headers.get('x-signing-certificate-sha256')).toBe(key.fingerprint);
    const body = Buffer.from(unwrap(result, 'GET /v1/declarations'));
    await broker.verifySignedResponse(new Uint8Array(body), result.response.headers);
    const dir = scratchDir();
    try {
      writeFileSync(`${dir}/key.pem`, key.pem);
      writeFileSync(`${dir}/body.bin`, body);
      writeFileSync(
        `${dir}/sig.der`,
        Buffer.from(result.response.headers.get('x-signature')!, 'base64'),
      );
      const args = ['pkeyutl', '-verify', '-rawin', '-digest', 'sm3'];
      const verified = openssl(
        [...args, '-pkeyopt', 'distid:1234567812345678', '-pubin', '-inkey', 'key.pem'].concat([
          '-in',
          'body.bin',
          '-sigfile',
          'sig.der',
        ]),
        dir,
      );
      expect(verified.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when one byte of a page or of the SM2 signature is changed on the way, then the client rejects it as bad-signature', async () => {
    const spoiled = (spoil: (body: Uint8Array, headers: Headers) => void) =>
      gmBroker({
        fetch: transport(async (request, forward) => {
          const response = await forward(request);
          if (!request.url.includes('/v1/declarations')) return response;
          const body = new Uint8Array(await response.arrayBuffer());
          const headers = new Headers(response.headers);
          spoil(body, headers);
          return new Response(body, { status: response.status, headers });
        }).fetch,
      });
    const body = spoiled((bytes) => {
      const at = new TextDecoder().decode(bytes).indexOf('"orderNo":"') + 12;
      bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
    });
    const signature = spoiled((_bytes, headers) => {
      const der = Buffer.from(headers.get('x-signature')!, 'base64');
      der[der.length - 1] ^= 0x01;
      headers.set('x-signature', der.toString('base64'));
    });
    for (const client of [body, signature]) {
      expect(await rejection(collect(client.declarations()))).toMatchObject({
        name: 'SignatureVerificationError',
        reason: 'bad-signature',
      });
    }
  });

  it('when the client pinned the intl certificate, then an SM2-signed answer is refused as certificate-mismatch', async () => {
    const intlCertificate = await clientOf(brokerKey).signingCertificate();
    const pinned = gmBroker({ signingCertificatePem: intlCertificate.pem });
    expect(await rejection(collect(pinned.declarations()))).toMatchObject({
      reason: 'certificate-mismatch',
    });
  });

  it('when the service moves from intl to gm between two pulls, then an unpinned client fetches the SM2 key once and goes on', async () => {
    let moved = false;
    const wire = transport(async (request, forward) => {
      const target = moved ? gmUrl : baseUrl;
      const url = new URL(request.url);
      return forward(new Request(`${target}${url.pathname}${url.search}`, request));
    });
    const broker = clientOf(brokerKey, { fetch: wire.fetch });
    expect((await collect(broker.declarations({ limit: 1 }))).length).toBeGreaterThan(0);
    expect((await broker.signingCertificate()).kind).toBe('x509');
    moved = true;
    expect((await collect(broker.declarations({ limit: 1 }))).length).toBeGreaterThan(0);
    expect((await broker.signingCertificate()).kind).toBe('sm2-public-key');
    expect(wire.calls.filter((call) => call.endsWith('/v1/signing-certificate'))).toHaveLength(2);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
