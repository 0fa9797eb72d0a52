import { randomBytes } from 'node:crypto';
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

export const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

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
