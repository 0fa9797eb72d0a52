import fc from 'fast-check';
import type { Response } from 'supertest';
import { auth } from './helpers/auth';
import {
  PLANTED,
  fuzzBodies,
  withoutPlantedAt,
  type KnownValues,
} from './helpers/body-arbitraries';
import { confirmedOrder } from './helpers/disclosure-fixtures';
import {
  ALL_ROLES,
  PARTNER_CODES,
  concretePath,
  describeOperation,
  documentedOperations,
  errorShapeProblem,
  type Operation,
  type RoleName,
} from './helpers/openapi-operations';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * Property tests over every JSON request body the OpenAPI document declares:
 * whatever the body, the service answers below 500, in the contract's error
 * shape, never echoes planted personal data, and stores nothing when it
 * refuses. Fixed seed and bounded runs: a failure replays exactly.
 */
const SEED = 20261201;
const RUNS_PER_OPERATION = 40;
/** Collections the access log writes to: a refusal is recorded there, by design. */
const ACCESS_LOG_COLLECTIONS = new Set(['audit_events', 'audit_checkpoints', 'audit_streams']);
/**
 * Free-text fields kept in clear: a client's label, an item's name, a consent's
 * policy version. They refuse id numbers and phones; a planted Chinese name is
 * scrubbed from them, since Chinese text is what they legitimately hold.
 */
const CLEAR_TEXT_FIELDS: Record<string, readonly string[]> = {
  'POST /v1/clients': ['name'],
  'POST /v1/checkout/verify': ['items.*.name'],
  'POST /v1/identities': ['consent.policyVersion'],
  'POST /v1/declarations/{declarationId}/ack': ['returnInfo'],
  'PUT /v1/products/{sku}': ['name', 'spec'],
  'POST /v1/privacy-requests/{requestId}/answer': ['note'],
};

let t: TestApp;
let operations: Operation[];
const keys = {} as Record<RoleName, string>;
/** Path parameters of records that exist, so bodies reach the service, not only the 404. */
const existing: Record<string, string> = {};
const known: KnownValues = {};

beforeAll(async () => {
  t = await createTestApp({
    RATE_LIMIT_PER_MINUTE: '100000',
    REFUSALS_PER_MINUTE_PER_ADDRESS: '100000',
    REFUSALS_PER_MINUTE_PER_KEY: '100000',
  });
  for (const role of ALL_ROLES) keys[role] = (await t.clientKey(role, PARTNER_CODES[role])).apiKey;
  operations = (await documentedOperations(t)).filter((o) => o.jsonBody && o.roles?.length);

  const order = await confirmedOrder(t, keys.checkout, {
    customsCode: PARTNER_CODES.customs,
    carrierCode: PARTNER_CODES.carrier,
  });
  const declarations = await t.http().get('/v1/declarations').set(auth(keys.customs)).expect(200);
  const shipments = await t.http().get('/v1/shipments').set(auth(keys.carrier)).expect(200);
  existing.identityId = order.buyer.identityId;
  existing.orderNo = order.orderNo;
  existing.declarationId = JSON.parse(declarations.text).items[0]?.declarationId;
  existing.shipmentId = JSON.parse(shipments.text).items[0]?.shipmentId;
  const privacyRequest = await t
    .http()
    .post('/v1/privacy-requests')
    .set(auth(keys.checkout))
    .send({ identityId: order.buyer.identityId, kind: 'ACCESS' })
    .expect(201);
  existing.requestId = privacyRequest.body.requestId;
  // Planted where a body must carry personal data, so valid bodies carry it too.
  Object.assign(known, {
    name: PLANTED.name,
    idNumber: PLANTED.idNumber,
    phone: PLANTED.mobile,
    payer: { name: order.buyer.person.name, idNumber: order.buyer.person.idNumber },
    identityId: order.buyer.identityId,
    // A used order number now and then: a different body under it must store nothing (409).
    orderNo: fc.oneof(fc.constant(order.orderNo), fc.stringMatching(/^T-[A-Z]{8}$/)),
    customsCode: PARTNER_CODES.customs,
    carrierCode: PARTNER_CODES.carrier,
  });
});
afterAll(() => t.close());

/** The path with records that exist where there are some, else well-formed unknown ids. */
function pathOf(operation: Operation): string {
  const withExisting = operation.path.replace(/\{([^}]+)\}/g, (whole, name: string) =>
    existing[name] ? encodeURIComponent(existing[name]) : whole,
  );
  return concretePath({ ...operation, path: withExisting });
}

async function documentCounts(): Promise<Map<string, number>> {
  const db = t.connection.db!;
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  const counts = new Map<string, number>();
  for (const { name } of collections) {
    counts.set(name, await db.collection(name).countDocuments({}));
  }
  return counts;
}

function grownCollections(before: Map<string, number>, after: Map<string, number>): string[] {
  return [...after.entries()]
    .filter(([name, count]) => !ACCESS_LOG_COLLECTIONS.has(name) && count > (before.get(name) ?? 0))
    .map(([name, count]) => `${name}: ${before.get(name) ?? 0} -> ${count}`);
}

/**
 * Where in the response a planted value came back, if anywhere. The one
 * exemption: a new API client's 201 repeats the client's own label (`name`),
 * which names a system, not a person.
 */
function echoes(operation: Operation, response: Response): string[] {
  const body =
    describeOperation(operation) === 'POST /v1/clients' && response.status === 201
      ? JSON.stringify({ ...response.body, name: undefined })
      : (response.text ?? '');
  const haystacks = { body, headers: JSON.stringify(response.headers) };
  return Object.entries(haystacks).flatMap(([where, haystack]) =>
    Object.entries(PLANTED)
      .filter(([, value]) => haystack.includes(value))
      .map(([kind]) => `${kind} in ${where}`),
  );
}

interface Verdict {
  status: number;
  shape: string | null;
  echoes: string[];
  grown: string[];
}

async function sendBody(operation: Operation, role: RoleName, body: unknown): Promise<Verdict> {
  const before = await documentCounts();
  const response = await t
    .http()
    [operation.method](pathOf(operation))
    .set(auth(keys[role]))
    .set('Content-Type', 'application/json')
    .send(JSON.stringify(body));
  const isClientError = response.status >= 400 && response.status < 500;
  return {
    status: response.status,
    shape: isClientError ? errorShapeProblem(response.body) : null,
    echoes: echoes(operation, response),
    grown: isClientError ? grownCollections(before, await documentCounts()) : [],
  };
}

describe('fuzzed JSON bodies of every documented operation', () => {
  it('when the document is read, then the operations with JSON bodies are found', () => {
    expect(operations.map(describeOperation).length).toBeGreaterThanOrEqual(6);
  });

  it('when every operation gets arbitrary and near-valid bodies, then no 5xx, 4xx in the error shape, no echo, nothing stored on a 4xx', async () => {
    const failures: { operation: string; seed: number; counterexample: unknown; error: string }[] =
      [];
    for (const [index, operation] of operations.entries()) {
      const role = operation.roles![0] as RoleName;
      const statuses: number[] = [];
      const details = await fc.check(
        fc.asyncProperty(fuzzBodies(operation.jsonBody!, known), async (generated) => {
          const body = withoutPlantedAt(
            generated,
            CLEAR_TEXT_FIELDS[describeOperation(operation)] ?? [],
          );
          const verdict = await sendBody(operation, role, body);
          statuses.push(verdict.status);
          expect(verdict).toEqual({ status: verdict.status, shape: null, echoes: [], grown: [] });
          expect(verdict.status).toBeLessThan(500);
        }),
        { seed: SEED + index, numRuns: RUNS_PER_OPERATION },
      );
      if (details.failed) {
        failures.push({
          operation: describeOperation(operation),
          seed: SEED + index,
          counterexample: details.counterexample?.[0],
          error: String(details.errorInstance).slice(0, 2000),
        });
      }
      // The bodies reached the validator at least: a run of only 401s would prove nothing.
      expect({ operation: describeOperation(operation), refused: statuses.includes(400) }).toEqual({
        operation: describeOperation(operation),
        refused: true,
      });
    }
    expect(failures).toEqual([]);
  }, 180_000);
});

it('when every fuzzed body has been handled, then no log line holds planted personal data', () => {
  const leaks = t.logs.filter((line) =>
    Object.values(PLANTED).some((value) => line.includes(value)),
  );
  expect(t.logs.length).toBeGreaterThan(0);
  expect(leaks).toEqual([]);
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
