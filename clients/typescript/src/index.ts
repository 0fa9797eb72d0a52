/**
 * A typed client of the customs identity service, for integrators (checkout,
 * customs brokers, carriers, the security team). Its types are generated from
 * the service's GET /openapi.json (`npm run client:generate`); calls go through
 * openapi-fetch. See clients/typescript/README.md.
 */
import createClient, { type Client } from 'openapi-fetch';
import { apiErrorOf, SignatureVerificationError } from './errors';
import type { paths } from './openapi-types';
import { withRetries, type RetryOptions } from './retry';
import {
  isKnownScheme,
  signatureFailure,
  signingCertificateOf,
  type SigningCertificate,
} from './signature';

export { CustomsIdentityApiError, SignatureVerificationError, type ApiErrorDetail } from './errors';
export type { paths, components } from './openapi-types';
export type { RetryOptions } from './retry';
export {
  SIGNATURE_SCHEME,
  signatureFailure,
  signingCertificateOf,
  type SignatureFailure,
  type SigningCertificate,
  type X509SigningCertificate,
} from './signature';
export { SM2_SIGNATURE_SCHEME, type Sm2SigningKey } from './sm2-signature';

/** The JSON request body of an operation. */
type JsonBody<Op> = Op extends { requestBody?: { content: { 'application/json': infer B } } }
  ? B
  : never;
/** The JSON body of one of an operation's responses. */
type JsonResponse<Op, Status extends number> = Op extends {
  responses: { [S in Status]: { content: { 'application/json': infer R } } };
}
  ? R
  : never;
type QueryOf<Op> = Op extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

type Operations = {
  register: paths['/v1/identities']['post'];
  verify: paths['/v1/checkout/verify']['post'];
  confirm: paths['/v1/orders/{orderNo}/confirm']['post'];
  declarations: paths['/v1/declarations']['get'];
  declarationAck: paths['/v1/declarations/{declarationId}/ack']['post'];
  shipments: paths['/v1/shipments']['get'];
  shipmentAck: paths['/v1/shipments/{shipmentId}/ack']['post'];
};

export type IdentityRegistration = JsonBody<Operations['register']>;
export type IdentityView = JsonResponse<Operations['register'], 201>;
export type VerifyOrderRequest = JsonBody<Operations['verify']>;
export type VerifyOrderResult = JsonResponse<Operations['verify'], 200>;
export type ConfirmOrderRequest = JsonBody<Operations['confirm']>;
export type OrderStatusView = JsonResponse<Operations['confirm'], 200>;
export type DeclarationPage = JsonResponse<Operations['declarations'], 200>;
export type Declaration = NonNullable<DeclarationPage['items']>[number];
export type DeclarationQuery = Omit<QueryOf<Operations['declarations']>, 'after'>;
export type DeclarationAck = JsonBody<Operations['declarationAck']>;
export type DeclarationAckView = JsonResponse<Operations['declarationAck'], 200>;
export type ShipmentPage = JsonResponse<Operations['shipments'], 200>;
export type Shipment = NonNullable<ShipmentPage['items']>[number];
export type ShipmentQuery = Omit<QueryOf<Operations['shipments']>, 'after'>;
export type ShipmentAck = JsonBody<Operations['shipmentAck']>;
export type ShipmentAckView = JsonResponse<Operations['shipmentAck'], 200>;

export interface CustomsIdentityClientOptions {
  /** Where the service answers, e.g. `http://localhost:8080`. */
  baseUrl: string;
  /** This client's API key (`cik_…`), sent as `Authorization: Bearer`. */
  apiKey: string;
  /** Replaces `globalThis.fetch` (a proxy agent, instrumentation, tests). */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * The service's signing certificate (PEM), checked out of band and pinned.
   * Without it the client fetches GET /v1/signing-certificate once and trusts
   * what it gets (trust on first use), and again when the service announces
   * another certificate (a key rotation).
   */
  signingCertificatePem?: string;
  /** How verifyOrder retries (default: 4 retries, 200 ms doubling, at most 10 s). */
  retry?: RetryOptions;
}

/** One page of a signed list, after its signature verified. */
export interface SignedPage<Item> {
  items: Item[];
  /** The cursor of the next page (`after`), null on the last. */
  next: string | null;
}

export interface CustomsIdentityClient {
  /**
   * The typed openapi-fetch client for every route: `api.GET('/v1/identities/{identityId}',
   * { params: { path: { identityId } } })` resolves to `{ data, error, response }`. Errors are
   * returned, not thrown: pass the result to `unwrap`.
   */
  readonly api: Client<paths>;
  /** POST /v1/identities: a new identity (201) or the one this user registered before (200). */
  registerIdentity(body: IdentityRegistration): Promise<IdentityView>;
  /**
   * POST /v1/checkout/verify, retried on network errors, 5xx and 429 with the same
   * body: the service is idempotent on `orderNo` (the same body again gets the same
   * decision and reserves nothing more), so a retry after a lost answer is safe. A
   * different body under a used `orderNo` is a CustomsIdentityApiError `ORDER_CONFLICT`.
   */
  verifyOrder(body: VerifyOrderRequest, retry?: RetryOptions): Promise<VerifyOrderResult>;
  /** POST /v1/orders/{orderNo}/confirm: payment done. */
  confirmOrder(orderNo: string, body?: ConfirmOrderRequest): Promise<OrderStatusView>;
  /** GET /v1/declarations page by page, following `next`; each page's signature verified. */
  declarationPages(query?: DeclarationQuery): AsyncGenerator<SignedPage<Declaration>>;
  /** Every declaration of every page (signatures verified), in the service's order. */
  declarations(query?: DeclarationQuery): AsyncGenerator<Declaration>;
  /** POST /v1/declarations/{declarationId}/ack (signed answer, verified). */
  ackDeclaration(declarationId: string, body: DeclarationAck): Promise<DeclarationAckView>;
  /** GET /v1/shipments page by page, following `next`; each page's signature verified. */
  shipmentPages(query?: ShipmentQuery): AsyncGenerator<SignedPage<Shipment>>;
  /** Every shipment of every page (signatures verified). */
  shipments(query?: ShipmentQuery): AsyncGenerator<Shipment>;
  /** POST /v1/shipments/{shipmentId}/ack (signed answer, verified). */
  ackShipment(shipmentId: string, body: ShipmentAck): Promise<ShipmentAckView>;
  /** The certificate signed answers are verified with (pinned, or fetched once). */
  signingCertificate(): Promise<SigningCertificate>;
  /**
   * Verifies a signed answer's exact body bytes against its headers (`X-Signature`, …);
   * throws SignatureVerificationError when they do not match.
   */
  verifySignedResponse(body: Uint8Array, headers: Headers, operation?: string): Promise<void>;
}

/** An openapi-fetch result as the caller wants it: the data, or a thrown typed error. */
export function unwrap<T>(
  result: { data?: T; error?: unknown; response: Response },
  operation: string,
): T {
  if (!result.response.ok) throw apiErrorOf(operation, result.response, result.error);
  return result.data as T;
}

type RawResult = { data?: ArrayBuffer; error?: unknown; response: Response };

export function createCustomsIdentityClient(
  options: CustomsIdentityClientOptions,
): CustomsIdentityClient {
  const api = createClient<paths>({
    baseUrl: options.baseUrl,
    headers: { Authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const pinned = options.signingCertificatePem
    ? signingCertificateOf(options.signingCertificatePem)
    : null;
  let fetched: Promise<SigningCertificate> | null = null;

  async function fetchCertificate(): Promise<SigningCertificate> {
    const result = await api.GET('/v1/signing-certificate', { parseAs: 'text' });
    return signingCertificateOf(unwrap(result, 'GET /v1/signing-certificate'));
  }

  function signingCertificate(): Promise<SigningCertificate> {
    if (pinned) return Promise.resolve(pinned);
    fetched ??= fetchCertificate().catch((error: unknown) => {
      fetched = null;
      throw error;
    });
    return fetched;
  }

  async function verifySignedResponse(
    body: Uint8Array,
    headers: Headers,
    operation = 'signed response',
  ): Promise<void> {
    // Before the certificate is fetched: nothing to ask the service for an answer it cannot verify.
    if (!headers.get('x-signature')) {
      throw new SignatureVerificationError('missing-signature', operation);
    }
    if (!isKnownScheme(headers.get('x-signature-scheme'))) {
      throw new SignatureVerificationError('unknown-scheme', operation);
    }
    let failure = signatureFailure(body, headers, await signingCertificate());
    if (failure === 'certificate-mismatch' && !pinned) {
      // The service may have rotated its key: ask once more which certificate it signs with.
      fetched = null;
      failure = signatureFailure(body, headers, await signingCertificate());
    }
    if (failure) throw new SignatureVerificationError(failure, operation);
  }

  /** A signed JSON answer: verified over its exact bytes, then parsed. */
  async function signedJson<T>(operation: string, result: RawResult): Promise<T> {
    const bytes = new Uint8Array(unwrap(result, operation));
    await verifySignedResponse(bytes, result.response.headers, operation);
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  }

  async function* pagesOf<Item>(
    operation: string,
    pull: (after: string | undefined) => Promise<RawResult>,
  ): AsyncGenerator<SignedPage<Item>> {
    let after: string | undefined;
    do {
      const page = await signedJson<{ items?: Item[]; next?: string | null }>(
        operation,
        await pull(after),
      );
      const next = page.next ?? null;
      yield { items: page.items ?? [], next };
      after = next ?? undefined;
    } while (after);
  }

  async function* itemsOf<Item>(pages: AsyncGenerator<SignedPage<Item>>): AsyncGenerator<Item> {
    for await (const page of pages) yield* page.items;
  }

  const client: CustomsIdentityClient = {
    api,
    async registerIdentity(body) {
      return unwrap(await api.POST('/v1/identities', { body }), 'POST /v1/identities');
    },
    async verifyOrder(body, retry) {
      const result = await withRetries(() => api.POST('/v1/checkout/verify', { body }), {
        ...options.retry,
        ...retry,
      });
      return unwrap(result, 'POST /v1/checkout/verify');
    },
    async confirmOrder(orderNo, body) {
      const result = await api.POST('/v1/orders/{orderNo}/confirm', {
        params: { path: { orderNo } },
        ...(body ? { body } : {}),
      });
      return unwrap(result, 'POST /v1/orders/{orderNo}/confirm');
    },
    declarationPages(query = {}) {
      return pagesOf<Declaration>('GET /v1/declarations', (after) =>
        api.GET('/v1/declarations', {
          params: { query: { ...query, ...(after ? { after } : {}) } },
          parseAs: 'arrayBuffer',
        }),
      );
    },
    declarations(query) {
      return itemsOf(client.declarationPages(query));
    },
    async ackDeclaration(declarationId, body) {
      const operation = 'POST /v1/declarations/{declarationId}/ack';
      const result = await api.POST('/v1/declarations/{declarationId}/ack', {
        params: { path: { declarationId } },
        body,
        parseAs: 'arrayBuffer',
      });
      return signedJson<DeclarationAckView>(operation, result);
    },
    shipmentPages(query = {}) {
      return pagesOf<Shipment>('GET /v1/shipments', (after) =>
        api.GET('/v1/shipments', {
          params: { query: { ...query, ...(after ? { after } : {}) } },
          parseAs: 'arrayBuffer',
        }),
      );
    },
    shipments(query) {
      return itemsOf(client.shipmentPages(query));
    },
    async ackShipment(shipmentId, body) {
      const operation = 'POST /v1/shipments/{shipmentId}/ack';
      const result = await api.POST('/v1/shipments/{shipmentId}/ack', {
        params: { path: { shipmentId } },
        body,
        parseAs: 'arrayBuffer',
      });
      return signedJson<ShipmentAckView>(operation, result);
    },
    signingCertificate,
    verifySignedResponse,
  };
  return client;
}
