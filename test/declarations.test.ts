import { XMLParser } from 'fast-xml-parser';
import { auth, productBody, quota, transition } from './helpers/checkout-fixtures';
import {
  confirmedOrder,
  decryptEnveloped,
  partnerKeyPair,
  pullAll,
  rawCall,
  verifyDetached,
  type ConfirmedOrder,
  type PartnerKeyPair,
  waybillFor,
  CEB621_TEST_DEFAULTS,
} from './helpers/disclosure-fixtures';
import { ADMIN_KEY, createTestApp, DEFAULT_PARTNER, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';

let t: TestApp;
let checkout: string;
let broker: { id: string; apiKey: string };
let otherBroker: { id: string; apiKey: string };
let carrier: string;
let auditor: string;
let signingCertificate: string;
/** The first broker's orders, consignee someone else than the buyer. */
let orders: ConfirmedOrder[];

const CEB_NS = 'http://www.chinaport.gov.cn/ceb';
const xmlParser = new XMLParser({
  ignoreAttributes: false,
  parseTagValue: false,
  isArray: (name) => name === 'ceb:InventoryList',
});

beforeAll(async () => {
  t = await createTestApp({
    RATE_LIMIT_PER_MINUTE: '100000',
    CEB621_DEFAULTS: JSON.stringify(CEB621_TEST_DEFAULTS),
  });
  checkout = (await t.clientKey('checkout')).apiKey;
  broker = await t.clientKey('customs', 'BROKER1');
  otherBroker = await t.clientKey('customs', 'BROKER2');
  carrier = (await t.clientKey('carrier', 'SF')).apiKey;
  auditor = (await t.clientKey('auditor')).apiKey;
  orders = [];
  for (let i = 0; i < 3; i += 1) {
    orders.push(
      await confirmedOrder(t, checkout, {
        items: [
          { sku: `MILK-${i}`, name: '婴儿奶粉 900g', qty: 2, unitPriceFen: 19900 },
          { sku: `CREAM-${i}`, name: 'Face cream', qty: 1, unitPriceFen: 5 },
        ],
        freightFen: 1000,
        insuranceFen: 250,
      }),
    );
  }
  const certificate = await t
    .http()
    .get('/v1/signing-certificate')
    .set(auth(broker.apiKey))
    .expect(200);
  signingCertificate = certificate.text;
});
afterAll(() => t.close());

async function declarationOf(order: ConfirmedOrder, key = broker.apiKey) {
  const items = await pullAll(t, key, '/v1/declarations');
  const found = items.find((item) => item.orderNo === order.orderNo);
  if (!found) throw new Error('declaration not listed');
  return found;
}

function expectVerifiedSignature(response: { body: Buffer; headers: Record<string, string> }) {
  expect(response.headers['x-signature-scheme']).toBe('cms-detached-rsa-sha256');
  const result = verifyDetached(
    response.body,
    response.headers['x-signature']!,
    signingCertificate,
  );
  expect(result.stderr).toContain('Verification successful');
  expect(result.status).toBe(0);
}

/** No consignee name or phone anywhere in what a broker received (the consignee is not the buyer). */
function expectNoConsigneeContact(serialised: string, order: ConfirmedOrder) {
  expect(serialised).not.toContain(order.consignee.name);
  expect(serialised).not.toContain(order.consignee.phone);
}

describe('GET /v1/declarations', () => {
  it('when an order is confirmed, then its broker lists a READY declaration with the CEB621 fields only', async () => {
    const order = orders[0]!;
    const item = await declarationOf(order);
    expect(item).toEqual({
      declarationId: expect.any(String),
      orderNo: order.orderNo,
      status: 'READY',
      buyer: {
        name: order.buyer.person.name,
        idType: '1',
        idNumber: order.buyer.person.idNumber,
        telephone: order.buyer.person.phone,
      },
      consignee: { address: order.consignee.address },
      goods: [
        {
          gnum: 1,
          sku: 'MILK-0',
          name: '婴儿奶粉 900g',
          qty: 2,
          unitPriceFen: 19900,
          totalPriceFen: 39800,
          hsCode: productBody().hsCode,
        },
        {
          gnum: 2,
          sku: 'CREAM-0',
          name: 'Face cream',
          qty: 1,
          unitPriceFen: 5,
          totalPriceFen: 5,
          hsCode: productBody().hsCode,
        },
      ],
      goodsValueFen: 39805,
      freightFen: 1000,
      insuranceFen: 250,
      taxTotalFen: expect.any(Number),
      carrierCode: 'SF',
      logisticsNo: waybillFor(order.orderNo),
      createdAt: expect.any(String),
      releasedAt: null,
    });
    expect(item.taxTotalFen).toBeGreaterThan(0);
  });

  it('when the broker pulls the list, then the whole response holds no consignee name or phone and is signed', async () => {
    const response = await rawCall(
      t.http().get('/v1/declarations?status=READY').set(auth(broker.apiKey)),
    );
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['cache-control']).toBe('no-store');
    for (const order of orders) {
      expect(response.text).toContain(order.orderNo);
      expectNoConsigneeContact(response.text + JSON.stringify(response.headers), order);
    }
    expectVerifiedSignature(response);
  });

  it('when a second broker pulls, then it sees nothing of the first broker’s orders', async () => {
    const response = await rawCall(t.http().get('/v1/declarations').set(auth(otherBroker.apiKey)));
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ items: [], next: null });
    for (const order of orders) expect(response.text).not.toContain(order.orderNo);
  });

  it('when the list is paged during concurrent inserts, then every earlier record comes exactly once, in order', async () => {
    const pageBroker = await t.clientKey('customs', 'PAGER');
    const first = [];
    for (let i = 0; i < 5; i += 1)
      first.push(await confirmedOrder(t, checkout, { customsCode: 'PAGER' }));
    const seen: string[] = [];
    let after: string | null = null;
    let page = 0;
    do {
      const url: string = `/v1/declarations?limit=2${after ? `&after=${after}` : ''}`;
      const [response] = await Promise.all([
        t.http().get(url).set(auth(pageBroker.apiKey)).expect(200),
        // A new order lands while each page is read.
        page < 3 ? confirmedOrder(t, checkout, { customsCode: 'PAGER' }) : Promise.resolve(null),
      ]);
      seen.push(...response.body.items.map((item: { orderNo: string }) => item.orderNo));
      after = response.body.next;
      page += 1;
    } while (after);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, 5)).toEqual(first.map((order) => order.orderNo));
    expect(seen).toHaveLength(8);
  });

  it.each([
    ['a cursor that is not one', 'after=not-a-cursor', 'after'],
    ['a limit above 100', 'limit=101', 'limit'],
    ['an unknown status', 'status=SHIPPED', 'status'],
    ['an unknown parameter', 'foo=1', 'foo'],
  ])('when the query has %s, then 400 on that path', async (_label, query, path) => {
    const response = await t
      .http()
      .get(`/v1/declarations?${query}`)
      .set(auth(broker.apiKey))
      .expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details[0].path).toBe(path);
  });

  it.each(['checkout', 'auditor'])('when a %s client asks, then 403 FORBIDDEN', async (role) => {
    const { apiKey } = await t.clientKey(role);
    const response = await t.http().get('/v1/declarations').set(auth(apiKey)).expect(403);
    expect(response.body.error.code).toBe('FORBIDDEN');
  });

  it('when a carrier asks, then 403 FORBIDDEN', async () => {
    const response = await t.http().get('/v1/declarations').set(auth(carrier)).expect(403);
    expect(response.body.error.code).toBe('FORBIDDEN');
  });
});

describe('GET /v1/declarations/{id}', () => {
  it('when the broker asks for its declaration, then the item is signed and holds no consignee contact', async () => {
    const order = orders[0]!;
    const { declarationId } = await declarationOf(order);
    const response = await rawCall(
      t.http().get(`/v1/declarations/${declarationId}`).set(auth(broker.apiKey)),
    );
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({
      declarationId,
      orderNo: order.orderNo,
      buyer: { idType: '1' },
    });
    expectNoConsigneeContact(response.text, order);
    expectVerifiedSignature(response);
  });

  it('when another broker asks for it, then 404 exactly like an unknown id', async () => {
    const { declarationId } = await declarationOf(orders[0]!);
    const theirs = await t
      .http()
      .get(`/v1/declarations/${declarationId}`)
      .set(auth(otherBroker.apiKey))
      .expect(404);
    const unknown = await t
      .http()
      .get('/v1/declarations/3f0f4bb4-5bd3-4a3c-9c59-1c1f2a0e0c7d')
      .set(auth(otherBroker.apiKey))
      .expect(404);
    const shape = (body: { error: { requestId: string } }) => ({
      ...body.error,
      requestId: undefined,
    });
    expect(shape(theirs.body)).toEqual(shape(unknown.body));
    expect(theirs.body.error.code).toBe('NOT_FOUND');
    expect(theirs.text).not.toContain(orders[0]!.orderNo);
  });

  it('when the id is not a uuid, then 400 on path declarationId', async () => {
    const response = await t
      .http()
      .get('/v1/declarations/abc')
      .set(auth(broker.apiKey))
      .expect(400);
    expect(response.body.error.details[0].path).toBe('declarationId');
  });

  it('when Accept is text/csv, then 406 NOT_ACCEPTABLE and nothing is disclosed', async () => {
    const { declarationId } = await declarationOf(orders[0]!);
    const response = await t
      .http()
      .get(`/v1/declarations/${declarationId}`)
      .set(auth(broker.apiKey))
      .set('Accept', 'text/csv')
      .set('X-Request-Id', 'req-decl-406')
      .expect(406);
    expect(response.body.error.code).toBe('NOT_ACCEPTABLE');
    expect(
      await t.connection
        .collection('disclosure_receipts')
        .countDocuments({ requestId: 'req-decl-406' }),
    ).toBe(0);
  });
});

describe('CEB621 XML', () => {
  let order: ConfirmedOrder;
  let response: Awaited<ReturnType<typeof rawCall>>;
  let declarationId: string;

  beforeAll(async () => {
    order = orders[1]!;
    declarationId = (await declarationOf(order)).declarationId;
    response = await rawCall(
      t
        .http()
        .get(`/v1/declarations/${declarationId}`)
        .set(auth(broker.apiKey))
        .set('Accept', 'application/xml'),
    );
  });

  it('when the broker asks for XML, then it gets a parseable, signed CEB621Message in the customs namespace', () => {
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/xml/);
    const message = xmlParser.parse(response.text)['ceb:CEB621Message'];
    expect(message['@_xmlns:ceb']).toBe(CEB_NS);
    expect(message['@_guid']).toBe(declarationId.toUpperCase());
    expectVerifiedSignature(response);
  });

  it('when parsed, then the head carries the buyer, the amounts in yuan and Beijing-time stamps', () => {
    const head = xmlParser.parse(response.text)['ceb:CEB621Message']['ceb:Inventory'][
      'ceb:InventoryHead'
    ];
    expect(head).toMatchObject({
      'ceb:orderNo': order.orderNo,
      // The service's own short number: the declaration id's first 20 hex digits.
      'ceb:copNo': declarationId.replace(/-/g, '').slice(0, 20).toUpperCase(),
      'ceb:logisticsNo': waybillFor(order.orderNo),
      'ceb:appStatus': '2',
      'ceb:ieFlag': 'I',
      'ceb:currency': '142',
      'ceb:buyerIdType': '1',
      'ceb:buyerIdNumber': order.buyer.person.idNumber,
      'ceb:buyerName': order.buyer.person.name,
      'ceb:buyerTelephone': order.buyer.person.phone,
      'ceb:consigneeAddress': order.consignee.address,
      'ceb:agentCode': 'BROKER1',
      'ceb:logisticsCode': 'SF',
      'ceb:freight': '10.00',
      'ceb:insuredFee': '2.50',
      'ceb:portCode': '2244',
      'ceb:customsCode': '2244',
      'ceb:ebpCode': 'EBP0000001',
      'ceb:tradeMode': '1210',
      // No weights given at confirm: 3 pieces of 0.5 kg from the catalogue.
      'ceb:grossWeight': '1.5',
      'ceb:netWeight': '1.5',
    });
    expect(head['ceb:appTime']).toMatch(/^\d{14}$/);
    const beijingNow = new Date(Date.now() + 8 * 3600_000)
      .toISOString()
      .slice(0, 10)
      .replace(/-/g, '');
    expect(head['ceb:declTime']).toBe(beijingNow);
    expect(head['ceb:appTime'].slice(0, 8)).toBe(beijingNow);
  });

  it('when parsed, then each goods line is an InventoryList with yuan prices', () => {
    const message = xmlParser.parse(response.text)['ceb:CEB621Message'];
    expect(message['ceb:Inventory']['ceb:InventoryList']).toEqual([
      expect.objectContaining({
        'ceb:gnum': '1',
        'ceb:itemNo': 'MILK-1',
        'ceb:itemName': '婴儿奶粉 900g',
        // Declared as catalogued: name, HS code, spec, units, origin, legal quantity.
        'ceb:gname': productBody().name,
        'ceb:gcode': productBody().hsCode,
        'ceb:gmodel': productBody().spec,
        'ceb:qty': '2',
        'ceb:unit': productBody().unit,
        'ceb:qty1': '0.1',
        'ceb:unit1': productBody().legalUnit,
        'ceb:country': productBody().originCountry,
        'ceb:price': '199.00',
        'ceb:totalPrice': '398.00',
        'ceb:currency': '142',
      }),
      expect.objectContaining({ 'ceb:gnum': '2', 'ceb:price': '0.05', 'ceb:totalPrice': '0.05' }),
    ]);
    expect(message['ceb:BaseTransfer']['ceb:copCode']).toBe('COP0000001');
  });

  it('when serialised, then no consignee name or phone is anywhere in the XML', () => {
    expectNoConsigneeContact(response.text, order);
  });
});

describe('enveloped payloads (Accept: application/pkcs7-mime)', () => {
  let partner: PartnerKeyPair;

  beforeAll(() => {
    partner = partnerKeyPair('Broker One Ltd');
  });

  it('when no certificate is registered, then 406 NOT_ACCEPTABLE', async () => {
    const response = await t
      .http()
      .get('/v1/declarations')
      .set(auth(broker.apiKey))
      .set('Accept', 'application/pkcs7-mime')
      .expect(406);
    expect(response.body.error.code).toBe('NOT_ACCEPTABLE');
  });

  it('when the admin registers the broker certificate, then 200 with its summary', async () => {
    const response = await t
      .http()
      .put(`/v1/clients/${broker.id}/certificate`)
      .set(auth(ADMIN_KEY))
      .set('Content-Type', 'application/x-pem-file')
      .send(partner.certificatePem)
      .expect(200);
    expect(response.body).toEqual({
      clientId: broker.id,
      certificate: expect.objectContaining({
        subject: 'CN=Broker One Ltd',
        fingerprintSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      }),
    });
  });

  it('when the broker asks for pkcs7-mime, then openssl decrypts the payload with its key and the signature verifies', async () => {
    const order = orders[2]!;
    const { declarationId } = await declarationOf(order);
    const response = await rawCall(
      t
        .http()
        .get(`/v1/declarations/${declarationId}`)
        .set(auth(broker.apiKey))
        .set('Accept', 'application/pkcs7-mime'),
    );
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(
      /^application\/pkcs7-mime; smime-type=enveloped-data/,
    );
    expectVerifiedSignature(response);
    // Neither the broker's data nor anything else is readable without its key.
    expect(response.body.includes(Buffer.from(order.buyer.person.idNumber))).toBe(false);
    const decrypted = decryptEnveloped(response.body, partner);
    expect(decrypted.status).toBe(0);
    const item = JSON.parse(decrypted.stdout.toString('utf8'));
    expect(item).toMatchObject({
      declarationId,
      buyer: { idNumber: order.buyer.person.idNumber, name: order.buyer.person.name },
    });
    expectNoConsigneeContact(decrypted.stdout.toString('utf8'), order);
  });

  it('when the broker pulls the list as pkcs7-mime, then it decrypts to the JSON list', async () => {
    const response = await rawCall(
      t
        .http()
        .get('/v1/declarations?limit=2')
        .set(auth(broker.apiKey))
        .set('Accept', 'application/pkcs7-mime'),
    );
    expect(response.status).toBe(200);
    const list = JSON.parse(decryptEnveloped(response.body, partner).stdout.toString('utf8'));
    expect(list.items).toHaveLength(2);
    expect(typeof list.next).toBe('string');
  });

  it('when another partner key tries the envelope, then it does not decrypt to the payload', async () => {
    const { declarationId } = await declarationOf(orders[2]!);
    const response = await rawCall(
      t
        .http()
        .get(`/v1/declarations/${declarationId}`)
        .set(auth(broker.apiKey))
        .set('Accept', 'application/pkcs7-mime'),
    );
    const stolen = decryptEnveloped(response.body, partnerKeyPair('Intruder'));
    expect(stolen.stdout.toString('utf8')).not.toContain(declarationId);
  });
});

describe('GET /v1/signing-certificate', () => {
  it('when any client asks, then it gets the PEM certificate', async () => {
    const response = await t.http().get('/v1/signing-certificate').set(auth(carrier)).expect(200);
    expect(response.headers['content-type']).toMatch(/^application\/x-pem-file/);
    expect(response.text).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(response.text).toBe(signingCertificate);
  });

  it('when nobody is authenticated, then 401', async () => {
    await t.http().get('/v1/signing-certificate').expect(401);
  });
});

describe('POST /v1/declarations/{id}/ack', () => {
  const ack = (key: string, id: string, body: object) =>
    rawCall(t.http().post(`/v1/declarations/${id}/ack`).set(auth(key)).send(body));

  it('when customs accepts, then ACCEPTED with the release time, signed, and the order can be returned', async () => {
    const order = await confirmedOrder(t, checkout);
    const { declarationId } = await declarationOf(order);
    // Not before the broker received the declaration (declaration-receipts.test.ts).
    const releasedAt = new Date().toISOString();
    const response = await ack(broker.apiKey, declarationId, { status: 'ACCEPTED', releasedAt });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      declarationId,
      orderNo: order.orderNo,
      status: 'ACCEPTED',
      returnStatus: '800',
      ackedAt: expect.any(String),
      releasedAt,
    });
    expectVerifiedSignature(response);
    expect((await declarationOf(order)).releasedAt).toBe(releasedAt);
    // The return window counts from the recorded release: a return is allowed now.
    await transition(t, checkout, order.orderNo, 'return').expect(200);
  });

  it('when customs accepts without a release time, then the ack time is the release time', async () => {
    const order = await confirmedOrder(t, checkout);
    const { declarationId } = await declarationOf(order);
    const before = Date.now();
    const response = await ack(broker.apiKey, declarationId, { status: 'ACCEPTED' });
    expect(new Date(response.json().releasedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it('when an accepted declaration is rejected, then 409 INVALID_STATE_TRANSITION; the same ack again is 200', async () => {
    const order = await confirmedOrder(t, checkout);
    const { declarationId } = await declarationOf(order);
    expect((await ack(broker.apiKey, declarationId, { status: 'ACCEPTED' })).status).toBe(200);
    const refused = await ack(broker.apiKey, declarationId, { status: 'REJECTED' });
    expect(refused.status).toBe(409);
    expect(refused.json().error.code).toBe('INVALID_STATE_TRANSITION');
    const replay = await ack(broker.apiKey, declarationId, { status: 'ACCEPTED' });
    expect(replay.status).toBe(200);
    expect(replay.json().status).toBe('ACCEPTED');
  });

  it('when customs rejects, then the order value goes back to the buyer’s quota and the shipment is withdrawn', async () => {
    const order = await confirmedOrder(t, checkout, { items: [{ qty: 1, unitPriceFen: 123400 }] });
    const used = (await quota(t, checkout, order.buyer.identityId).expect(200)).body;
    expect(used.usedFen).toBe(order.taxableFen);
    const { declarationId } = await declarationOf(order);
    const response = await ack(broker.apiKey, declarationId, {
      status: 'REJECTED',
      note: 'HS code mismatch',
    });
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ status: 'REJECTED', releasedAt: null });
    const restored = (await quota(t, checkout, order.buyer.identityId).expect(200)).body;
    expect(restored.usedFen).toBe(0);
    expect(restored.remainingFen).toBe(used.remainingFen + order.taxableFen);
    const shipments = await pullAll(t, carrier, '/v1/shipments');
    expect(shipments.find((item) => item.orderNo === order.orderNo)).toMatchObject({
      status: 'CANCELLED',
      consignee: null,
      withheld: 'WITHDRAWN',
    });
    // A retried rejection gives nothing back twice.
    expect((await ack(broker.apiKey, declarationId, { status: 'REJECTED' })).status).toBe(200);
    expect((await quota(t, checkout, order.buyer.identityId).expect(200)).body.usedFen).toBe(0);
  });

  it('when two acks race, then exactly one status wins and the other is 409', async () => {
    const order = await confirmedOrder(t, checkout);
    const { declarationId } = await declarationOf(order);
    const [a, b] = await Promise.all([
      ack(broker.apiKey, declarationId, { status: 'ACCEPTED' }),
      ack(broker.apiKey, declarationId, { status: 'REJECTED' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const winner = a.status === 200 ? 'ACCEPTED' : 'REJECTED';
    expect((await declarationOf(order)).status).toBe(winner);
    const usedFen = (await quota(t, checkout, order.buyer.identityId).expect(200)).body.usedFen;
    expect(usedFen).toBe(winner === 'ACCEPTED' ? order.taxableFen : 0);
  });

  it('when the order was cancelled, then the declaration is withdrawn: no personal data, no XML, ack 409', async () => {
    const order = await confirmedOrder(t, checkout);
    await transition(t, checkout, order.orderNo, 'cancel').expect(200);
    const item = await declarationOf(order);
    expect(item).toMatchObject({
      status: 'CANCELLED',
      buyer: null,
      consignee: null,
      withheld: 'WITHDRAWN',
    });
    const xml = await t
      .http()
      .get(`/v1/declarations/${item.declarationId}`)
      .set(auth(broker.apiKey))
      .set('Accept', 'application/xml')
      .expect(409);
    expect(xml.body.error.code).toBe('DISCLOSURE_WITHHELD');
    const refused = await ack(broker.apiKey, item.declarationId, { status: 'ACCEPTED' });
    expect(refused.status).toBe(409);
    expect(refused.json().error.code).toBe('INVALID_STATE_TRANSITION');
  });

  it('when another broker acks, then 404 and nothing changes', async () => {
    const order = await confirmedOrder(t, checkout);
    const { declarationId } = await declarationOf(order);
    const response = await ack(otherBroker.apiKey, declarationId, { status: 'REJECTED' });
    expect(response.status).toBe(404);
    expect((await declarationOf(order)).status).toBe('READY');
  });

  it.each([
    ['an unknown status', { status: 'DONE' }, 'status'],
    ['no status', {}, 'status'],
    ['an unknown field', { status: 'ACCEPTED', extra: 1 }, 'extra'],
  ])('when the body has %s, then 400 on that path', async (_label, body, path) => {
    const { declarationId } = await declarationOf(orders[0]!);
    const response = await ack(broker.apiKey, declarationId, body);
    expect(response.status).toBe(400);
    expect(response.json().error.details[0].path).toBe(path);
  });
});

describe('receipts and the access log', () => {
  it('when a broker received a subject’s data, then the export lists it and the log holds the events', async () => {
    const order = await confirmedOrder(t, checkout);
    const { declarationId } = await declarationOf(order);
    await rawCall(
      t
        .http()
        .get(`/v1/declarations/${declarationId}`)
        .set(auth(broker.apiKey))
        .set('Accept', 'application/xml')
        .set('X-Request-Id', 'req-xml-receipt'),
    );
    const exported = await t
      .http()
      .get(`/v1/identities/${order.buyer.identityId}/export`)
      .set(auth(checkout))
      .expect(200);
    const fields = [
      'buyer.name',
      'buyer.idType',
      'buyer.idNumber',
      'buyer.telephone',
      'consignee.address',
    ];
    const disclosures = exported.body.disclosures.filter(
      (entry: { role: string }) => entry.role === 'customs',
    );
    // One from the list pull (declarationOf), one from the XML.
    expect(disclosures).toHaveLength(2);
    for (const entry of disclosures) {
      expect(entry).toEqual({
        at: expect.any(String),
        partnerCode: 'BROKER1',
        role: 'customs',
        recipient: { name: 'customs client', contact: DEFAULT_PARTNER.contact },
        fields,
        purpose: 'customs-clearance',
        legalBasis: expect.stringContaining('art. 13(3) legal obligation'),
        orderNo: order.orderNo,
        country: 'CN',
      });
    }

    const events = await t
      .http()
      .get(`/v1/audit-events?identityId=${order.buyer.identityId}&action=declaration.disclose`)
      .set(auth(auditor))
      .expect(200);
    expect(events.body.items).toHaveLength(2);
    for (const event of events.body.items) {
      expect(event).toMatchObject({
        actor: { clientId: broker.id, role: 'customs', partnerCode: 'BROKER1' },
        action: 'declaration.disclose',
        purpose: 'customs-clearance',
        outcome: 'SUCCESS',
        fields,
      });
    }
    expect(JSON.stringify(events.body)).not.toContain(order.buyer.person.idNumber);
    const receipt = await t.connection
      .collection('disclosure_receipts')
      .findOne({ requestId: 'req-xml-receipt' });
    expect(receipt).toMatchObject({
      resourceType: 'declaration',
      resourceId: declarationId,
      role: 'customs',
    });
  });

  it('when another broker probes an id, then the attempt is a DENIED event', async () => {
    const { declarationId } = await declarationOf(orders[0]!);
    await t
      .http()
      .get(`/v1/declarations/${declarationId}`)
      .set(auth(otherBroker.apiKey))
      .set('X-Request-Id', 'req-probe')
      .expect(404);
    const events = await t
      .http()
      .get(`/v1/audit-events?outcome=DENIED&limit=100`)
      .set(auth(auditor))
      .expect(200);
    expect(
      events.body.items.find((event: { requestId: string }) => event.requestId === 'req-probe'),
    ).toMatchObject({
      action: 'declaration.disclose',
      actor: { partnerCode: 'BROKER2' },
    });
  });

  it('when the buyer’s identity is deleted, then the declaration is restricted: no personal data, a FAILED event, no receipt', async () => {
    const order = await confirmedOrder(t, checkout);
    const { declarationId } = await declarationOf(order);
    await t
      .http()
      .delete(`/v1/identities/${order.buyer.identityId}`)
      .set(auth(checkout))
      .expect(204);
    const response = await rawCall(
      t
        .http()
        .get(`/v1/declarations/${declarationId}`)
        .set(auth(broker.apiKey))
        .set('X-Request-Id', 'req-restricted'),
    );
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ buyer: null, consignee: null, withheld: 'RESTRICTED' });
    expect(response.text).not.toContain(order.buyer.person.idNumber);
    expect(
      await t.connection
        .collection('disclosure_receipts')
        .countDocuments({ requestId: 'req-restricted' }),
    ).toBe(0);
    const events = await t
      .http()
      .get(`/v1/audit-events?outcome=FAILED&limit=100`)
      .set(auth(auditor))
      .expect(200);
    expect(
      events.body.items.find(
        (event: { requestId: string }) => event.requestId === 'req-restricted',
      ),
    ).toMatchObject({ action: 'declaration.disclose' });
  });

  it('when the disclosure cannot be logged, then 503 and no personal data (fail closed)', async () => {
    const order = await confirmedOrder(t, checkout);
    const { declarationId } = await declarationOf(order);
    // Block the access log's next append (see audit-fail-closed.test.ts): the unique
    // (stream, seq) index then refuses the app's own write.
    const eventsCollection = t.connection.collection('audit_events');
    await t.http().get('/v1/audit-events?limit=1').set(auth(auditor)).expect(200);
    const latest = await eventsCollection.find().sort({ at: -1, seq: -1 }).limit(1).next();
    const position = { stream: latest!.stream as string, seq: (latest!.seq as number) + 1 };
    await eventsCollection.insertOne({
      _id: `${position.stream}:${position.seq}`,
      ...position,
    } as never);

    const response = await rawCall(
      t
        .http()
        .get(`/v1/declarations/${declarationId}`)
        .set(auth(broker.apiKey))
        .set('X-Request-Id', 'req-blocked'),
    );
    expect(response.status).toBe(503);
    expect(response.json().error.code).toBe('SERVICE_UNAVAILABLE');
    expect(response.text).not.toContain(order.buyer.person.idNumber);
    expect(response.text).not.toContain(order.buyer.person.name);
    expect(
      await t.connection
        .collection('disclosure_receipts')
        .countDocuments({ requestId: 'req-blocked' }),
    ).toBe(0);
    await eventsCollection.deleteOne({ _id: `${position.stream}:${position.seq}` } as never);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
