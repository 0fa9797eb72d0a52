import { auth } from './helpers/checkout-fixtures';
import { confirmedOrder, pullAll, registerCarrier } from './helpers/disclosure-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { ADMIN_KEY, createTestApp, type TestApp } from './helpers/test-app';

let t: TestApp;
let checkout: string;
let auditor: string;

beforeAll(async () => {
  t = await createTestApp();
  checkout = (await t.clientKey('checkout')).apiKey;
  auditor = (await t.clientKey('auditor')).apiKey;
});
afterAll(() => t.close());

const register = (body: Record<string, unknown>) =>
  t.http().post('/v1/clients').set(auth(ADMIN_KEY)).send(body);

const CARRIER = { name: 'Harbour Express', role: 'carrier', partnerCode: 'HKREG' };
const CONTACT = 'privacy@harbour.example';

describe('POST /v1/clients: where a partner is', () => {
  it('when a carrier is registered without a jurisdiction, then 400 on path jurisdiction', async () => {
    const response = await register({ ...CARRIER, contact: CONTACT }).expect(400);
    expect(response.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'jurisdiction', message: 'is required' }],
    });
  });

  it('when an HK carrier has no crossBorderBasis, then 400 on path crossBorderBasis', async () => {
    const response = await register({ ...CARRIER, jurisdiction: 'HK', contact: CONTACT }).expect(
      400,
    );
    expect(response.body.error.details).toEqual([
      { path: 'crossBorderBasis', message: 'is required' },
    ]);
  });

  it('when a mainland partner names a crossBorderBasis, then 400: there is no transfer to base', async () => {
    const response = await register({
      ...CARRIER,
      jurisdiction: 'CN',
      crossBorderBasis: 'LAW',
      contact: CONTACT,
    }).expect(400);
    expect(response.body.error.details).toEqual([
      { path: 'crossBorderBasis', message: 'is not allowed' },
    ]);
  });

  it.each(['UK', 'XX', 'hk', 'CHN'])(
    'when the jurisdiction is not an ISO 3166-1 alpha-2 code (%s), then 400 on path jurisdiction',
    async (jurisdiction) => {
      const response = await register({
        ...CARRIER,
        jurisdiction,
        crossBorderBasis: 'LAW',
        contact: CONTACT,
      }).expect(400);
      expect(response.body.error.details).toContainEqual({
        path: 'jurisdiction',
        message: 'must be an ISO 3166-1 alpha-2 country code, e.g. CN, HK, JP',
      });
    },
  );

  it.each(['not-a-contact', '12345', '+999'])(
    'when the contact is neither an email nor an E.164 phone (%s), then 400 on path contact',
    async (contact) => {
      const response = await register({ ...CARRIER, jurisdiction: 'CN', contact }).expect(400);
      expect(response.body.error.details).toEqual([
        { path: 'contact', message: 'must be an email or an E.164 phone number' },
      ]);
    },
  );

  it('when a Japanese broker is registered with a phone contact, then the view shows jurisdiction, basis and contact, and the logs do not', async () => {
    const contact = '+81312345678';
    const response = await register({
      name: 'Tokyo Broker',
      role: 'customs',
      partnerCode: 'JPBROKER',
      jurisdiction: 'JP',
      crossBorderBasis: 'LAW',
      contact,
    }).expect(201);
    expect(response.body).toMatchObject({
      partnerCode: 'JPBROKER',
      jurisdiction: 'JP',
      crossBorderBasis: 'LAW',
      contact,
    });
    expect(t.logs.join('')).not.toContain(contact);
  });

  it('when a non-partner role names a jurisdiction, then 400 on path jurisdiction', async () => {
    const response = await register({ name: 'a', role: 'auditor', jurisdiction: 'CN' }).expect(400);
    expect(response.body.error.details).toEqual([
      { path: 'jurisdiction', message: 'is not allowed' },
    ]);
  });
});

describe('disclosures abroad are marked, at home they are not', () => {
  let hkCarrier: { id: string; apiKey: string };
  let broker: { id: string; apiKey: string };
  let identityId: string;

  beforeAll(async () => {
    hkCarrier = await registerCarrier(t, 'HKSHIP', {
      name: 'Harbour Shipping',
      jurisdiction: 'HK',
      crossBorderBasis: 'CONTRACT_NECESSITY',
      contact: '+85221234567',
    });
    broker = await t.clientKey('customs', 'CNBROKER');
    const order = await confirmedOrder(t, checkout, {
      customsCode: 'CNBROKER',
      carrierCode: 'HKSHIP',
    });
    identityId = order.buyer.identityId;
    await pullAll(t, hkCarrier.apiKey, '/v1/shipments');
    await pullAll(t, broker.apiKey, '/v1/declarations');
  });

  it('when an HK carrier receives a consignee, then its receipt records country and basis', async () => {
    const receipts = await t.connection
      .collection('disclosure_receipts')
      .find({ identityId })
      .toArray();
    const carrier = receipts.find((receipt) => receipt.role === 'carrier');
    expect(carrier).toMatchObject({
      partnerCode: 'HKSHIP',
      clientId: hkCarrier.id,
      country: 'HK',
      crossBorderBasis: 'CONTRACT_NECESSITY',
    });
  });

  it('when a mainland broker receives the buyer, then its receipt carries no cross-border basis', async () => {
    const receipt = await t.connection
      .collection('disclosure_receipts')
      .findOne({ identityId, role: 'customs' });
    expect(receipt).toMatchObject({ partnerCode: 'CNBROKER', country: 'CN' });
    expect(receipt).not.toHaveProperty('crossBorderBasis');
  });

  it('when the log is read, then the HK disclosure event carries the transfer and the mainland one none', async () => {
    const list = async (action: string) =>
      (
        await t
          .http()
          .get(`/v1/audit-events?identityId=${identityId}&action=${action}`)
          .set(auth(auditor))
          .expect(200)
      ).body.items;
    const [shipment] = await list('shipment.disclose');
    expect(shipment).toMatchObject({
      outcome: 'SUCCESS',
      actor: { clientId: hkCarrier.id, partnerCode: 'HKSHIP' },
      transfer: { country: 'HK', basis: 'CONTRACT_NECESSITY' },
    });
    const [declaration] = await list('declaration.disclose');
    expect(declaration).toMatchObject({ outcome: 'SUCCESS', actor: { clientId: broker.id } });
    expect(declaration).not.toHaveProperty('transfer');
  });

  it('when the log is exported as ECS, then the transfer is under customs_identity.transfer', async () => {
    const response = await t
      .http()
      .get(`/v1/audit-events/export?identityId=${identityId}`)
      .set(auth(auditor))
      .expect(200);
    const documents = response.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const shipment = documents.find((doc) => doc.event.action === 'shipment.disclose');
    expect(shipment.customs_identity.transfer).toEqual({
      country: 'HK',
      basis: 'CONTRACT_NECESSITY',
    });
    const declaration = documents.find((doc) => doc.event.action === 'declaration.disclose');
    expect(declaration.customs_identity).not.toHaveProperty('transfer');
  });

  it('when events with a transfer are in the log, then verify still answers ok', async () => {
    const response = await t.http().get('/v1/audit-events/verify').set(auth(auditor)).expect(200);
    expect(response.body).toMatchObject({ ok: true });
  });

  it('when a stored transfer is altered, then verify finds the event broken', async () => {
    const events = t.connection.collection('audit_events');
    const marked = await events.findOne({ 'transfer.country': 'HK' });
    expect(marked).not.toBeNull();
    await events.updateOne({ _id: marked!._id }, { $set: { 'transfer.basis': 'LAW' } });
    try {
      const response = await t.http().get('/v1/audit-events/verify').set(auth(auditor)).expect(200);
      expect(response.body.ok).toBe(false);
      expect(response.body.findings).toContainEqual(
        expect.objectContaining({ stream: marked!.stream, seq: marked!.seq }),
      );
    } finally {
      await events.updateOne(
        { _id: marked!._id },
        { $set: { 'transfer.basis': 'CONTRACT_NECESSITY' } },
      );
    }
    const again = await t.http().get('/v1/audit-events/verify').set(auth(auditor)).expect(200);
    expect(again.body.ok).toBe(true);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
