import { auth, transition } from './helpers/checkout-fixtures';
import {
  confirmedOrder,
  decryptEnveloped,
  partnerKeyPair,
  pullAll,
  rawCall,
  verifyDetached,
  type ConfirmedOrder,
} from './helpers/disclosure-fixtures';
import { ADMIN_KEY, createTestApp, DEFAULT_PARTNER, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

let t: TestApp;
let checkout: string;
let carrier: { id: string; apiKey: string };
let otherCarrier: string;
let broker: string;
let auditor: string;
let signingCertificate: string;
/** Consignee someone else than the buyer. */
let forOther: ConfirmedOrder;
/** The buyer receives the parcel. */
let forSelf: ConfirmedOrder;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  checkout = (await t.clientKey('checkout')).apiKey;
  carrier = await t.clientKey('carrier', 'SF');
  otherCarrier = (await t.clientKey('carrier', 'EMS')).apiKey;
  broker = (await t.clientKey('customs', 'BROKER1')).apiKey;
  auditor = (await t.clientKey('auditor')).apiKey;
  // The carrier's own flow: no waybill given yet (declaration-waybill.test.ts covers ACCEPTED).
  forOther = await confirmedOrder(t, checkout, {
    waybill: false,
    consignee: 'other',
    items: [
      { qty: 2, unitPriceFen: 10000 },
      { qty: 3, unitPriceFen: 500 },
    ],
  });
  forSelf = await confirmedOrder(t, checkout, { consignee: 'self', waybill: false });
  signingCertificate = (
    await t.http().get('/v1/signing-certificate').set(auth(carrier.apiKey)).expect(200)
  ).text;
});
afterAll(() => t.close());

async function shipmentOf(order: ConfirmedOrder, key = carrier.apiKey) {
  const found = (await pullAll(t, key, '/v1/shipments')).find(
    (item) => item.orderNo === order.orderNo,
  );
  if (!found) throw new Error('shipment not listed');
  return found;
}

function expectVerifiedSignature(response: { body: Buffer; headers: Record<string, string> }) {
  const result = verifyDetached(
    response.body,
    response.headers['x-signature']!,
    signingCertificate,
  );
  expect(result.stderr).toContain('Verification successful');
  expect(result.status).toBe(0);
}

/** What a carrier must never see: the buyer's id number, and the buyer's name and phone when not the consignee. */
function expectNothingOfTheBuyer(serialised: string, order: ConfirmedOrder) {
  expect(serialised).not.toContain(order.buyer.person.idNumber);
  expect(serialised).not.toContain(order.buyer.person.idNumber.slice(0, 17));
  if (order.consignee.name !== order.buyer.person.name) {
    expect(serialised).not.toContain(order.buyer.person.name);
    expect(serialised).not.toContain(order.buyer.person.phone);
  }
}

describe('GET /v1/shipments', () => {
  it('when an order is confirmed, then its carrier lists a READY shipment with the consignee and the parcel', async () => {
    expect(await shipmentOf(forOther)).toEqual({
      shipmentId: expect.any(String),
      orderNo: forOther.orderNo,
      status: 'READY',
      consignee: {
        name: forOther.consignee.name,
        telephone: forOther.consignee.phone,
        address: forOther.consignee.address,
      },
      parcel: { itemCount: 5, goodsValueFen: 21500 },
      createdAt: expect.any(String),
      pickedUpAt: null,
      deliveredAt: null,
    });
  });

  it('when the consignee is someone else, then the whole list response holds no buyer id number, name or phone', async () => {
    const response = await rawCall(
      t.http().get('/v1/shipments?status=READY').set(auth(carrier.apiKey)),
    );
    expect(response.status).toBe(200);
    expect(response.text).toContain(forOther.consignee.name);
    expectNothingOfTheBuyer(response.text + JSON.stringify(response.headers), forOther);
    expectVerifiedSignature(response);
  });

  it('when the buyer is the consignee, then the carrier gets their name and phone as consignee, never the id number', async () => {
    const item = await shipmentOf(forSelf);
    expect(item.consignee).toEqual({
      name: forSelf.buyer.person.name,
      telephone: forSelf.buyer.person.phone,
      address: forSelf.consignee.address,
    });
    expect(JSON.stringify(item)).not.toContain(forSelf.buyer.person.idNumber);
  });

  it('when a second carrier pulls, then it sees nothing of the first carrier’s orders', async () => {
    const response = await rawCall(t.http().get('/v1/shipments').set(auth(otherCarrier)));
    expect(response.json()).toEqual({ items: [], next: null });
  });

  it('when a broker asks, then 403 FORBIDDEN', async () => {
    const response = await t.http().get('/v1/shipments').set(auth(broker)).expect(403);
    expect(response.body.error.code).toBe('FORBIDDEN');
  });

  it('when a carrier calls without a key, then 401 and a DENIED event is recorded', async () => {
    await t.http().get('/v1/shipments').set('X-Request-Id', 'req-ship-401').expect(401);
    const events = await t
      .http()
      .get('/v1/audit-events?outcome=DENIED&limit=100')
      .set(auth(auditor))
      .expect(200);
    expect(
      events.body.items.find((event: { requestId: string }) => event.requestId === 'req-ship-401'),
    ).toMatchObject({ action: 'shipment.disclose' });
  });
});

describe('GET /v1/shipments/{id}', () => {
  it('when the carrier asks for its shipment, then it is signed and holds nothing of the buyer', async () => {
    const { shipmentId } = await shipmentOf(forOther);
    const response = await rawCall(
      t.http().get(`/v1/shipments/${shipmentId}`).set(auth(carrier.apiKey)),
    );
    expect(response.status).toBe(200);
    expect(response.json().shipmentId).toBe(shipmentId);
    expectNothingOfTheBuyer(response.text, forOther);
    expectVerifiedSignature(response);
  });

  it('when another carrier asks for it, then 404 exactly like an unknown id', async () => {
    const { shipmentId } = await shipmentOf(forOther);
    const theirs = await t
      .http()
      .get(`/v1/shipments/${shipmentId}`)
      .set(auth(otherCarrier))
      .expect(404);
    const unknown = await t
      .http()
      .get('/v1/shipments/3f0f4bb4-5bd3-4a3c-9c59-1c1f2a0e0c7d')
      .set(auth(otherCarrier))
      .expect(404);
    expect({ ...theirs.body.error, requestId: 0 }).toEqual({ ...unknown.body.error, requestId: 0 });
  });

  it('when the carrier registered a certificate, then the enveloped shipment decrypts with openssl and holds nothing of the buyer', async () => {
    const partner = partnerKeyPair('SF Express');
    await t
      .http()
      .put(`/v1/clients/${carrier.id}/certificate`)
      .set(auth(ADMIN_KEY))
      .set('Content-Type', 'application/x-pem-file')
      .send(partner.certificatePem)
      .expect(200);
    const { shipmentId } = await shipmentOf(forOther);
    const response = await rawCall(
      t
        .http()
        .get(`/v1/shipments/${shipmentId}`)
        .set(auth(carrier.apiKey))
        .set('Accept', 'application/pkcs7-mime'),
    );
    expect(response.status).toBe(200);
    expectVerifiedSignature(response);
    const decrypted = decryptEnveloped(response.body, partner);
    expect(decrypted.status).toBe(0);
    const text = decrypted.stdout.toString('utf8');
    expect(JSON.parse(text).consignee.name).toBe(forOther.consignee.name);
    expectNothingOfTheBuyer(text, forOther);
  });

  it('when the carrier asks for XML, then 406: only declarations have an XML form', async () => {
    const { shipmentId } = await shipmentOf(forOther);
    const response = await t
      .http()
      .get(`/v1/shipments/${shipmentId}`)
      .set(auth(carrier.apiKey))
      .set('Accept', 'application/xml')
      .expect(406);
    expect(response.body.error.code).toBe('NOT_ACCEPTABLE');
  });
});

describe('POST /v1/shipments/{id}/ack', () => {
  const ack = (key: string, id: string, status: string) =>
    rawCall(t.http().post(`/v1/shipments/${id}/ack`).set(auth(key)).send({ status }));

  it('when picked up then delivered, then each step answers the new state, signed', async () => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    const { shipmentId } = await shipmentOf(order);
    const picked = await ack(carrier.apiKey, shipmentId, 'PICKED_UP');
    expect(picked.status).toBe(200);
    expect(picked.json()).toEqual({
      shipmentId,
      orderNo: order.orderNo,
      status: 'PICKED_UP',
      logisticsNo: null,
      pickedUpAt: expect.any(String),
      deliveredAt: null,
    });
    expectVerifiedSignature(picked);
    const delivered = await ack(carrier.apiKey, shipmentId, 'DELIVERED');
    expect(delivered.json()).toMatchObject({
      status: 'DELIVERED',
      deliveredAt: expect.any(String),
    });
    expect((await shipmentOf(order)).status).toBe('DELIVERED');
  });

  it.each([
    ['READY', 'DELIVERED', []],
    ['DELIVERED', 'PICKED_UP', ['PICKED_UP', 'DELIVERED']],
  ])(
    'when a %s shipment is acked %s, then 409 INVALID_STATE_TRANSITION',
    async (_from, to, steps) => {
      const order = await confirmedOrder(t, checkout, { waybill: false });
      const { shipmentId } = await shipmentOf(order);
      for (const step of steps)
        expect((await ack(carrier.apiKey, shipmentId, step)).status).toBe(200);
      const response = await ack(carrier.apiKey, shipmentId, to);
      expect(response.status).toBe(409);
      expect(response.json().error.code).toBe('INVALID_STATE_TRANSITION');
    },
  );

  it('when the same ack is sent twice, then the second answers the same state', async () => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    const { shipmentId } = await shipmentOf(order);
    const first = (await ack(carrier.apiKey, shipmentId, 'PICKED_UP')).json();
    const second = await ack(carrier.apiKey, shipmentId, 'PICKED_UP');
    expect(second.status).toBe(200);
    expect(second.json()).toEqual(first);
  });

  it('when the order is cancelled before pick-up, then the shipment is withdrawn and cannot be picked up', async () => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    await transition(t, checkout, order.orderNo, 'cancel').expect(200);
    const item = await shipmentOf(order);
    expect(item).toMatchObject({ status: 'CANCELLED', consignee: null, withheld: 'WITHDRAWN' });
    expect(JSON.stringify(item)).not.toContain(order.consignee.name);
    const response = await ack(carrier.apiKey, item.shipmentId, 'PICKED_UP');
    expect(response.status).toBe(409);
  });

  it('when another carrier acks, then 404 NOT_FOUND and nothing changes', async () => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    const { shipmentId } = await shipmentOf(order);
    const response = await ack(otherCarrier, shipmentId, 'PICKED_UP');
    expect(response.status).toBe(404);
    expect(response.json().error.code).toBe('NOT_FOUND');
    expect((await shipmentOf(order)).status).toBe('READY');
  });

  it('when the status is unknown, then 400 on path status', async () => {
    const { shipmentId } = await shipmentOf(forOther);
    const response = await ack(carrier.apiKey, shipmentId, 'LOST');
    expect(response.status).toBe(400);
    expect(response.json().error.details[0].path).toBe('status');
  });
});

describe('receipts', () => {
  it('when a carrier received the consignee data, then the buyer’s export lists it with the delivery purpose', async () => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    await shipmentOf(order);
    const exported = await t
      .http()
      .get(`/v1/identities/${order.buyer.identityId}/export`)
      .set(auth(checkout))
      .expect(200);
    expect(exported.body.disclosures).toEqual([
      {
        at: expect.any(String),
        partnerCode: 'SF',
        role: 'carrier',
        recipient: { name: 'carrier client', contact: DEFAULT_PARTNER.contact },
        fields: ['consignee.name', 'consignee.telephone', 'consignee.address'],
        purpose: 'delivery',
        legalBasis: expect.stringContaining('PIPL art. 13(2)'),
        orderNo: order.orderNo,
        country: 'CN',
      },
    ]);
    const events = await t
      .http()
      .get(`/v1/audit-events?identityId=${order.buyer.identityId}&action=shipment.disclose`)
      .set(auth(auditor))
      .expect(200);
    expect(events.body.items).toEqual([
      expect.objectContaining({
        actor: expect.objectContaining({
          clientId: carrier.id,
          role: 'carrier',
          partnerCode: 'SF',
        }),
        purpose: 'delivery',
        outcome: 'SUCCESS',
        fields: ['consignee.name', 'consignee.telephone', 'consignee.address'],
      }),
    ]);
  });

  it('when a carrier is served, then its receipt names the consignee fields only', async () => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    await shipmentOf(order);
    const receipts = await t.connection
      .collection('disclosure_receipts')
      .find({ identityId: order.buyer.identityId })
      .toArray();
    expect(receipts.map((receipt) => receipt.fields)).toEqual([
      ['consignee.name', 'consignee.telephone', 'consignee.address'],
    ]);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
