import { randomBytes } from 'node:crypto';
import type { AccessEventInput, AccessLog } from '../../src/audit/audit-types';
import type { FieldCipher, FieldRef } from '../../src/crypto/field-cipher-types';
import { DecryptionFailed, ServiceUnavailable } from '../../src/errors';
import type { RequestContext } from '../../src/http/route';
import type { IdentityDirectory } from '../../src/identities/identity-directory';
import { createLogger } from '../../src/logger';
import { createCheckoutService } from '../../src/quota/checkout-service';
import type { CustomsQuotaQuery } from '../../src/quota/customs-quota';
import { createFakeLedgerStore } from '../fakes/ledger-store';
import { createFakeOrdersStore } from '../fakes/orders-store';
import { createLedgerService } from '../../src/quota/ledger-service';
import type { LedgerStore } from '../../src/quota/ledger-store';
import { createOrderLifecycleService } from '../../src/quota/order-lifecycle-service';
import type { OrdersStore, VerifyRequest } from '../../src/quota/orders-types';
import type { ProductCatalogue } from '../../src/products/products-types';
import { loadPolicy } from '../../src/quota/policy';
import type { TestApp } from './test-app';
import { randomPerson, registration, type Person } from './identity-fixtures';

/**
 * Buyers and orders for the checkout and order-lifecycle tests. Buyers are
 * registered through POST /v1/identities with synthetic id numbers (check
 * character computed in identity-fixtures, independently of src/).
 */
export interface Buyer {
  identityId: string;
  person: Person;
}

export { auth } from './auth';
import { auth } from './auth';

export async function registerBuyer(
  t: TestApp,
  checkoutKey: string,
  overrides: Partial<Person> = {},
): Promise<Buyer> {
  const person = randomPerson(overrides);
  const response = await t
    .http()
    .post('/v1/identities')
    .set(auth(checkoutKey))
    .send(registration(person));
  if (response.status !== 201) throw new Error(`registration failed: ${response.status}`);
  return { identityId: response.body.identityId, person };
}

/** The same person as `buyer` registered again, under another user account. */
export function registerSamePerson(
  t: TestApp,
  checkoutKey: string,
  buyer: Buyer,
  userId: string,
): Promise<Buyer> {
  const { name, idNumber, phone, birth } = buyer.person;
  return registerBuyer(t, checkoutKey, { userId, name, idNumber, phone, birth });
}

/**
 * Letters only: a random run of digits could look like a mobile number to the
 * plaintext scan that ends every test file.
 */
export function newOrderNo(): string {
  const letters = [...randomBytes(12)].map((byte) => String.fromCharCode(65 + (byte % 26)));
  return `T-${letters.join('')}`;
}

export interface OrderOptions {
  items?: { sku?: string; name?: string; qty: number; unitPriceFen: number; category?: string }[];
  freightFen?: number;
  insuranceFen?: number;
  discountFen?: number;
  orderedAt?: string;
  payer?: { name: string; idNumber: string };
  consignee?: { name: string; phone: string; address: string };
  orderNo?: string;
}

/** A verify body: by default one item of RMB 100 and no freight, paid by the buyer. */
export function orderBody(buyer: Buyer, options: OrderOptions = {}) {
  const items = (options.items ?? [{ qty: 1, unitPriceFen: 10000 }]).map((item, index) => ({
    sku: item.sku ?? `SKU-${index + 1}`,
    name: item.name ?? `Goods ${index + 1}`,
    qty: item.qty,
    unitPriceFen: item.unitPriceFen,
    ...(item.category ? { category: item.category } : {}),
  }));
  return {
    orderNo: options.orderNo ?? newOrderNo(),
    identityId: buyer.identityId,
    payer: options.payer ?? { name: buyer.person.name, idNumber: buyer.person.idNumber },
    items,
    freightFen: options.freightFen ?? 0,
    ...(options.insuranceFen !== undefined ? { insuranceFen: options.insuranceFen } : {}),
    ...(options.discountFen !== undefined ? { discountFen: options.discountFen } : {}),
    ...(options.orderedAt ? { orderedAt: options.orderedAt } : {}),
    consignee: options.consignee ?? {
      name: buyer.person.name,
      phone: buyer.person.phone,
      address: '上海市浦东新区世纪大道100号',
    },
    customsCode: 'BROKER1',
    carrierCode: 'SF',
  };
}

export function verify(t: TestApp, key: string, body: unknown) {
  return t
    .http()
    .post('/v1/checkout/verify')
    .set(auth(key))
    .send(body as object);
}

/** Verifies one single-piece order of `yuan`, expects it approved, returns its order number. */
export async function approvedOrder(
  t: TestApp,
  key: string,
  buyer: Buyer,
  yuan: number,
): Promise<string> {
  const body = orderBody(buyer, { items: [{ qty: 1, unitPriceFen: yuan * 100 }] });
  const response = await verify(t, key, body).expect(200);
  if (response.body.decision !== 'APPROVED') {
    throw new Error(`expected APPROVED, got ${JSON.stringify(response.body.reasons)}`);
  }
  return body.orderNo;
}

export function quota(t: TestApp, key: string, identityId: string, year?: number) {
  return t
    .http()
    .get(`/v1/identities/${identityId}/quota${year ? `?year=${year}` : ''}`)
    .set(auth(key));
}

export function transition(
  t: TestApp,
  key: string,
  orderNo: string,
  action: 'confirm' | 'cancel' | 'return',
) {
  return t.http().post(`/v1/orders/${orderNo}/${action}`).set(auth(key));
}

/**
 * Checkout and the order lifecycle on in-memory stores (no HTTP, no
 * database), for unit tests of the use cases. `writes` lists every write in
 * the order it happened: the access-log event, hold inserts and deletes,
 * ledger commits (with the status they record) and order records.
 */
export function inMemoryCheckout(options: { customsRemainingFen?: number } = {}) {
  const writes: string[] = [];
  const events: AccessEventInput[] = [];
  const world = {
    now: new Date('2026-06-01T04:00:00Z'),
    accessLogDown: false,
  };
  const orders = createFakeOrdersStore();
  const ordersStore: OrdersStore = {
    ...orders,
    async insertHold(hold) {
      writes.push('hold');
      return orders.insertHold(hold);
    },
    async deleteHold(orderNo) {
      if (orders.holds.has(orderNo)) writes.push('drop hold');
      return orders.deleteHold(orderNo);
    },
    async insertOrder(order) {
      writes.push('order');
      return orders.insertOrder(order);
    },
  };
  const journal = createFakeLedgerStore();
  const ledgerStore: LedgerStore = {
    ...journal,
    async commit(state, change) {
      writes.push(`ledger ${change.to}`);
      return journal.commit(state, change);
    },
  };
  const accessLog: AccessLog = {
    async record(event) {
      if (world.accessLogDown) throw new ServiceUnavailable();
      writes.push('access-log');
      events.push(event);
    },
    subjectRef: (identityId) => `ref-${identityId}`,
  };
  const policy = loadPolicy();
  const ledger = createLedgerService({ ledgerStore, policy });
  const fieldCipher = createFakeFieldCipher();
  const clock = () => world.now;
  const catalogue = everySkuCatalogued;
  const deps = { ordersStore, ledger, policy, catalogue, fieldCipher, clock, holdMs: 30 * 60_000 };
  const checkout = createCheckoutService({
    ...deps,
    directory: fakeDirectory,
    accessLog,
    customs:
      options.customsRemainingFen === undefined
        ? null
        : { adapter: fakeCustoms(options.customsRemainingFen), timeoutMs: 1000 },
  });
  const lifecycle = createOrderLifecycleService({ ...deps, logger: createLogger('silent') });
  return { world, writes, events, orders, journal, ledger, checkout, lifecycle };
}

/** The one buyer the in-memory directory knows: verified, consented, paying. */
export const KNOWN_BUYER = {
  identityId: '6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f',
  personRef: '1:known-buyer-person',
  payer: { name: 'Test Buyer', idNumber: '11010519491231002X' },
};

const fakeDirectory: IdentityDirectory = {
  async findBuyer(identityId) {
    if (identityId !== KNOWN_BUYER.identityId) return null;
    return {
      identityId,
      personRef: KNOWN_BUYER.personRef,
      userId: 'u-1',
      verificationStatus: 'VERIFIED',
      consentRecorded: true,
      consentWithdrawn: false,
    };
  },
  async payerMatches(identityId, payer) {
    return (
      identityId === KNOWN_BUYER.identityId &&
      payer.name === KNOWN_BUYER.payer.name &&
      payer.idNumber === KNOWN_BUYER.payer.idNumber
    );
  },
  async checkBuyer(identityId, payer) {
    return {
      buyer: await fakeDirectory.findBuyer(identityId),
      payerIsBuyer: await fakeDirectory.payerMatches(identityId, payer),
    };
  },
  async revealBuyer() {
    throw new Error('not used by checkout');
  },
};

function fakeCustoms(remainingFen: number): CustomsQuotaQuery {
  return {
    name: 'fake',
    async query({ year }) {
      return { year, usedFen: 0, remainingFen };
    },
  };
}

/** A verify request of the known buyer: one item of RMB 100 by default. */
export function verifyRequest(overrides: Partial<VerifyRequest> = {}): VerifyRequest {
  return {
    orderNo: newOrderNo(),
    identityId: KNOWN_BUYER.identityId,
    payer: { ...KNOWN_BUYER.payer },
    items: [{ sku: 'SKU-1', name: 'Goods', qty: 1, unitPriceFen: 10_000, category: 'general' }],
    freightFen: 0,
    insuranceFen: 0,
    discountFen: 0,
    consignee: { name: 'Test Buyer', phone: '+86 000 0000', address: 'Test address 1' },
    customsCode: 'BROKER1',
    carrierCode: 'SF',
    ...overrides,
  };
}

export const checkoutContext: RequestContext = {
  actor: { clientId: 'checkout-client', role: 'checkout', partnerCode: null },
  requestId: 'req-1',
  sourceIp: '127.0.0.1',
  route: '/v1/checkout/verify',
};

/**
 * Reversible "encryption" bound to its FieldRef, like the real cipher's AAD:
 * a ciphertext opened under another ref, or after its subject's key was
 * destroyed, fails with DecryptionFailed.
 */
function createFakeFieldCipher(): FieldCipher {
  const destroyed = new Set<string>();
  const prefix = (ref: FieldRef) =>
    `sealed:${ref.subjectId}/${ref.collection}/${ref.recordId}/${ref.field}:`;
  async function decrypt(ref: FieldRef, ciphertext: string): Promise<Buffer> {
    if (destroyed.has(ref.subjectId) || !ciphertext.startsWith(prefix(ref))) {
      throw new DecryptionFailed();
    }
    return Buffer.from(ciphertext.slice(prefix(ref).length), 'base64');
  }
  return {
    async ensureSubjectKey() {},
    async encrypt(ref, plaintext) {
      return prefix(ref) + Buffer.from(plaintext).toString('base64');
    },
    decrypt,
    async decryptText(ref, ciphertext) {
      return (await decrypt(ref, ciphertext)).toString('utf8');
    },
    isCurrent: () => true,
    subjectKeyState: async (subjectId) => (destroyed.has(subjectId) ? 'destroyed' : 'present'),
    async destroySubjectKey(subjectId) {
      destroyed.add(subjectId);
    },
  };
}

/** A valid `PUT /v1/products/{sku}` body: general goods, one bottle of 0.5 kg. */
export function productBody(overrides: Record<string, unknown> = {}) {
  return {
    name: '保湿面霜',
    hsCode: '3304990099',
    category: 'general',
    spec: '50ml/瓶',
    originCountry: '116',
    unit: '142',
    legalUnit: '035',
    legalQtyPerUnit: '0.05',
    netWeightKg: '0.5',
    ...overrides,
  };
}

/** Catalogues every SKU through the API (a valid product each), so their orders can be confirmed. */
export async function catalogue(
  t: TestApp,
  key: string,
  skus: readonly string[],
  overrides: Record<string, unknown> = {},
): Promise<void> {
  for (const sku of new Set(skus)) {
    const response = await t
      .http()
      .put(`/v1/products/${encodeURIComponent(sku)}`)
      .set(auth(key))
      .send(productBody(overrides));
    if (response.status !== 200 && response.status !== 201) {
      throw new Error(`cataloguing ${sku} failed: ${response.status}`);
    }
  }
}

/** The in-memory checkout's catalogue: every SKU is a general good of 0.5 kg. */
const everySkuCatalogued: ProductCatalogue = {
  async findMany(skus) {
    const updatedAt = new Date('2026-01-01T00:00:00Z');
    return new Map(
      skus.map((sku) => [
        sku,
        {
          ...productBody(),
          sku,
          secondUnit: null,
          secondQtyPerUnit: null,
          tariffRate: null,
          barCode: null,
          itemRecordNo: null,
          updatedAt,
        },
      ]),
    );
  },
};
