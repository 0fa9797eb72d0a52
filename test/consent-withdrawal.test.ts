import {
  approvedOrder,
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

/**
 * Consent can be withdrawn (PIPL art. 15): processing that rests on it stops
 * (no new checkout for the identity, open reservations released, the id-card
 * photos erased) without undoing what was done before.
 */
let t: TestApp;
let key: string;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  key = (await t.clientKey('checkout')).apiKey;
  await catalogue(t, key, ['SKU-1']);
});
afterAll(() => t.close());

const withdraw = (identityId: string, apiKey = key) =>
  t.http().post(`/v1/identities/${identityId}/consent/withdraw`).set(auth(apiKey));

async function withOrders(): Promise<{ buyer: Buyer; open: string; paid: string }> {
  const buyer = await registerBuyer(t, key);
  const paid = await approvedOrder(t, key, buyer, 1000);
  await transition(t, key, paid, 'confirm').expect(200);
  const open = await approvedOrder(t, key, buyer, 2000);
  return { buyer, open, paid };
}

it('when a buyer withdraws consent, then verify refuses with CONSENT_WITHDRAWN and reserves nothing', async () => {
  const buyer = await registerBuyer(t, key);
  const response = await withdraw(buyer.identityId).expect(200);
  expect(response.body).toEqual({
    identityId: buyer.identityId,
    consentWithdrawnAt: expect.any(String),
    releasedOrders: [],
  });

  const refused = await verify(t, key, orderBody(buyer)).expect(200);
  expect(refused.body.decision).toBe('REJECTED');
  expect(refused.body.reasons.map((r: { code: string }) => r.code)).toContain('CONSENT_WITHDRAWN');
  expect((await quota(t, key, buyer.identityId).expect(200)).body.reservedFen).toBe(0);
});

it('when consent is withdrawn with an unpaid reservation, then it is released and a paid order stays', async () => {
  const { buyer, open, paid } = await withOrders();
  const response = await withdraw(buyer.identityId).expect(200);

  expect(response.body.releasedOrders).toEqual([open]);
  expect((await quota(t, key, buyer.identityId).expect(200)).body).toMatchObject({
    usedFen: 100000,
    reservedFen: 0,
  });
  await transition(t, key, open, 'confirm').expect(409);
  void paid;
});

it('when consent is withdrawn, then the id-card photos, which rest on consent alone, are erased', async () => {
  const buyer = await registerBuyer(t, key);
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('synthetic')]);
  await t
    .http()
    .put(`/v1/identities/${buyer.identityId}/photos/front`)
    .set(auth(key))
    .set('Content-Type', 'image/jpeg')
    .send(jpeg)
    .expect(204);
  await withdraw(buyer.identityId).expect(200);

  const photos = await t.connection
    .collection('identity_photos')
    .countDocuments({ identityId: buyer.identityId });
  expect(photos).toBe(0);
});

it('when consent is withdrawn twice, then the second call answers as the first', async () => {
  const buyer = await registerBuyer(t, key);
  const first = (await withdraw(buyer.identityId).expect(200)).body;
  const second = (await withdraw(buyer.identityId).expect(200)).body;
  expect(second.consentWithdrawnAt).toBe(first.consentWithdrawnAt);
});

it('when the identity is unknown, then 404; when a carrier asks, then 403', async () => {
  await withdraw('6a1f8f0e-7f5e-4a0e-9d7c-9a1c3f0b2d11').expect(404);
  const buyer = await registerBuyer(t, key);
  const carrier = (await t.clientKey('carrier', 'SF')).apiKey;
  await withdraw(buyer.identityId, carrier).expect(403);
});

it('when consent is withdrawn, then the access log records it against the person', async () => {
  const buyer = await registerBuyer(t, key);
  await withdraw(buyer.identityId).expect(200);
  const auditor = (await t.clientKey('auditor')).apiKey;
  const events = await t
    .http()
    .get('/v1/audit-events')
    .query({ identityId: buyer.identityId, action: 'identity.update' })
    .set(auth(auditor))
    .expect(200);
  expect(events.body.items).toContainEqual(
    expect.objectContaining({
      purpose: 'consent-withdrawal',
      outcome: 'SUCCESS',
      fields: ['consent'],
    }),
  );
});

it('stores no personal data in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
