import {
  catalogue,
  orderBody,
  quota,
  registerBuyer,
  verify,
  type Buyer,
} from './helpers/checkout-fixtures';
import { auth } from './helpers/auth';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * Returns as customs handles them: by item, judged at the application
 * against the 30 days from release, each return giving back the returned
 * items' share of the order's taxable value (freight and insurance included).
 */
let t: TestApp;
let key: string;
let now = new Date();
const DAY = 86_400_000;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' }, { clock: () => now });
  key = (await t.clientKey('checkout')).apiKey;
  // Confirm needs every SKU catalogued: the default ones of orderBody.
  await catalogue(t, key, ['SKU-1', 'SKU-2', 'SKU-3']);
});
afterAll(() => t.close());
beforeEach(() => {
  now = new Date();
});

type Line = { qty: number; unitPriceFen: number };

/** A confirmed order released by customs `daysAgo` days ago. */
async function releasedOrder(items: Line[], freightFen: number, daysAgo = 1) {
  const buyer = await registerBuyer(t, key);
  const body = orderBody(buyer, { items, freightFen });
  expect((await verify(t, key, body).expect(200)).body.decision).toBe('APPROVED');
  await t.http().post(`/v1/orders/${body.orderNo}/confirm`).set(auth(key)).expect(200);
  await t.orderLifecycle.markCustomsAccepted(body.orderNo, new Date(now.getTime() - daysAgo * DAY));
  return { buyer, orderNo: body.orderNo };
}

const returnItems = (orderNo: string, body?: object) => {
  const call = t.http().post(`/v1/orders/${orderNo}/return`).set(auth(key));
  return body ? call.send(body) : call;
};
const usedOf = async (buyer: Buyer) =>
  (await quota(t, key, buyer.identityId).expect(200)).body.usedFen;

// SKU-1: 2 x RMB 1,000; SKU-2: 1 x RMB 500; freight RMB 100. Taxable 260,000 fen on 250,000 of goods.
const LINES = [
  { qty: 2, unitPriceFen: 100000 },
  { qty: 1, unitPriceFen: 50000 },
];

it('when one of two pieces of an item is returned, then its share of the taxable value (freight included) comes back', async () => {
  const { buyer, orderNo } = await releasedOrder(LINES, 10000);
  expect(await usedOf(buyer)).toBe(260000);

  const response = await returnItems(orderNo, { items: [{ sku: 'SKU-1', qty: 1 }] }).expect(200);

  // 260,000 x 100,000 / 250,000 = 104,000
  expect(response.body).toEqual({
    orderNo,
    status: 'PARTIALLY_RETURNED',
    returned: [{ sku: 'SKU-1', qty: 1 }],
    restoredFen: 104000,
  });
  expect(await usedOf(buyer)).toBe(156000);
});

it('when a return asks for more than is left to return, then 422 RETURN_EXCEEDS_ORDER and nothing comes back', async () => {
  const { buyer, orderNo } = await releasedOrder(LINES, 10000);
  await returnItems(orderNo, { items: [{ sku: 'SKU-1', qty: 1 }] }).expect(200);

  for (const items of [[{ sku: 'SKU-1', qty: 2 }], [{ sku: 'SKU-9', qty: 1 }]]) {
    const refused = await returnItems(orderNo, { items }).expect(422);
    expect(refused.body.error.code).toBe('RETURN_EXCEEDS_ORDER');
  }
  expect(await usedOf(buyer)).toBe(156000);
});

it('when the rest is returned without a body, then the order is RETURNED and all of it is back', async () => {
  const { buyer, orderNo } = await releasedOrder(LINES, 10000);
  await returnItems(orderNo, { items: [{ sku: 'SKU-2', qty: 1 }] }).expect(200);

  const response = await returnItems(orderNo).expect(200);

  expect(response.body).toEqual({
    orderNo,
    status: 'RETURNED',
    returned: [
      { sku: 'SKU-1', qty: 2 },
      { sku: 'SKU-2', qty: 1 },
    ],
    restoredFen: 260000,
  });
  expect(await usedOf(buyer)).toBe(0);
  await returnItems(orderNo).expect(200);
  expect(
    (await returnItems(orderNo, { items: [{ sku: 'SKU-1', qty: 1 }] }).expect(422)).body.error.code,
  ).toBe('RETURN_EXCEEDS_ORDER');
});

it('when items are returned one by one, then the shares add up to the taxable value to the fen', async () => {
  const { buyer, orderNo } = await releasedOrder(
    [
      { qty: 1, unitPriceFen: 100 },
      { qty: 1, unitPriceFen: 100 },
      { qty: 1, unitPriceFen: 100 },
    ],
    1,
  );
  const restored: number[] = [];
  for (const sku of ['SKU-1', 'SKU-2', 'SKU-3']) {
    const response = await returnItems(orderNo, { items: [{ sku, qty: 1 }] }).expect(200);
    restored.push(response.body.restoredFen);
  }
  // 301 x 1/3 = 100.33 -> 100; x 2/3 = 200.67 -> 201; x 3/3 = 301: each return gives back the difference.
  expect(restored).toEqual([100, 201, 301]);
  expect(await usedOf(buyer)).toBe(0);
});

it('when the window is judged, then it is at the application: day 29 yes, day 31 no', async () => {
  const { buyer, orderNo } = await releasedOrder(LINES, 10000, 29);
  await returnItems(orderNo, { items: [{ sku: 'SKU-2', qty: 1 }] }).expect(200);
  now = new Date(now.getTime() + 2 * DAY);

  const late = await returnItems(orderNo, { items: [{ sku: 'SKU-1', qty: 1 }] }).expect(422);

  expect(late.body.error.code).toBe('RETURN_WINDOW_CLOSED');
  expect(await usedOf(buyer)).toBe(208000);
});

it.each([
  ['an empty list', { items: [] }, 'items'],
  ['a zero quantity', { items: [{ sku: 'SKU-1', qty: 0 }] }, 'items.0.qty'],
  [
    'a repeated sku',
    {
      items: [
        { sku: 'SKU-1', qty: 1 },
        { sku: 'SKU-1', qty: 1 },
      ],
    },
    'items.1',
  ],
])(
  'when the return names %s, then 400 on that field and nothing comes back',
  async (_label, body, path) => {
    const { buyer, orderNo } = await releasedOrder(LINES, 10000);
    const response = await returnItems(orderNo, body).expect(400);
    expect(response.body.error.details.map((detail: { path: string }) => detail.path)).toContain(
      path,
    );
    expect(await usedOf(buyer)).toBe(260000);
  },
);

it('stores no personal data in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
