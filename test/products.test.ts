import { auth, productBody } from './helpers/checkout-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

let t: TestApp;
let key: string;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  key = (await t.clientKey('checkout')).apiKey;
});
afterAll(() => t.close());

const put = (sku: string, body: unknown, apiKey = key) =>
  t
    .http()
    .put(`/v1/products/${encodeURIComponent(sku)}`)
    .set(auth(apiKey))
    .send(body as object);
const get = (sku: string, apiKey = key) =>
  t
    .http()
    .get(`/v1/products/${encodeURIComponent(sku)}`)
    .set(auth(apiKey));

async function expectRefused(sku: string, body: unknown, path: string) {
  const response = await put(sku, body).expect(400);
  expect(response.body.error.code).toBe('VALIDATION_FAILED');
  expect(response.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
}

describe('PUT and GET /v1/products/{sku}', () => {
  it('when a new SKU is put, then 201 and the product; put again, then 200 and it is replaced whole', async () => {
    const created = await put(
      'CREAM-50',
      productBody({ secondUnit: '096', secondQtyPerUnit: 50, barCode: '4901234567894' }),
    ).expect(201);
    expect(created.body).toMatchObject({
      sku: 'CREAM-50',
      name: '保湿面霜',
      hsCode: '3304990099',
      category: 'general',
      originCountry: '116',
      unit: '142',
      legalUnit: '035',
      legalQtyPerUnit: '0.05',
      secondUnit: '096',
      secondQtyPerUnit: '50',
      barCode: '4901234567894',
      itemRecordNo: null,
      netWeightKg: '0.5',
    });
    expect(typeof created.body.updatedAt).toBe('string');

    const replaced = await put(
      'CREAM-50',
      productBody({ netWeightKg: 0.125, itemRecordNo: 'REC-001' }),
    ).expect(200);
    expect(replaced.body).toMatchObject({
      netWeightKg: '0.125',
      itemRecordNo: 'REC-001',
      secondUnit: null,
      secondQtyPerUnit: null,
      barCode: null,
    });
    const read = await get('CREAM-50').expect(200);
    expect(read.body).toEqual(replaced.body);
  });

  it('when decimals carry trailing zeros or come as JSON numbers, then they are stored in the canonical form', async () => {
    const response = await put(
      'DEC-1',
      productBody({ legalQtyPerUnit: '1.25000', netWeightKg: 2 }),
    ).expect(201);
    expect(response.body).toMatchObject({ legalQtyPerUnit: '1.25', netWeightKg: '2' });
  });

  it('when an unknown SKU is read, then 404 NOT_FOUND', async () => {
    const response = await get('NEVER-PUT').expect(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });

  it('when two PUTs of a new SKU race, then exactly one reports 201', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 8 }, () => put('RACE-1', productBody()).then((r) => r.status)),
    );
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 200)).toHaveLength(7);
  });
});

describe('validation', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['name missing', { name: undefined }, 'name'],
    ['name too long', { name: '霜'.repeat(251) }, 'name'],
    ['name that looks like a phone', { name: '面霜 13912345678' }, 'name'],
    ['name that holds an id number', { name: '11010519491231002X' }, 'name'],
    ['hsCode of 9 digits', { hsCode: '330499009' }, 'hsCode'],
    ['hsCode of 11 digits', { hsCode: '33049900991' }, 'hsCode'],
    ['hsCode with a letter', { hsCode: '330499009A' }, 'hsCode'],
    ['unknown category', { category: 'caviar' }, 'category'],
    ['spec empty', { spec: '' }, 'spec'],
    ['spec too long', { spec: 'x'.repeat(251) }, 'spec'],
    ['spec that looks like a phone', { spec: '+85291234567' }, 'spec'],
    ['unknown origin country', { originCountry: '998' }, 'originCountry'],
    ['origin country as ISO letters', { originCountry: 'JPN' }, 'originCountry'],
    ['unknown unit', { unit: '024' }, 'unit'],
    ['unknown legal unit', { legalUnit: '900' }, 'legalUnit'],
    ['unknown second unit', { secondUnit: '900', secondQtyPerUnit: '1' }, 'secondUnit'],
    ['zero legal quantity', { legalQtyPerUnit: '0' }, 'legalQtyPerUnit'],
    ['negative legal quantity', { legalQtyPerUnit: -1 }, 'legalQtyPerUnit'],
    ['six decimal places', { legalQtyPerUnit: '0.000001' }, 'legalQtyPerUnit'],
    ['exponent form', { legalQtyPerUnit: '1e-3' }, 'legalQtyPerUnit'],
    ['second unit without its quantity', { secondUnit: '096' }, 'secondQtyPerUnit'],
    ['second quantity without its unit', { secondQtyPerUnit: '50' }, 'secondQtyPerUnit'],
    ['bar code of 51 characters', { barCode: '4'.repeat(51) }, 'barCode'],
    ['record number of 31 characters', { itemRecordNo: 'R'.repeat(31) }, 'itemRecordNo'],
    ['net weight missing', { netWeightKg: undefined }, 'netWeightKg'],
    ['net weight zero', { netWeightKg: 0 }, 'netWeightKg'],
    ['net weight too large', { netWeightKg: '1000000' }, 'netWeightKg'],
    ['an unknown field', { colour: 'red' }, 'colour'],
  ];
  it.each(cases)('when the body has %s, then 400 naming the field', async (_what, change, path) => {
    await expectRefused('VALID-SKU', productBody(change), path);
  });

  it('when a refused body is sent, then nothing is stored', async () => {
    await put('REFUSED-1', productBody({ hsCode: '1' })).expect(400);
    await get('REFUSED-1').expect(404);
  });

  it('when the SKU has 31 characters, then 400 on sku; 30 are accepted', async () => {
    const refused = await put('S'.repeat(31), productBody()).expect(400);
    expect(refused.body.error.details[0].path).toBe('sku');
    await put('S'.repeat(30), productBody()).expect(201);
  });

  it('when the SKU looks like a phone or an id number, then 400 on sku', async () => {
    for (const sku of ['13912345678', '11010519491231002X']) {
      const response = await put(sku, productBody()).expect(400);
      expect(response.body.error.details[0]).toEqual({
        path: 'sku',
        message: 'must not look like an id number or a phone number',
      });
    }
  });
});

describe('roles', () => {
  it.each(['carrier', 'customs', 'auditor', 'admin'])(
    'when a %s client puts or reads a product, then 403',
    async (role) => {
      const partner = role === 'carrier' ? 'SF' : role === 'customs' ? 'BROKER1' : undefined;
      const other = (await t.clientKey(role, partner)).apiKey;
      expect((await put('ROLE-1', productBody(), other)).status).toBe(403);
      expect((await get('CREAM-50', other)).status).toBe(403);
    },
  );

  it('when no key is sent, then 401', async () => {
    await t.http().get('/v1/products/CREAM-50').expect(401);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
