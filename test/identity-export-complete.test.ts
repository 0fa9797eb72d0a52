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
import { giveWaybill, pullAll, registerCarrier } from './helpers/disclosure-fixtures';
import { randomPerson } from './helpers/identity-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

let t: TestApp;
let checkout: string;
let auditor: string;

const BROKER = { code: 'BROKEXP', name: 'Broker Export', contact: 'privacy@broker-export.example' };
const CARRIER_HK = {
  code: 'HKX',
  name: 'Harbour Express',
  contact: 'dpo@harbour-express.example',
};

beforeAll(async () => {
  t = await createTestApp();
  checkout = (await t.clientKey('checkout')).apiKey;
  auditor = (await t.clientKey('auditor')).apiKey;
});
afterAll(() => t.close());

/** A buyer with two orders: one confirmed and disclosed to the broker and the HK carrier, one only approved. */
async function buyerWithTwoOrders() {
  const broker = await t.clientKey('customs', BROKER.code, {
    name: BROKER.name,
    contact: BROKER.contact,
  });
  const carrier = await registerCarrier(t, CARRIER_HK.code, {
    name: CARRIER_HK.name,
    jurisdiction: 'HK',
    crossBorderBasis: 'CONTRACT_NECESSITY',
    contact: CARRIER_HK.contact,
  });
  const buyer: Buyer = await registerBuyer(t, checkout);
  const receiver = randomPerson();
  const consignee = {
    name: receiver.name,
    phone: receiver.phone,
    address: '广东省深圳市南山区科技园路1号',
  };
  const confirmed = {
    ...orderBody(buyer, {
      items: [
        { sku: 'EXP-MILK', name: '婴儿奶粉 900g', qty: 2, unitPriceFen: 19900 },
        { sku: 'EXP-CREAM', name: 'Face cream', qty: 1, unitPriceFen: 8800 },
      ],
      freightFen: 1200,
      consignee,
    }),
    customsCode: BROKER.code,
    carrierCode: CARRIER_HK.code,
  };
  const first = await verify(t, checkout, confirmed).expect(200);
  expect(first.body.decision).toBe('APPROVED');
  await catalogue(t, checkout, ['EXP-MILK', 'EXP-CREAM']);
  expect((await transition(t, checkout, confirmed.orderNo, 'confirm')).status).toBe(200);
  await giveWaybill(t, CARRIER_HK.code, confirmed.orderNo);
  // The broker and the carrier each receive the order's personal data once.
  await pullAll(t, broker.apiKey, '/v1/declarations');
  await pullAll(t, carrier.apiKey, '/v1/shipments');

  const reserved = {
    ...orderBody(buyer, {
      items: [{ sku: 'EXP-TEA', name: 'Green tea', qty: 3, unitPriceFen: 5000 }],
    }),
    customsCode: BROKER.code,
    carrierCode: CARRIER_HK.code,
  };
  const second = await verify(t, checkout, reserved).expect(200);
  expect(second.body.decision).toBe('APPROVED');
  return { buyer, consignee, confirmed, reserved, first: first.body, second: second.body };
}

describe('GET /v1/identities/{identityId}/export, complete (PIPL art. 45)', () => {
  let setup: Awaited<ReturnType<typeof buyerWithTwoOrders>>;
  let exported: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    setup = await buyerWithTwoOrders();
    exported = (
      await t
        .http()
        .get(`/v1/identities/${setup.buyer.identityId}/export`)
        .set(auth(checkout))
        .expect(200)
    ).body;
  });

  it('when a buyer has two orders, then the export lists both with items, amounts, consignee and status', () => {
    const { confirmed, reserved, consignee, buyer } = setup;
    expect(exported.orders).toHaveLength(2);
    const byNo = new Map(
      exported.orders.map((order: { orderNo: string }) => [order.orderNo, order]),
    );
    expect(byNo.get(confirmed.orderNo)).toEqual({
      orderNo: confirmed.orderNo,
      status: 'CONFIRMED',
      orderedAt: expect.any(String),
      quotaYear: expect.any(Number),
      items: [
        {
          sku: 'EXP-MILK',
          name: '婴儿奶粉 900g',
          qty: 2,
          unitPriceFen: 19900,
          category: 'general',
        },
        { sku: 'EXP-CREAM', name: 'Face cream', qty: 1, unitPriceFen: 8800, category: 'general' },
      ],
      amounts: {
        goodsValueFen: 48600,
        freightFen: 1200,
        insuranceFen: 0,
        discountFen: 0,
        taxableFen: setup.first.tax.taxableFen,
        taxFen: {
          tariffFen: setup.first.tax.tariffFen,
          vatFen: setup.first.tax.vatFen,
          consumptionTaxFen: setup.first.tax.consumptionTaxFen,
          totalTaxFen: setup.first.tax.totalTaxFen,
        },
      },
      consignee,
      customsCode: BROKER.code,
      carrierCode: CARRIER_HK.code,
    });
    expect(byNo.get(reserved.orderNo)).toMatchObject({
      status: 'APPROVED',
      items: [{ sku: 'EXP-TEA', name: 'Green tea', qty: 3, unitPriceFen: 5000 }],
      amounts: { goodsValueFen: 15000, taxableFen: setup.second.tax.taxableFen },
      // The default consignee of the fixture: the buyer at home.
      consignee: { name: buyer.person.name, phone: buyer.person.phone },
    });
  });

  it('when the export is read, then quota usage for the year shows used and reserved', async () => {
    const now = (await quota(t, checkout, setup.buyer.identityId).expect(200)).body;
    expect(exported.quota).toEqual([
      {
        year: now.year,
        limitFen: now.limitFen,
        usedFen: setup.first.tax.taxableFen,
        reservedFen: setup.second.tax.taxableFen,
        remainingFen: now.remainingFen,
      },
    ]);
  });

  it('when the data went to a broker and an HK carrier, then each disclosure names recipient, contact, purpose, basis and country', () => {
    const { confirmed } = setup;
    expect(exported.disclosures).toHaveLength(2);
    const customs = exported.disclosures.find(
      (entry: { role: string }) => entry.role === 'customs',
    );
    const carrier = exported.disclosures.find(
      (entry: { role: string }) => entry.role === 'carrier',
    );
    expect(customs).toEqual({
      at: expect.any(String),
      partnerCode: BROKER.code,
      role: 'customs',
      recipient: { name: BROKER.name, contact: BROKER.contact },
      fields: expect.arrayContaining(['buyer.idNumber']),
      purpose: 'customs-clearance',
      legalBasis:
        'PIPL art. 13(2): necessary for a contract (the cross-border purchase) and art. 13(3) legal obligation (customs law: Customs Law art. 24; GACC Announcement [2018] No. 194)',
      orderNo: confirmed.orderNo,
      country: 'CN',
    });
    expect(carrier).toEqual({
      at: expect.any(String),
      partnerCode: CARRIER_HK.code,
      role: 'carrier',
      recipient: { name: CARRIER_HK.name, contact: CARRIER_HK.contact },
      fields: ['consignee.name', 'consignee.telephone', 'consignee.address'],
      purpose: 'delivery',
      legalBasis: expect.stringContaining('PIPL art. 13(2)'),
      orderNo: confirmed.orderNo,
      country: 'HK',
      crossBorderBasis: 'CONTRACT_NECESSITY',
      crossBorderBasisText: expect.stringContaining('art. 5(1)'),
    });
  });

  it('when the export is read, then the consent history is a list with the recorded consent', () => {
    expect(exported.consent).toEqual([
      {
        event: 'GIVEN',
        at: expect.any(String),
        policyVersion: expect.any(String),
        sensitiveDataConsent: true,
        guardianConsent: null,
      },
    ]);
  });

  it('when downloaded with ?download=1, then it is an attachment of the same JSON, not cached', async () => {
    const response = await t
      .http()
      .get(`/v1/identities/${setup.buyer.identityId}/export?download=1`)
      .set(auth(checkout))
      .expect(200);
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="identity-export-\d{4}-\d{2}-\d{2}\.json"$/,
    );
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const { exportedAt, ...rest } = JSON.parse(response.text);
    const { exportedAt: earlier, ...expected } = exported;
    expect(rest).toEqual(expected);
    expect(Date.parse(exportedAt)).toBeGreaterThanOrEqual(Date.parse(earlier));
  });

  it('when exported, then each export is one identity.export event naming the consignee fields', async () => {
    const events = await t
      .http()
      .get(`/v1/audit-events?identityId=${setup.buyer.identityId}&action=identity.export`)
      .set(auth(auditor))
      .expect(200);
    // The plain export and the download.
    expect(events.body.items).toHaveLength(2);
    for (const event of events.body.items) {
      expect(event).toMatchObject({ outcome: 'SUCCESS', purpose: 'subject-access-request' });
      expect(event.fields).toEqual(
        expect.arrayContaining([
          'name',
          'idNumber',
          'consignee.name',
          'consignee.phone',
          'consignee.address',
        ]),
      );
    }
  });

  it('when the identity is deleted, then its export answers 404 as before', async () => {
    await t
      .http()
      .delete(`/v1/identities/${setup.buyer.identityId}`)
      .set(auth(checkout))
      .expect(204);
    await t
      .http()
      .get(`/v1/identities/${setup.buyer.identityId}/export`)
      .set(auth(checkout))
      .expect(404);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
