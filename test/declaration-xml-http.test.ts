import { auth, orderBody, productBody, registerBuyer, verify } from './helpers/checkout-fixtures';
import { parseXml, schemaErrors, signatureVerifies } from './helpers/ceb621-checks';
import { CEB621_TEST_DEFAULTS, giveWaybill, pullAll } from './helpers/disclosure-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * From the catalogue to the broker's signed, schema-valid CEB621, through
 * HTTP only: products with different HS codes, a multi-item order, confirm
 * with parcel weights, the carrier's waybill, the broker's XML.
 */
let t: TestApp;
let checkout: string;
let broker: string;
let certificatePem: string;

beforeAll(async () => {
  t = await createTestApp({
    RATE_LIMIT_PER_MINUTE: '100000',
    CEB621_DEFAULTS: JSON.stringify({
      ...CEB621_TEST_DEFAULTS,
      // Markup in a configured name must arrive escaped and exact.
      head: { ...CEB621_TEST_DEFAULTS.head, ebpName: 'Example Mall & Co <Global>' },
    }),
  });
  checkout = (await t.clientKey('checkout')).apiKey;
  broker = (await t.clientKey('customs', 'BROKER1')).apiKey;
  certificatePem = (await t.http().get('/v1/signing-certificate').set(auth(broker)).expect(200))
    .text;
});
afterAll(() => t.close());

const PRODUCTS = {
  'MILK-900': productBody({
    name: '婴儿奶粉 & <配方>',
    hsCode: '1901101000',
    spec: '900g/罐',
    unit: '122',
    legalUnit: '035',
    legalQtyPerUnit: '0.9',
    netWeightKg: '0.9',
  }),
  'CREAM-50': productBody({
    name: '面霜 &amp; 精华 ]]>',
    hsCode: '3304990099',
    spec: '50ml',
    unit: '142',
    legalUnit: '036',
    legalQtyPerUnit: '50',
    secondUnit: '035',
    secondQtyPerUnit: '0.05',
    netWeightKg: '0.08',
  }),
  'WATCH-1': productBody({
    name: '手表 &xxe;',
    hsCode: '9102110000',
    spec: 'Quartz',
    unit: '007',
    legalUnit: '007',
    legalQtyPerUnit: '1',
    barCode: '4901234567894',
    netWeightKg: '0.12',
  }),
};

async function listedDeclaration(parcel?: object) {
  for (const [sku, product] of Object.entries(PRODUCTS)) {
    await t
      .http()
      .put(`/v1/products/${sku}`)
      .set(auth(checkout))
      .send(product)
      .expect((r) => {
        if (r.status !== 200 && r.status !== 201) throw new Error(`catalogue ${r.status}`);
      });
  }
  const buyer = await registerBuyer(t, checkout);
  const body = orderBody(buyer, {
    items: [
      { sku: 'MILK-900', name: 'Milk & <powder>', qty: 2, unitPriceFen: 19900 },
      { sku: 'CREAM-50', name: 'Cream', qty: 1, unitPriceFen: 8800 },
      { sku: 'WATCH-1', name: 'Watch', qty: 1, unitPriceFen: 59900 },
    ],
    freightFen: 1000,
  });
  expect((await verify(t, checkout, body).expect(200)).body.decision).toBe('APPROVED');
  const confirm = t.http().post(`/v1/orders/${body.orderNo}/confirm`).set(auth(checkout));
  await (parcel ? confirm.send(parcel) : confirm).expect(200);
  await giveWaybill(t, 'SF', body.orderNo);
  const listed = (await pullAll(t, broker, '/v1/declarations')).find(
    (d) => d.orderNo === body.orderNo,
  )!;
  return { orderNo: body.orderNo, declarationId: listed.declarationId as string };
}

/** The broker's `Accept: application/xml` GET of one declaration. */
const fetchXml = (declarationId: string) =>
  t
    .http()
    .get(`/v1/declarations/${declarationId}`)
    .set(auth(broker))
    .set('Accept', 'application/xml')
    .buffer(true)
    .parse((res, done) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => done(null, text));
    });

async function declaredOrder(parcel?: object) {
  const { orderNo, declarationId } = await listedDeclaration(parcel);
  const xml = await fetchXml(declarationId).expect(200);
  return { orderNo, xml: xml.body as string };
}

/** What the service recorded as disclosed for one declaration: receipts and SUCCESS events. */
async function disclosuresOf(declarationId: string) {
  const db = t.connection;
  return {
    receipts: await db
      .collection('disclosure_receipts')
      .countDocuments({ resourceId: declarationId }),
    successes: await db
      .collection('audit_events')
      .countDocuments({ 'resource.id': declarationId, outcome: 'SUCCESS' }),
  };
}

const texts = (doc: Document, name: string) =>
  Array.from(doc.getElementsByTagNameNS('http://www.chinaport.gov.cn/ceb', name)).map(
    (node) => node.textContent,
  );

it('when a three-item order with different HS codes is declared, then the broker gets a signed CEB621 that validates against the schema', async () => {
  const { orderNo, xml } = await declaredOrder({
    parcel: { grossWeightKg: '2.5', netWeightKg: '1.92' },
  });

  expect(await schemaErrors(xml)).toEqual([]);
  expect(signatureVerifies(xml, certificatePem)).toBe(true);
  const doc = parseXml(xml);
  expect(texts(doc, 'orderNo')).toEqual([orderNo]);
  expect(texts(doc, 'appStatus')).toEqual(['2']);
  expect(texts(doc, 'logisticsNo')).toEqual([`WB${orderNo.replace(/[^A-Za-z0-9]/g, '')}`]);
  expect(texts(doc, 'gcode')).toEqual(['1901101000', '3304990099', '9102110000']);
  expect(texts(doc, 'grossWeight')).toEqual(['2.5']);
  expect(texts(doc, 'netWeight')).toEqual(['1.92']);
  // Legal quantities: 2 x 0.9 kg, 1 x 50 g; the cream's second unit 0.05 kg; the watch has none.
  expect(texts(doc, 'qty1')).toEqual(['1.8', '50', '1']);
  expect(texts(doc, 'qty2')).toEqual(['0.05']);
  expect(texts(doc, 'barCode')).toEqual(['4901234567894']);
});

it('when names carry markup and entity-looking text, then every value arrives exactly as given', async () => {
  const { xml } = await declaredOrder();
  const doc = parseXml(xml);

  expect(texts(doc, 'gname')).toEqual([
    PRODUCTS['MILK-900'].name,
    PRODUCTS['CREAM-50'].name,
    PRODUCTS['WATCH-1'].name,
  ]);
  expect(texts(doc, 'itemName')[0]).toBe('Milk & <powder>');
  expect(texts(doc, 'ebpName')).toEqual(['Example Mall & Co <Global>']);
  expect(xml).not.toContain('&xxe;');
  // Without weights at confirm: net = 2 x 0.9 + 0.08 + 0.12 kg from the catalogue, gross = net.
  expect(texts(doc, 'netWeight')).toEqual(['2']);
  expect(await schemaErrors(xml)).toEqual([]);
});

it('when one value of the signed message is changed, then the signature no longer verifies', async () => {
  const { xml } = await declaredOrder();
  const tampered = xml.replace('<ceb:qty>2</ceb:qty>', '<ceb:qty>3</ceb:qty>');
  expect(tampered).not.toBe(xml);
  expect(signatureVerifies(tampered, certificatePem)).toBe(false);
});

it('when a declaration from before the catalogue is asked for as XML, then 409 names what it lacks and nothing is recorded as disclosed', async () => {
  const { declarationId } = await listedDeclaration();
  // As it was stored before products and parcels existed (FerretDB has no `$[]`: rewrite the array).
  const declarations = t.connection.collection('declarations');
  const stored = await declarations.findOne({ id: declarationId });
  const goods = (stored!.goods as object[]).map((line) => ({ ...line, product: null }));
  await declarations.updateOne({ id: declarationId }, { $unset: { parcel: '' }, $set: { goods } });
  const before = await disclosuresOf(declarationId);
  expect(before.receipts).toBeGreaterThan(0);

  const response = await fetchXml(declarationId).expect(409);

  const error = JSON.parse(response.body as string).error;
  expect(error.code).toBe('DECLARATION_INCOMPLETE');
  expect(error.details.map((d: { path: string }) => d.path)).toEqual(
    expect.arrayContaining(['InventoryHead.grossWeight', 'InventoryList[1].gcode']),
  );
  // The broker received no personal data: no receipt and no SUCCESS event claim otherwise.
  expect(await disclosuresOf(declarationId)).toEqual(before);
  const failed = await t.connection
    .collection('audit_events')
    .countDocuments({ 'resource.id': declarationId, outcome: 'FAILED' });
  expect(failed).toBe(1);
});

it('stores no personal data in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
