import { auth } from './helpers/auth';
import {
  ALL_ROLES,
  PARTNER_CODES,
  PUBLIC_PATHS,
  concretePath,
  describeOperation,
  documentedOperations,
  errorShapeProblem,
  type Operation,
  type RoleName,
} from './helpers/openapi-operations';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';

/**
 * Every documented operation against every role, no key and a revoked key,
 * generated from `GET /openapi.json`: the roles an operation states in its
 * `x-roles` are the only ones it serves, so a route added later is covered
 * without touching this file.
 */
let t: TestApp;
let operations: Operation[];
const keys = {} as Record<RoleName, string>;
const revokedKeys = {} as Record<RoleName, string>;

const GENEROUS_LIMITS = {
  RATE_LIMIT_PER_MINUTE: '100000',
  REFUSALS_PER_MINUTE_PER_ADDRESS: '100000',
  REFUSALS_PER_MINUTE_PER_KEY: '100000',
};

beforeAll(async () => {
  // The matrix causes ~200 refusals from one address in a minute: far past the refusal limits.
  t = await createTestApp(GENEROUS_LIMITS);
  for (const role of ALL_ROLES) {
    keys[role] = (await t.clientKey(role, PARTNER_CODES[role])).apiKey;
    const revoked = await t.clientKey(role, PARTNER_CODES[role]);
    await t.http().delete(`/v1/clients/${revoked.id}`).set(auth(ADMIN_KEY)).expect(204);
    revokedKeys[role] = revoked.apiKey;
  }
  operations = await documentedOperations(t);
});
afterAll(() => t.close());

/** Sends the operation with no body (or `{}` for a JSON body) and the given headers. */
function send(operation: Operation, headers: Record<string, string>) {
  const request = t.http()[operation.method](concretePath(operation)).set(headers);
  return operation.jsonBody ? request.send({}) : request;
}

interface Outcome {
  operation: string;
  caller: string;
  status: number;
  code?: string;
  shape?: string | null;
}

async function outcome(operation: Operation, caller: string, headers: Record<string, string>) {
  const response = await send(operation, headers);
  const result: Outcome = {
    operation: describeOperation(operation),
    caller,
    status: response.status,
  };
  if (response.status >= 400 && response.status < 500) {
    result.code = response.body?.error?.code;
    result.shape = errorShapeProblem(response.body);
  }
  return result;
}

describe('authorisation matrix from GET /openapi.json', () => {
  it('when the document is read, then every non-public operation names its roles', () => {
    const protectedOps = operations.filter((operation) => operation.roles !== null);
    expect(protectedOps.length).toBeGreaterThan(15);
    const badRoles = protectedOps
      .map((operation) => ({
        operation: describeOperation(operation),
        roles: operation.roles!,
        unknown: operation.roles!.filter(
          (role) => !(ALL_ROLES as readonly string[]).includes(role),
        ),
      }))
      .filter(({ roles, unknown }) => roles.length === 0 || unknown.length > 0);
    expect(badRoles).toEqual([]);
    const publicPaths = operations.filter((o) => o.roles === null).map((o) => o.path);
    expect(publicPaths.sort()).toEqual([...PUBLIC_PATHS].sort());
  });

  it('when a role not in x-roles calls an operation, then 403 FORBIDDEN in the error shape', async () => {
    const wrong: Outcome[] = [];
    let checked = 0;
    for (const operation of operations.filter((o) => o.roles !== null)) {
      for (const role of ALL_ROLES.filter((r) => !operation.roles!.includes(r))) {
        const result = await outcome(operation, role, auth(keys[role]));
        checked += 1;
        if (result.status !== 403 || result.code !== 'FORBIDDEN' || result.shape) {
          wrong.push(result);
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(wrong).toEqual([]);
  });

  it('when a role in x-roles calls an operation, then it is neither 401 nor 403 nor a 5xx', async () => {
    const wrong: Outcome[] = [];
    let checked = 0;
    for (const operation of operations.filter((o) => o.roles !== null)) {
      for (const role of operation.roles as RoleName[]) {
        const result = await outcome(operation, role, auth(keys[role]));
        checked += 1;
        if ([401, 403].includes(result.status) || result.status >= 500 || result.shape) {
          wrong.push(result);
        }
      }
    }
    expect(checked).toBeGreaterThan(15);
    expect(wrong).toEqual([]);
  });

  it('when no key, a malformed header or a revoked key is sent, then 401 UNAUTHENTICATED', async () => {
    const wrong: Outcome[] = [];
    let checked = 0;
    for (const operation of operations.filter((o) => o.roles !== null)) {
      // The revoked key is one of a role the operation allows: revocation alone must refuse it.
      const allowed = operation.roles![0] as RoleName;
      const callers: [string, Record<string, string>][] = [
        ['no key', {}],
        ['Basic scheme', { Authorization: `Basic ${keys[allowed]}` }],
        ['unknown key', auth('k'.repeat(40))],
        [`revoked ${allowed} key`, auth(revokedKeys[allowed])],
      ];
      for (const [caller, headers] of callers) {
        const result = await outcome(operation, caller, headers);
        checked += 1;
        if (result.status !== 401 || result.code !== 'UNAUTHENTICATED' || result.shape) {
          wrong.push(result);
        }
      }
    }
    expect(checked).toBeGreaterThan(60);
    expect(wrong).toEqual([]);
  });

  it('when a public route is called without a key, then it answers 200', async () => {
    for (const operation of operations.filter((o) => o.roles === null)) {
      const response = await send(operation, {});
      expect({ operation: describeOperation(operation), status: response.status }).toEqual({
        operation: describeOperation(operation),
        status: 200,
      });
    }
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
