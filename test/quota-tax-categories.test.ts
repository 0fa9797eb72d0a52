import bundled from '../src/quota/data/cbec-policy.json';
import { evaluateOrder } from '../src/quota/order-rules';
import type { OrderItem } from '../src/quota/order-lifecycle-types';
import { buildPolicy, loadPolicy, PolicyError } from '../src/quota/policy';
import { orderBody, registerBuyer, verify } from './helpers/checkout-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/*
 * Issue 10, item 4: every consumption-tax category of CBEC imports, against
 * figures computed by hand (domain.md section 2). At 2026-06-01 VAT is 13%;
 * within the limits tariff is 0 and consumption tax and VAT are each x 0.7.
 *   ad valorem: CT = (value + tariff) / (1 - c) x c
 *   composite:  CT = (value + tariff + specific) / (1 - c) x c + specific
 *   VAT = (value + tariff + CT) x 0.13
 * Each tax is rounded to the fen once, half up. Tariffs are the data file's
 * per-category placeholders (the full-tax rows only).
 */

const policy = loadPolicy();
const at = new Date('2026-06-01T04:00:00Z');

interface Line {
  qty?: number;
  unitPriceFen: number;
  category: string;
  volumeMl?: number;
}

function items(lines: Line[]): OrderItem[] {
  return lines.map((line, i) => ({
    sku: `S${i}`,
    name: 'x',
    qty: line.qty ?? 1,
    unitPriceFen: line.unitPriceFen,
    category: line.category,
    ...(line.volumeMl === undefined ? {} : { volumeMl: line.volumeMl }),
  }));
}

function taxOf(lines: Line[], freightFen = 0, verifiedAt = at) {
  return evaluateOrder(policy, { items: items(lines), freightFen, insuranceFen: 0, verifiedAt });
}

type Taxes = [tariffFen: number, consumptionTaxFen: number, vatFen: number, totalTaxFen: number];

const expected = ([tariffFen, consumptionTaxFen, vatFen, totalTaxFen]: Taxes) => ({
  tariffFen,
  consumptionTaxFen,
  vatFen,
  totalTaxFen,
});

describe('every category within the limits (tariff 0, CT and VAT x 0.7)', () => {
  it.each<[string, Line, Taxes]>([
    // VAT 99,999 x 0.13 x 0.7 = 9,099.909 -> 9,100
    ['general', { unitPriceFen: 99_999, category: 'general' }, [0, 0, 9_100, 9_100]],
    // CT 100,000 / 0.85 x 0.15 x 0.7 = 12,352.94 -> 12,353; VAT 100,000 / 0.85 x 0.13 x 0.7 = 10,705.88 -> 10,706
    [
      'cosmetics-high-end',
      { unitPriceFen: 100_000, category: 'cosmetics-high-end' },
      [0, 12_353, 10_706, 23_059],
    ],
    // CT 300,000 / 0.9 x 0.1 x 0.7 = 23,333.33 -> 23,333; VAT 300,000 / 0.9 x 0.13 x 0.7 = 30,333.33 -> 30,333
    [
      'jewellery-jade',
      { unitPriceFen: 300_000, category: 'jewellery-jade' },
      [0, 23_333, 30_333, 53_666],
    ],
    // CT 123,456 / 0.9 x 0.1 x 0.7 = 9,602.13 -> 9,602; VAT 123,456 / 0.9 x 0.13 x 0.7 = 12,482.77 -> 12,483
    ['golf', { unitPriceFen: 123_456, category: 'golf' }, [0, 9_602, 12_483, 22_085]],
    // 2 x 22,839 = 45,678: CT 45,678 / 0.9 x 0.1 x 0.7 = 3,552.73 -> 3,553; VAT 45,678 / 0.9 x 0.13 x 0.7 = 4,618.55 -> 4,619
    [
      'wine-alcohol',
      { qty: 2, unitPriceFen: 22_839, category: 'wine-alcohol' },
      [0, 3_553, 4_619, 8_172],
    ],
    // 700 ml: specific 0.7 l x 100 fen = 70; CT ((30,000 + 70) / 0.8 x 0.2 + 70) x 0.7 = 7,587.5 x 0.7 = 5,311.25 -> 5,311;
    // VAT (30,000 + 7,587.5) x 0.13 x 0.7 = 3,420.46 -> 3,420
    [
      'spirits',
      { unitPriceFen: 30_000, category: 'spirits', volumeMl: 700 },
      [0, 5_311, 3_420, 8_731],
    ],
    // 2 x 500 ml: specific 1 l x 100 = 100; CT ((30,000 + 100) / 0.8 x 0.2 + 100) x 0.7 = 7,625 x 0.7 = 5,337.5 -> 5,338 (half up);
    // VAT (30,000 + 7,625) x 0.13 x 0.7 = 3,423.875 -> 3,424
    [
      'spirits, two bottles',
      { qty: 2, unitPriceFen: 15_000, category: 'spirits', volumeMl: 500 },
      [0, 5_338, 3_424, 8_762],
    ],
    // CT 33,333 / 0.96 x 0.04 x 0.7 = 972.21 -> 972; VAT 33,333 / 0.96 x 0.13 x 0.7 = 3,159.69 -> 3,160
    ['batteries', { unitPriceFen: 33_333, category: 'batteries' }, [0, 972, 3_160, 4_132]],
    // CT 77,777 / 0.96 x 0.04 x 0.7 = 2,268.50 (2,268.4958) -> 2,268; VAT 77,777 / 0.96 x 0.13 x 0.7 = 7,372.61 -> 7,373
    ['coatings', { unitPriceFen: 77_777, category: 'coatings' }, [0, 2_268, 7_373, 9_641]],
    // Below RMB 10,000 a piece (always, within the limits): general goods. VAT 400,000 x 0.091 = 36,400
    [
      'watches-high-end below the threshold',
      { unitPriceFen: 400_000, category: 'watches-high-end' },
      [0, 0, 36_400, 36_400],
    ],
  ])('when %s is bought within the limits, then the hand-computed taxes', (_label, line, taxes) => {
    const figures = taxOf([line]);
    expect(figures.singleItemException).toBe(false);
    expect(figures.tax).toEqual({
      taxableFen: (line.qty ?? 1) * line.unitPriceFen,
      ...expected(taxes),
    });
  });

  it('when a jade bracelet was bought in 2017, then the VAT of its date (17%) applies', () => {
    // CT 100,000 / 0.9 x 0.1 x 0.7 = 7,777.78 -> 7,778; VAT 100,000 / 0.9 x 0.17 x 0.7 = 13,222.22 -> 13,222
    const { tax } = taxOf(
      [{ unitPriceFen: 100_000, category: 'jewellery-jade' }],
      0,
      new Date('2017-06-01T04:00:00Z'),
    );
    expect(tax).toMatchObject(expected([0, 7_778, 13_222, 21_000]));
  });
});

describe('every category as a single item taxed in full (tariff, CT, VAT at 100%)', () => {
  it.each<[string, Line, Taxes]>([
    // tariff 520,000 x 0.10 = 52,000; VAT 572,000 x 0.13 = 74,360
    ['general', { unitPriceFen: 520_000, category: 'general' }, [52_000, 0, 74_360, 126_360]],
    // tariff 30,000; CT 630,000 / 0.85 x 0.15 = 111,176.47 -> 111,176; VAT 630,000 / 0.85 x 0.13 = 96,352.94 -> 96,353
    [
      'cosmetics-high-end',
      { unitPriceFen: 600_000, category: 'cosmetics-high-end' },
      [30_000, 111_176, 96_353, 237_529],
    ],
    // tariff 600,000 x 0.08 = 48,000; CT 648,000 / 0.9 x 0.1 = 72,000; VAT 720,000 x 0.13 = 93,600
    [
      'jewellery-jade',
      { unitPriceFen: 600_000, category: 'jewellery-jade' },
      [48_000, 72_000, 93_600, 213_600],
    ],
    // tariff 550,000 x 0.08 = 44,000; CT 594,000 / 0.9 x 0.1 = 66,000; VAT 660,000 x 0.13 = 85,800
    ['golf', { unitPriceFen: 550_000, category: 'golf' }, [44_000, 66_000, 85_800, 195_800]],
    // tariff 520,000 x 0.14 = 72,800; CT 592,800 / 0.9 x 0.1 = 65,866.67 -> 65,867; VAT 658,666.67 x 0.13 = 85,626.67 -> 85,627
    [
      'wine-alcohol',
      { unitPriceFen: 520_000, category: 'wine-alcohol' },
      [72_800, 65_867, 85_627, 224_294],
    ],
    // 700 ml: specific 70; tariff 600,000 x 0.05 = 30,000; CT (630,070 / 0.8) x 0.2 + 70 = 157,517.5 + 70 = 157,587.5 -> 157,588;
    // VAT (630,000 + 157,587.5) x 0.13 = 102,386.375 -> 102,386
    [
      'spirits',
      { unitPriceFen: 600_000, category: 'spirits', volumeMl: 700 },
      [30_000, 157_588, 102_386, 289_974],
    ],
    // tariff 70,000; CT 770,000 / 0.96 x 0.04 = 32,083.33 -> 32,083; VAT 802,083.33 x 0.13 = 104,270.83 -> 104,271
    [
      'batteries',
      { unitPriceFen: 700_000, category: 'batteries' },
      [70_000, 32_083, 104_271, 206_354],
    ],
    // tariff 51,000; CT 561,000 / 0.96 x 0.04 = 23,375; VAT 584,375 x 0.13 = 75,968.75 -> 75,969
    [
      'coatings',
      { unitPriceFen: 510_000, category: 'coatings' },
      [51_000, 23_375, 75_969, 150_344],
    ],
    // Exactly RMB 10,000: high-end. tariff 80,000; CT 1,080,000 / 0.8 x 0.2 = 270,000; VAT 1,350,000 x 0.13 = 175,500
    [
      'watches-high-end at the threshold',
      { unitPriceFen: 1_000_000, category: 'watches-high-end' },
      [80_000, 270_000, 175_500, 525_500],
    ],
    // tariff 96,000; CT 1,296,000 / 0.8 x 0.2 = 324,000; VAT 1,620,000 x 0.13 = 210,600
    [
      'watches-high-end above the threshold',
      { unitPriceFen: 1_200_000, category: 'watches-high-end' },
      [96_000, 324_000, 210_600, 630_600],
    ],
    // 1 fen below RMB 10,000: general goods. tariff 99,999.9 -> 100,000; CT 0; VAT 1,099,998.9 x 0.13 = 142,999.857 -> 143,000
    [
      'watches-high-end 1 fen below the threshold',
      { unitPriceFen: 999_999, category: 'watches-high-end' },
      [100_000, 0, 143_000, 243_000],
    ],
  ])(
    'when %s clears as one piece above RMB 5,000, then the hand-computed taxes',
    (_label, line, taxes) => {
      const figures = taxOf([line]);
      expect(figures.singleItemException).toBe(true);
      expect(figures.tax).toEqual({ taxableFen: line.unitPriceFen, ...expected(taxes) });
    },
  );
});

describe('orders of several categories', () => {
  it('when jade, spirits and general goods share RMB 30 of freight, then each part carries its share and each tax is rounded once', () => {
    const figures = taxOf(
      [
        { unitPriceFen: 200_000, category: 'jewellery-jade' },
        { qty: 2, unitPriceFen: 30_000, category: 'spirits', volumeMl: 700 },
        { unitPriceFen: 40_000, category: 'general' },
      ],
      3_000,
    );
    // Taxable 303,000 = goods 300,000 x 1.01: jade 202,000; spirits 60,600 (1,400 ml: specific 140);
    // general 40,400.
    // CT: jade 202,000 / 0.9 x 0.1 = 22,444.44; spirits (60,600 + 140) / 0.8 x 0.2 + 140 = 15,325;
    //   (22,444.44 + 15,325) x 0.7 = 26,438.61 -> 26,439.
    // VAT: (202,000 + 22,444.44 + 60,600 + 15,325 + 40,400) x 0.13 x 0.7 = 340,769.44 x 0.091
    //   = 31,010.02 -> 31,010.
    expect(figures.tax).toEqual({
      taxableFen: 303_000,
      tariffFen: 0,
      consumptionTaxFen: 26_439,
      vatFen: 31_010,
      totalTaxFen: 57_449,
    });
  });

  it('when a watch below the threshold is bought with a jade bracelet, then the watch is taxed as general goods', () => {
    const figures = taxOf([
      { unitPriceFen: 100_000, category: 'jewellery-jade' },
      { unitPriceFen: 200_000, category: 'watches-high-end' },
    ]);
    // CT 100,000 / 0.9 x 0.1 x 0.7 = 7,777.78 -> 7,778;
    // VAT (100,000 / 0.9 + 200,000) x 0.13 x 0.7 = 311,111.11 x 0.091 = 28,311.11 -> 28,311
    expect(figures.tax).toMatchObject(expected([0, 7_778, 28_311, 36_089]));
  });

  it('when a spirits item reaches the tax without volumeMl, then it is refused, never taxed as ad valorem', () => {
    expect(() => taxOf([{ unitPriceFen: 30_000, category: 'spirits' }])).toThrow(PolicyError);
  });
});

describe('the categories as data', () => {
  const categories = bundled.categories as Record<string, Record<string, unknown>[]>;
  const withEntries = (name: string, change: Record<string, unknown>) => ({
    ...bundled,
    categories: {
      ...categories,
      [name]: categories[name]!.map((entry) => ({ ...entry, ...change })),
    },
  });

  it('when the bundled data is read, then every consumption-tax category of CBEC imports is there, with a source', () => {
    expect(policy.categoryNames().sort()).toEqual([
      'batteries',
      'coatings',
      'cosmetics-high-end',
      'general',
      'golf',
      'jewellery-jade',
      'spirits',
      'watches-high-end',
      'wine-alcohol',
    ]);
    for (const entries of Object.values(categories)) {
      expect(entries.every((entry) => typeof entry.source === 'string')).toBe(true);
    }
    expect(policy.volumeTaxedCategories()).toEqual(['spirits']);
  });

  it.each([
    ['a threshold without a fallback', withEntries('golf', { minUnitPriceFen: 100 })],
    [
      'a fallback that is not a category',
      withEntries('golf', { minUnitPriceFen: 100, belowThreshold: 'none' }),
    ],
    [
      'a fallback with a threshold of its own',
      withEntries('golf', { minUnitPriceFen: 100, belowThreshold: 'watches-high-end' }),
    ],
    [
      'a per-volume part that is not a decimal',
      withEntries('spirits', { specificFenPerLitre: '1e2' }),
    ],
  ])('when the data has %s, then the policy is refused at start-up', (_label, data) => {
    expect(() => buildPolicy(data)).toThrow(PolicyError);
  });
});

let t: TestApp;
let key: string;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  key = (await t.clientKey('checkout')).apiKey;
});
afterAll(() => t.close());

describe('POST /v1/checkout/verify: tax categories', () => {
  it('when a RMB 3,000 jade bracelet is verified, then CT 233.33 and VAT 303.33, not general goods 273.00', async () => {
    const buyer = await registerBuyer(t, key);
    const body = orderBody(buyer, {
      items: [{ qty: 1, unitPriceFen: 300_000, category: 'jewellery-jade' }],
    });
    const response = await verify(t, key, body).expect(200);
    expect(response.body.decision).toBe('APPROVED');
    expect(response.body.tax).toEqual({
      taxableFen: 300_000,
      tariffFen: 0,
      consumptionTaxFen: 23_333,
      vatFen: 30_333,
      totalTaxFen: 53_666,
    });
  });

  it('when a bottle of spirits carries volumeMl, then the composite tax', async () => {
    const buyer = await registerBuyer(t, key);
    const body = orderBody(buyer, {
      items: [{ qty: 1, unitPriceFen: 30_000, category: 'spirits' }],
    });
    body.items[0] = { ...body.items[0]!, volumeMl: 700 } as (typeof body.items)[number];
    const response = await verify(t, key, body).expect(200);
    // As in the table above: CT 5,311.25 -> 5,311; VAT 3,420.46 -> 3,420.
    expect(response.body.tax).toMatchObject({ consumptionTaxFen: 5_311, vatFen: 3_420 });
  });

  it('when the second item is spirits without volumeMl, then 400 naming items.1.volumeMl', async () => {
    const buyer = await registerBuyer(t, key);
    const body = orderBody(buyer, {
      items: [
        { qty: 1, unitPriceFen: 10_000 },
        { qty: 1, unitPriceFen: 30_000, category: 'spirits' },
      ],
    });
    const response = await verify(t, key, body).expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details).toEqual([
      { path: 'items.1.volumeMl', message: 'is required' },
    ]);
  });

  it.each([
    [0, 'is too small'],
    [1.5, 'must be an integer'],
    ['700', 'must be a number'],
    [100_001, 'is too large'],
  ])('when volumeMl is %p, then 400 naming items.0.volumeMl', async (volumeMl, message) => {
    const buyer = await registerBuyer(t, key);
    const body = orderBody(buyer, {
      items: [{ qty: 1, unitPriceFen: 100, category: 'wine-alcohol' }],
    });
    const items = [{ ...body.items[0]!, volumeMl }];
    const response = await verify(t, key, { ...body, items }).expect(400);
    expect(response.body.error.details).toEqual([{ path: 'items.0.volumeMl', message }]);
  });

  it('when the category is unknown, then 400 naming items.1.category', async () => {
    const buyer = await registerBuyer(t, key);
    const body = orderBody(buyer, {
      items: [
        { qty: 1, unitPriceFen: 100, category: 'golf' },
        { qty: 1, unitPriceFen: 100, category: 'jade' },
      ],
    });
    const response = await verify(t, key, body).expect(400);
    expect(response.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'items.1.category', message: 'is not one of the allowed values' }],
    });
  });

  it('when a RMB 12,000 watch is bought as one piece, then it is taxed in full as a high-end watch', async () => {
    const buyer = await registerBuyer(t, key);
    const body = orderBody(buyer, {
      items: [{ qty: 1, unitPriceFen: 1_200_000, category: 'watches-high-end' }],
    });
    const response = await verify(t, key, body).expect(200);
    expect(response.body.decision).toBe('APPROVED');
    // As in the table above: tariff 96,000; CT 324,000; VAT 210,600.
    expect(response.body.tax).toEqual({
      taxableFen: 1_200_000,
      ...expected([96_000, 324_000, 210_600, 630_600]),
    });
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
