import { auth } from './helpers/checkout-fixtures';
import {
  carrierKey,
  confirmedOrder,
  giveWaybill,
  pullAll,
  rawCall,
  waybillFor,
  type ConfirmedOrder,
} from './helpers/disclosure-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * A declaration is lodged with the broker only once the carrier has given its
 * waybill (CEB621 needs logisticsNo), and customs receipts move it through
 * customs' states until release or rejection.
 */
let t: TestApp;
let checkout: string;
let broker: string;
let carrier: string;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  checkout = (await t.clientKey('checkout')).apiKey;
  broker = (await t.clientKey('customs', 'BROKER1')).apiKey;
  carrier = await carrierKey(t, 'SF');
});
afterAll(() => t.close());

const brokerView = async (order: ConfirmedOrder) =>
  (await pullAll(t, broker, '/v1/declarations')).find((item) => item.orderNo === order.orderNo);
const shipmentOf = async (order: ConfirmedOrder) =>
  (await pullAll(t, carrier, '/v1/shipments')).find((item) => item.orderNo === order.orderNo)!;
const shipmentAck = (shipmentId: string, body: object) =>
  t.http().post(`/v1/shipments/${shipmentId}/ack`).set(auth(carrier)).send(body);
const declarationAck = (id: string, body: object) =>
  rawCall(t.http().post(`/v1/declarations/${id}/ack`).set(auth(broker)).send(body));

describe('the waybill', () => {
  it('when an order is confirmed, then the broker sees no declaration until the carrier gives its waybill', async () => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    expect(await brokerView(order)).toBeUndefined();
    const stored = await t.connection
      .collection('declarations')
      .findOne({ orderNo: order.orderNo });
    await t.http().get(`/v1/declarations/${stored!.id}`).set(auth(broker)).expect(404);

    const shipment = await shipmentOf(order);
    const accepted = await shipmentAck(shipment.shipmentId, {
      status: 'ACCEPTED',
      logisticsNo: 'SF1234567890AB',
    }).expect(200);

    expect(accepted.body).toMatchObject({ status: 'ACCEPTED', logisticsNo: 'SF1234567890AB' });
    expect(await brokerView(order)).toMatchObject({
      status: 'READY',
      logisticsNo: 'SF1234567890AB',
    });
  });

  it('when the carrier repeats its waybill, then the same answer; another waybill is 409', async () => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    const shipment = await shipmentOf(order);
    const body = { status: 'ACCEPTED', logisticsNo: 'YT0000000001' };
    await shipmentAck(shipment.shipmentId, body).expect(200);

    await shipmentAck(shipment.shipmentId, body).expect(200);
    const other = await shipmentAck(shipment.shipmentId, { ...body, logisticsNo: 'YT0000000002' });

    expect(other.status).toBe(409);
    expect((await brokerView(order))!.logisticsNo).toBe('YT0000000001');
  });

  it.each([
    ['missing', { status: 'ACCEPTED' }],
    ['longer than 60', { status: 'ACCEPTED', logisticsNo: 'A'.repeat(61) }],
    ['shaped like a phone', { status: 'ACCEPTED', logisticsNo: '13812345678' }],
    ['given with another status', { status: 'DELIVERED', logisticsNo: 'SF1' }],
  ])('when the waybill is %s, then 400 on logisticsNo', async (_label, body) => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    const shipment = await shipmentOf(order);
    const response = await shipmentAck(shipment.shipmentId, body).expect(400);
    expect(response.body.error.details.map((d: { path: string }) => d.path)).toContain(
      'logisticsNo',
    );
    expect(await brokerView(order)).toBeUndefined();
  });

  it('when the carrier picks up without a waybill (contract v1), then it may, and the declaration still waits', async () => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    const shipment = await shipmentOf(order);
    await shipmentAck(shipment.shipmentId, { status: 'PICKED_UP' }).expect(200);
    expect(await brokerView(order)).toBeUndefined();
  });

  it('when the order is cancelled before the waybill, then the declaration is withdrawn and never lodged', async () => {
    const order = await confirmedOrder(t, checkout, { waybill: false });
    await t.http().post(`/v1/orders/${order.orderNo}/cancel`).set(auth(checkout)).expect(200);
    await giveWaybill(t, 'SF', order.orderNo).catch(() => undefined);
    const stored = await t.connection
      .collection('declarations')
      .findOne({ orderNo: order.orderNo });
    expect(stored!.status).toBe('CANCELLED');
  });
});

describe('customs receipts move the declaration', () => {
  async function lodged(): Promise<{ order: ConfirmedOrder; id: string }> {
    const order = await confirmedOrder(t, checkout);
    const view = await brokerView(order);
    expect(view!.logisticsNo).toBe(waybillFor(order.orderNo));
    return { order, id: view!.declarationId };
  }

  it('when customs enters, inspects, detains, reviews and releases, then the status follows each receipt', async () => {
    const { id } = await lodged();
    const statuses: string[] = [];
    for (const returnStatus of ['2', '120', '500', '501', '399', '800', '899']) {
      const response = await declarationAck(id, { returnStatus });
      expect(response.status).toBe(200);
      statuses.push(response.json().status);
    }
    expect(statuses).toEqual([
      'READY',
      'ENTERED',
      'INSPECTION',
      'DETAINED',
      'REVIEWED',
      'ACCEPTED',
      'CLOSED',
    ]);
  });

  it('when customs returns released goods abroad, then RETURNED_ABROAD; a rejection after release is 409', async () => {
    const { id } = await lodged();
    await declarationAck(id, { returnStatus: '800' });
    expect((await declarationAck(id, { returnStatus: '700' })).json().status).toBe(
      'RETURNED_ABROAD',
    );
    expect((await declarationAck(id, { returnStatus: '100' })).status).toBe(409);
  });

  it('when a declaration under inspection is rejected, then REJECTED and the quota comes back', async () => {
    const { order, id } = await lodged();
    await declarationAck(id, { returnStatus: '500' });
    const rejected = await declarationAck(id, { returnStatus: '100' });
    expect(rejected.json().status).toBe('REJECTED');
    const quota = await t
      .http()
      .get(`/v1/identities/${order.buyer.identityId}/quota`)
      .set(auth(checkout))
      .expect(200);
    expect(quota.body.usedFen).toBe(0);
  });

  it.each(['138-1234-5678', '11010519491231002X'])(
    'when the broker note looks like personal data (%s), then 400 on note and nothing is stored',
    async (note) => {
      const { order, id } = await lodged();
      const response = await declarationAck(id, { status: 'ACCEPTED', note });
      expect(response.status).toBe(400);
      expect(response.text).not.toContain(note);
      expect((await brokerView(order))!.status).toBe('READY');
    },
  );
});

it('stores no personal data in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
