import {
  createCustomsIdentityClient,
  CustomsIdentityApiError,
  unwrap,
  type CustomsIdentityClient,
  type DeclarationAck,
  type IdentityRegistration,
  type ShipmentAck,
  type VerifyOrderRequest,
} from '../clients/typescript/src';

/**
 * The calls the demo makes, as an integrator would: over HTTP, one API key
 * per client, through the typed client of clients/typescript/ (partner
 * answers signature-verified). A small interface of the demo's own, so the
 * seeding reads as the story it tells and does not follow the client's
 * every signature.
 */

export interface ClientCreated {
  id: string;
  apiKey: string;
}

export interface VerifyAnswer {
  decision: 'APPROVED' | 'REJECTED';
  reasons: { code: string }[];
  quota: { year: number; usedFen: number; reservedFen: number; remainingFen: number } | null;
}

export interface QuotaAnswer {
  year: number;
  limitFen: number;
  usedFen: number;
  reservedFen: number;
  remainingFen: number;
}

export interface PartnerRecord {
  id: string;
  orderNo: string;
  status: string;
}

export interface AlertAnswer {
  alertId: string;
  rule: string;
  actor: string;
  count: number;
  status: string;
}

export interface DemoApi {
  createClient(body: Record<string, string>): Promise<ClientCreated>;
  revokeClient(clientId: string): Promise<void>;
  productExists(sku: string): Promise<boolean>;
  putProduct(sku: string, body: Record<string, string>): Promise<void>;
  registerIdentity(body: Record<string, unknown>): Promise<{ identityId: string; status: string }>;
  readIdentity(identityId: string): Promise<void>;
  verify(body: Record<string, unknown>): Promise<VerifyAnswer>;
  confirm(orderNo: string): Promise<{ status: string }>;
  returnItems(
    orderNo: string,
    items: { sku: string; qty: number }[],
  ): Promise<{ status: string; restoredFen: number }>;
  quota(identityId: string): Promise<QuotaAnswer>;
  /** Every page of the carrier's shipments (optionally of one status). */
  shipments(status?: string): Promise<PartnerRecord[]>;
  ackShipment(shipmentId: string, body: Record<string, string>): Promise<{ status: string }>;
  /** Every page of the broker's declarations (optionally of one status). */
  declarations(status?: string): Promise<PartnerRecord[]>;
  /** The signed CEB621 inventory of a declaration. */
  declarationXml(declarationId: string): Promise<string>;
  ackDeclaration(declarationId: string, body: Record<string, string>): Promise<{ status: string }>;
  alerts(): Promise<AlertAnswer[]>;
}

/** The API as one client (one key) sees it. */
export type DemoApiFor = (apiKey: string) => DemoApi;

/** A refused call: the status and the error code the service answered (never a value). */
export class DemoApiError extends Error {
  constructor(
    readonly call: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(`${call} answered ${status}${code ? ` ${code}` : ''}`);
  }
}

/** Runs a call, turning the typed client's error into the demo's (status and code only). */
async function refused<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CustomsIdentityApiError) {
      throw new DemoApiError(error.operation, error.status, error.code);
    }
    throw error;
  }
}

async function collect<T>(items: AsyncGenerator<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

const record = (
  id: string | undefined,
  orderNo: string | undefined,
  status: string | undefined,
) => ({
  id: String(id),
  orderNo: String(orderNo),
  status: String(status),
});

/** The demo's calls through the typed client, against a running service at `baseUrl`. */
export function typedDemoApi(baseUrl: string): DemoApiFor {
  return (apiKey) => {
    const client: CustomsIdentityClient = createCustomsIdentityClient({ baseUrl, apiKey });
    const { api } = client;
    return {
      createClient: (body) =>
        refused(async () => {
          const operation = 'POST /v1/clients';
          const created = unwrap(await api.POST('/v1/clients', { body: body as never }), operation);
          return { id: String(created.id), apiKey: String(created.apiKey) };
        }),
      revokeClient: (clientId) =>
        refused(async () => {
          const result = await api.DELETE('/v1/clients/{clientId}', {
            params: { path: { clientId } },
          });
          unwrap(result, 'DELETE /v1/clients/{clientId}');
        }),
      productExists: async (sku) => {
        try {
          await refused(async () =>
            unwrap(
              await api.GET('/v1/products/{sku}', { params: { path: { sku } } }),
              'GET /v1/products/{sku}',
            ),
          );
          return true;
        } catch (error) {
          if (error instanceof DemoApiError && error.status === 404) return false;
          throw error;
        }
      },
      putProduct: (sku, body) =>
        refused(async () => {
          const result = await api.PUT('/v1/products/{sku}', {
            params: { path: { sku } },
            body: body as never,
          });
          unwrap(result, 'PUT /v1/products/{sku}');
        }),
      registerIdentity: (body) =>
        refused(async () => {
          const view = await client.registerIdentity(body as IdentityRegistration);
          return { identityId: String(view.identityId), status: String(view.status) };
        }),
      readIdentity: (identityId) =>
        refused(async () => {
          const result = await api.GET('/v1/identities/{identityId}', {
            params: { path: { identityId } },
          });
          unwrap(result, 'GET /v1/identities/{identityId}');
        }),
      verify: (body) =>
        refused(async () => {
          const answer = await client.verifyOrder(body as VerifyOrderRequest);
          return answer as VerifyAnswer;
        }),
      confirm: (orderNo) =>
        refused(async () => {
          const answer = await client.confirmOrder(orderNo);
          return { status: String(answer.status) };
        }),
      returnItems: (orderNo, items) =>
        refused(async () => {
          const result = await api.POST('/v1/orders/{orderNo}/return', {
            params: { path: { orderNo } },
            body: { items },
          });
          const answer = unwrap(result, 'POST /v1/orders/{orderNo}/return');
          return { status: String(answer.status), restoredFen: Number(answer.restoredFen) };
        }),
      quota: (identityId) =>
        refused(async () => {
          const result = await api.GET('/v1/identities/{identityId}/quota', {
            params: { path: { identityId } },
          });
          return unwrap(result, 'GET /v1/identities/{identityId}/quota') as QuotaAnswer;
        }),
      shipments: (status) =>
        refused(async () => {
          const query = status ? { status: status as never } : {};
          const items = await collect(client.shipments(query));
          return items.map((item) => record(item.shipmentId, item.orderNo, item.status));
        }),
      ackShipment: (shipmentId, body) =>
        refused(async () => {
          const answer = await client.ackShipment(shipmentId, body as ShipmentAck);
          return { status: String(answer.status) };
        }),
      declarations: (status) =>
        refused(async () => {
          const query = status ? { status: status as never } : {};
          const items = await collect(client.declarations(query));
          return items.map((item) => record(item.declarationId, item.orderNo, item.status));
        }),
      declarationXml: (declarationId) =>
        refused(async () => {
          const operation = 'GET /v1/declarations/{declarationId}';
          const result = await api.GET('/v1/declarations/{declarationId}', {
            params: { path: { declarationId } },
            headers: { Accept: 'application/xml' },
            parseAs: 'arrayBuffer',
          });
          const bytes = new Uint8Array(unwrap(result, operation));
          // Signed like every partner answer: checked before it is trusted.
          await client.verifySignedResponse(bytes, result.response.headers, operation);
          return new TextDecoder().decode(bytes);
        }),
      ackDeclaration: (declarationId, body) =>
        refused(async () => {
          const answer = await client.ackDeclaration(declarationId, body as DeclarationAck);
          return { status: String(answer.status) };
        }),
      alerts: () =>
        refused(async () => {
          const result = await api.GET('/v1/audit-alerts', {});
          const { items } = unwrap(result, 'GET /v1/audit-alerts');
          return (items ?? []) as AlertAnswer[];
        }),
    };
  };
}
