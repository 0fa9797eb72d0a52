import { parcelOf } from '../src/products/parcel';
import type { LifecycleOrder } from '../src/quota/order-lifecycle-types';
import {
  auth,
  catalogue,
  orderBody,
  quota,
  registerBuyer,
  transition,
  verify,
  type Buyer,
} from './helpers/checkout-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

let t: TestApp;
let key: string;
let buyer: Buyer;
const confirmed: LifecycleOrder[] = [];

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  key = (await t.clientKey('checkout')).apiKey;
  buyer = await registerBuyer(t, key);
  t.orderLifecycle.onConfirmed(async (order) => {
    confirmed.push(order);
  });
  await catalogue(t, key, ['JADE-1'], {
    name: '和田玉手镯',
    hsCode: '7116200000',
    category: 'jewellery-jade',
    spec: '内径58mm',
    originCountry: '142',
    unit: '007',
    legalUnit: '036',
    legalQtyPerUnit: '45.5',
    netWeightKg: '0.0455',
  });
  await catalogue(t, key, ['CREAM-1']);
  await catalogue(t, key, ['GIN-1'], { category: 'spirits', unit: '142', legalUnit: '095' });
});
afterAll(() => t.close());

const confirm = (orderNo: string, body?: unknown) => {
  const request = t.http().post(`/v1/orders/${orderNo}/confirm`).set(auth(key));
  return body === undefined ? request : request.send(body as object);
};

/** Verifies an order of `items` for the buyer and expects it approved. */
async function approved(
  items: { sku: string; qty: number; unitPriceFen: number; category?: string }[],
) {
  const body = orderBody(buyer, { items });
  const response = await verify(t, key, body).expect(200);
  expect(response.body.decision).toBe('APPROVED');
  return {
    orderNo: body.orderNo,
    tax: response.body.tax,
    taxableFen: response.body.tax.taxableFen,
  };
}

describe('verify and the catalogue', () => {
  it('when a SKU is catalogued as jewellery-jade, then a RMB 3,000 item pays its consumption tax even though the request says general', async () => {
    const { tax } = await approved([
      { sku: 'JADE-1', qty: 1, unitPriceFen: 300_000, category: 'general' },
    ]);
    // domain.md 2: 3000 / 0.9 x 0.1 x 0.7 = 233.33 and 3000 / 0.9 x 0.13 x 0.7 = 303.33.
    expect(tax).toEqual({
      taxableFen: 300_000,
      tariffFen: 0,
      consumptionTaxFen: 23_333,
      vatFen: 30_333,
      totalTaxFen: 53_666,
    });
  });

  it('when a SKU is not catalogued, then the request category still decides (or the default)', async () => {
    const named = await approved([
      { sku: 'UNCAT-1', qty: 1, unitPriceFen: 300_000, category: 'jewellery-jade' },
    ]);
    expect(named.tax.consumptionTaxFen).toBe(23_333);
    const unnamed = await approved([{ sku: 'UNCAT-2', qty: 1, unitPriceFen: 300_000 }]);
    expect(unnamed.tax).toMatchObject({ consumptionTaxFen: 0, vatFen: 27_300 });
  });

  it('when a SKU is catalogued in a category taxed by volume and the item has no volumeMl, then 400 on that item', async () => {
    const body = orderBody(buyer, {
      items: [
        { sku: 'CREAM-1', qty: 1, unitPriceFen: 10_000 },
        { sku: 'GIN-1', qty: 1, unitPriceFen: 20_000 },
      ],
    });
    const response = await verify(t, key, body).expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details).toEqual([
      { path: 'items.1.volumeMl', message: 'is required for this category' },
    ]);
  });
});

describe('confirm and the catalogue', () => {
  it('when an item is not catalogued, then 422 PRODUCT_DATA_MISSING names its line and the quota stays reserved', async () => {
    const order = await approved([
      { sku: 'CREAM-1', qty: 1, unitPriceFen: 10_000 },
      { sku: 'NOT-CATALOGUED', qty: 2, unitPriceFen: 5_000 },
    ]);
    const before = (await quota(t, key, buyer.identityId).expect(200)).body;
    const response = await transition(t, key, order.orderNo, 'confirm').expect(422);
    expect(response.body.error.code).toBe('PRODUCT_DATA_MISSING');
    expect(response.body.error.details).toEqual([
      { path: 'items.1.sku', message: 'is not in the product catalogue' },
    ]);
    const after = (await quota(t, key, buyer.identityId).expect(200)).body;
    expect(after).toEqual(before);
    expect(after.reservedFen).toBeGreaterThanOrEqual(order.taxableFen);
    expect(
      await t.connection.collection('order_parcels').findOne({ _id: order.orderNo as never }),
    ).toBeNull();

    // Catalogued, the same order confirms.
    await catalogue(t, key, ['NOT-CATALOGUED']);
    await transition(t, key, order.orderNo, 'confirm').expect(200);
    const done = (await quota(t, key, buyer.identityId).expect(200)).body;
    expect(done.reservedFen).toBe(before.reservedFen - order.taxableFen);
  });

  it("when confirmed with parcel weights, then 200 and the listeners get them with each line's product; a repeated confirm keeps the first", async () => {
    const order = await approved([{ sku: 'JADE-1', qty: 2, unitPriceFen: 100_000 }]);
    const response = await confirm(order.orderNo, {
      parcel: { grossWeightKg: '0.35', netWeightKg: 0.091 },
    }).expect(200);
    expect(response.body).toEqual({ orderNo: order.orderNo, status: 'CONFIRMED' });
    const heard = confirmed.find((o) => o.orderNo === order.orderNo)!;
    expect(heard.parcel).toEqual({ grossWeightKg: '0.35', netWeightKg: '0.091' });
    expect(heard.items[0]!.product).toMatchObject({
      sku: 'JADE-1',
      name: '和田玉手镯',
      hsCode: '7116200000',
      category: 'jewellery-jade',
      originCountry: '142',
      unit: '007',
      legalUnit: '036',
      legalQtyPerUnit: '45.5',
      netWeightKg: '0.0455',
    });

    await confirm(order.orderNo, { parcel: { grossWeightKg: '9', netWeightKg: '9' } }).expect(200);
    const again = await t.orderLifecycle.getConfirmedOrder(order.orderNo);
    expect(again!.parcel).toEqual({ grossWeightKg: '0.35', netWeightKg: '0.091' });
  });

  it('when confirmed without a parcel, then the parcel is null and parcelOf weighs it from the catalogue (gross = net)', async () => {
    const order = await approved([
      { sku: 'JADE-1', qty: 3, unitPriceFen: 50_000 },
      { sku: 'CREAM-1', qty: 2, unitPriceFen: 10_000 },
    ]);
    await transition(t, key, order.orderNo, 'confirm').expect(200);
    const heard = confirmed.find((o) => o.orderNo === order.orderNo)!;
    expect(heard.parcel).toBeNull();
    // 3 x 0.0455 + 2 x 0.5, exactly.
    expect(parcelOf(heard)).toEqual({ grossWeightKg: '1.1365', netWeightKg: '1.1365' });
  });

  const badParcels: [string, unknown, string][] = [
    ['gross below net', { grossWeightKg: '1', netWeightKg: '1.5' }, 'parcel'],
    ['six decimal places', { grossWeightKg: '1.000001', netWeightKg: '1' }, 'parcel.grossWeightKg'],
    ['a zero weight', { grossWeightKg: '1', netWeightKg: 0 }, 'parcel.netWeightKg'],
    ['a negative weight', { grossWeightKg: -1, netWeightKg: '1' }, 'parcel.grossWeightKg'],
    ['text', { grossWeightKg: 'heavy', netWeightKg: '1' }, 'parcel.grossWeightKg'],
    ['no net weight', { grossWeightKg: '1' }, 'parcel.netWeightKg'],
    ['an unknown field', { grossWeightKg: '1', netWeightKg: '1', tare: '0' }, 'parcel.tare'],
  ];
  it.each(badParcels)(
    'when the parcel has %s, then 400 naming the field and the order stays approved',
    async (_what, parcel, path) => {
      const order = await approved([{ sku: 'CREAM-1', qty: 1, unitPriceFen: 10_000 }]);
      const response = await confirm(order.orderNo, { parcel }).expect(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
      expect(response.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
      expect(await t.orderLifecycle.getConfirmedOrder(order.orderNo)).toBeNull();
    },
  );
});

describe('a single piece above RMB 5,000, taxed in full', () => {
  it.each([
    // 600,000 fen at the product's 20% MFN tariff: tariff 120,000; CT 720,000 / 0.9 x 0.1 = 80,000;
    // VAT (720,000 + 80,000) x 0.13 = 104,000.
    ['its HS code tariff when catalogued', '0.2', [120000, 80000, 104000]],
    // No tariff catalogued: the category's placeholder (jewellery 8%): tariff 48,000;
    // CT 648,000 / 0.9 x 0.1 = 72,000; VAT 720,000 x 0.13 = 93,600.
    ['the category rate when not', undefined, [48000, 72000, 93600]],
  ])('when it is a jade bracelet, then it pays %s', async (_label, tariffRate, taxes) => {
    const sku = `JADE-T-${tariffRate ?? 'NONE'}`.replace('.', '');
    await catalogue(t, key, [sku], {
      name: '和田玉手镯',
      hsCode: '7116200000',
      category: 'jewellery-jade',
      spec: '内径58mm',
      unit: '007',
      legalUnit: '036',
      legalQtyPerUnit: '45.5',
      netWeightKg: '0.0455',
      ...(tariffRate ? { tariffRate } : {}),
    });
    const owner = await registerBuyer(t, key);
    const response = await verify(
      t,
      key,
      orderBody(owner, { items: [{ sku, qty: 1, unitPriceFen: 600000 }] }),
    ).expect(200);
    expect(response.body.decision).toBe('APPROVED');
    const [tariffFen, consumptionTaxFen, vatFen] = taxes as number[];
    expect(response.body.tax).toMatchObject({ tariffFen, consumptionTaxFen, vatFen });
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
