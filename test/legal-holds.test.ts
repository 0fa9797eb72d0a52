import { openConsignee } from '../src/quota/order-fields';
import { HOLD_BASIS } from '../src/retention/retention-types';
import { auth } from './helpers/auth';
import {
  CEB621_TEST_DEFAULTS,
  confirmedOrder,
  pullAll,
  type ConfirmedOrder,
} from './helpers/disclosure-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';

let t: TestApp;
let checkout: string;
let broker: string;
let carrier: string;
let auditor: string;
let legal: string;

const COURT_ORDER = {
  requestType: 'COURT_ORDER',
  requestedBy: 'Pudong New Area People’s Court',
  reference: 'PD-2026-CIV-0042',
  reason: 'Civil case on a disputed cross-border purchase',
};

beforeAll(async () => {
  t = await createTestApp({
    RATE_LIMIT_PER_MINUTE: '100000',
    CEB621_DEFAULTS: JSON.stringify(CEB621_TEST_DEFAULTS),
  });
  checkout = (await t.clientKey('checkout')).apiKey;
  broker = (await t.clientKey('customs', 'BROKER1')).apiKey;
  carrier = (await t.clientKey('carrier', 'SF')).apiKey;
  auditor = (await t.clientKey('auditor')).apiKey;
  legal = (await t.clientKey('legal')).apiKey;
});
afterAll(() => t.close());

async function declarationOf(order: ConfirmedOrder) {
  const found = (await pullAll(t, broker, '/v1/declarations')).find(
    (item) => item.orderNo === order.orderNo,
  );
  if (!found) throw new Error('declaration not listed');
  return found;
}

/** A confirmed order customs released: a completed transaction record. */
async function releasedOrder(): Promise<ConfirmedOrder & { declarationId: string }> {
  const order = await confirmedOrder(t, checkout);
  const { declarationId } = await declarationOf(order);
  await t
    .http()
    .post(`/v1/declarations/${declarationId}/ack`)
    .set(auth(broker))
    .send({ status: 'ACCEPTED' })
    .expect(200);
  return { ...order, declarationId };
}

const holdsOf = (identityId: string) =>
  t.http().get(`/v1/legal-holds?identityId=${identityId}`).set(auth(legal));

describe('deleting a buyer with a released order', () => {
  let order: ConfirmedOrder & { declarationId: string };
  let holdId: string;

  beforeAll(async () => {
    order = await releasedOrder();
    await t
      .http()
      .delete(`/v1/identities/${order.buyer.identityId}`)
      .set(auth(checkout))
      .expect(204);
    const listed = await holdsOf(order.buyer.identityId).expect(200);
    holdId = listed.body.items[0].holdId;
  });

  it('when deleted, then the identity is 404 and one hold keeps the order, without its sealed data in the list', async () => {
    await t.http().get(`/v1/identities/${order.buyer.identityId}`).set(auth(checkout)).expect(404);
    const listed = await holdsOf(order.buyer.identityId).expect(200);
    expect(listed.body.items).toEqual([
      expect.objectContaining({
        holdId,
        identityId: order.buyer.identityId,
        orderNos: [order.orderNo],
        basis: HOLD_BASIS,
        status: 'HELD',
        destroyedAt: null,
      }),
    ]);
    expect(listed.body.items[0]).not.toHaveProperty('sealed');
    const heldUntil = new Date(listed.body.items[0].heldUntil).getTime();
    const threeYears = 3 * 365 * 24 * 3600 * 1000;
    expect(heldUntil - Date.now()).toBeGreaterThan(threeYears - 24 * 3600 * 1000);
  });

  it('when the database is read, then the subject key is gone and nothing under it can be opened', async () => {
    const { identityId } = order.buyer;
    const key = await t.connection.collection('subject_keys').findOne({ subjectId: identityId });
    expect(key).toMatchObject({ wrappedKey: null, destroyedAt: expect.any(Date) });
    const identity = await t.connection.collection('identities').findOne({ id: identityId });
    expect(identity).toMatchObject({ status: 'DELETED', name: null, idNumber: null, phone: null });
    const stored = await t.connection
      .collection<{ _id: string; consignee: string }>('orders')
      .findOne({ _id: order.orderNo });
    await expect(
      openConsignee(t.fieldCipher, { identityId, orderNo: order.orderNo }, stored!.consignee),
    ).rejects.toMatchObject({ name: 'DecryptionFailed' });
    const hold = await t.connection.collection('legal_holds').findOne({ identityId });
    expect(hold!.sealed).toMatch(/^lr1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const raw = JSON.stringify(hold);
    expect(raw).not.toContain(order.buyer.person.idNumber);
    expect(raw).not.toContain(order.consignee.phone);
  });

  it('when the legal office reads the hold with a court order, then the buyer and consignee come back, logged and recorded on the hold', async () => {
    const response = await t
      .http()
      .post(`/v1/legal-holds/${holdId}/disclose`)
      .set(auth(legal))
      .set('X-Request-Id', 'req-court-order')
      .send(COURT_ORDER)
      .expect(200);
    expect(response.body.buyer).toEqual({
      name: order.buyer.person.name,
      idNumber: order.buyer.person.idNumber,
      phone: order.buyer.person.phone,
    });
    expect(response.body.orders).toEqual([
      expect.objectContaining({
        orderNo: order.orderNo,
        consignee: order.consignee,
        status: 'CUSTOMS_RELEASED',
      }),
    ]);
    const events = await t
      .http()
      .get(`/v1/audit-events?action=identity.legal-hold-read&identityId=${order.buyer.identityId}`)
      .set(auth(auditor))
      .expect(200);
    expect(events.body.items).toEqual([
      expect.objectContaining({
        purpose: 'legal-request',
        outcome: 'SUCCESS',
        requestId: 'req-court-order',
        subjectRef: expect.any(String),
        resource: { route: '/v1/legal-holds/:holdId/disclose', id: holdId },
      }),
    ]);
    const listed = await holdsOf(order.buyer.identityId).expect(200);
    expect(listed.body.items[0].accessRequests).toEqual([
      { ...COURT_ORDER, clientId: expect.any(String), at: expect.any(String) },
    ]);
  });

  it('when checkout, customs, carrier, auditor or admin ask, then 403 and nothing is recorded on the hold', async () => {
    for (const key of [checkout, broker, carrier, auditor, ADMIN_KEY]) {
      const refused = await t
        .http()
        .post(`/v1/legal-holds/${holdId}/disclose`)
        .set(auth(key))
        .send(COURT_ORDER);
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('FORBIDDEN');
      await t.http().get('/v1/legal-holds').set(auth(key)).expect(403);
    }
    const hold = await t.connection.collection('legal_holds').findOne({ _id: holdId as never });
    expect(hold!.accessRequests).toHaveLength(1);
  });

  it('when a request names no authority or carries an id number, then 400', async () => {
    const { requestedBy, ...anonymous } = COURT_ORDER;
    void requestedBy;
    const missing = await t
      .http()
      .post(`/v1/legal-holds/${holdId}/disclose`)
      .set(auth(legal))
      .send(anonymous);
    expect(missing.status).toBe(400);
    const personal = await t
      .http()
      .post(`/v1/legal-holds/${holdId}/disclose`)
      .set(auth(legal))
      .send({ ...COURT_ORDER, reason: `about ${order.buyer.person.idNumber}` });
    expect(personal.status).toBe(400);
    expect(personal.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('when an unknown hold is asked for, then 404', async () => {
    const response = await t
      .http()
      .post('/v1/legal-holds/hold-00000000-0000-4000-8000-000000000000/disclose')
      .set(auth(legal))
      .send(COURT_ORDER);
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });

  it('when the broker pulls the declaration of the erased buyer, then it is RESTRICTED: no personal data', async () => {
    const declaration = await t
      .http()
      .get(`/v1/declarations/${order.declarationId}`)
      .set(auth(broker))
      .set('Accept', 'application/json');
    expect(declaration.status).toBe(200);
    expect(declaration.body).toMatchObject({
      buyer: null,
      consignee: null,
      withheld: 'RESTRICTED',
    });
    expect(declaration.text).not.toContain(order.buyer.person.idNumber);
  });
});

it('when a buyer with no confirmed order is deleted, then no hold is written', async () => {
  const order = await confirmedOrder(t, checkout, { confirm: false });
  await t.http().delete(`/v1/identities/${order.buyer.identityId}`).set(auth(checkout)).expect(204);
  expect((await holdsOf(order.buyer.identityId).expect(200)).body.items).toEqual([]);
});

it('when the hold cannot be written, then the delete answers 503 and the identity and its key are intact; a retry deletes', async () => {
  const order = await releasedOrder();
  const holds = t.connection.collection('legal_holds');
  // The database refuses this buyer's hold: a unique index whose value another document holds.
  const { identityId } = order.buyer;
  await holds.insertOne({ _id: 'blocker' as never, identityId, basis: HOLD_BASIS });
  await holds.createIndex({ identityId: 1, basis: 1 }, { unique: true, name: 'block_holds' });
  try {
    const refused = await t
      .http()
      .delete(`/v1/identities/${order.buyer.identityId}`)
      .set(auth(checkout));
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('SERVICE_UNAVAILABLE');
  } finally {
    await holds.dropIndex('block_holds');
    await holds.deleteOne({ _id: 'blocker' as never });
  }
  await t.http().get(`/v1/identities/${order.buyer.identityId}`).set(auth(checkout)).expect(200);
  const key = await t.connection
    .collection('subject_keys')
    .findOne({ subjectId: order.buyer.identityId });
  expect(key).toMatchObject({ wrappedKey: expect.any(String), destroyedAt: null });
  await t.http().delete(`/v1/identities/${order.buyer.identityId}`).set(auth(checkout)).expect(204);
  expect((await holdsOf(order.buyer.identityId).expect(200)).body.items).toHaveLength(1);
});

it('stores no personal data in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
