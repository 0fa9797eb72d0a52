import { beijingDayStart, beijingYear } from '../src/beijing-time';
import { parseDecimal, roundHalfUp } from '../src/quota/money';
import { evaluateOrder } from '../src/quota/order-rules';
import { buildPolicy, loadPolicy, PolicyError } from '../src/quota/policy';
import bundled from '../src/quota/data/cbec-policy.json';
import { ConfigError, loadConfig } from '../src/config';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const policy = loadPolicy();
const at = new Date('2026-06-01T04:00:00Z');

function order(items: { qty: number; unitPriceFen: number; category?: string }[], extra = {}) {
  return evaluateOrder(policy, {
    items: items.map((item, i) => ({
      sku: `S${i}`,
      name: 'x',
      category: item.category ?? 'general',
      qty: item.qty,
      unitPriceFen: item.unitPriceFen,
    })),
    freightFen: 0,
    insuranceFen: 0,
    verifiedAt: at,
    ...extra,
  });
}

describe('Beijing calendar year', () => {
  it.each([
    ['2026-12-31T15:59:59.999Z', 2026],
    ['2026-12-31T16:00:00.000Z', 2027],
    ['2026-12-31T16:30:00.000Z', 2027],
    ['2027-01-01T00:00:00+08:00', 2027],
    ['2026-01-01T00:00:00+08:00', 2026],
  ])('when the order is at %s, then its quota year is %i', (instant, year) => {
    expect(beijingYear(new Date(instant))).toBe(year);
  });

  it('when a policy day starts, then it starts at 00:00 in Beijing', () => {
    expect(beijingDayStart('2019-01-01').toISOString()).toBe('2018-12-31T16:00:00.000Z');
    expect(() => beijingDayStart('2019-02-30')).toThrow(RangeError);
  });
});

describe('exact money', () => {
  it.each([
    ['0.5', 1],
    ['1.4999', 1],
    ['2.5', 3],
    ['0.49', 0],
  ])('when %s fen is rounded, then it becomes %i (half up)', (value, expected) => {
    expect(roundHalfUp(parseDecimal(value))).toBe(expected);
  });
});

describe('dated limits and rates', () => {
  it('when the order is in 2018, then the limits are RMB 2,000 / 20,000', () => {
    expect(policy.limitsAt(new Date('2018-12-31T15:59:59Z'))).toMatchObject({
      perOrderFen: 200000,
      annualFen: 2000000,
    });
    expect(policy.limitsAt(new Date('2018-12-31T16:00:00Z'))).toMatchObject({
      perOrderFen: 500000,
      annualFen: 2600000,
    });
  });

  it('when the order is in mid-2018, then general goods pay VAT 16% x 70% = 11.2%', () => {
    const figures = evaluateOrder(policy, {
      items: [{ sku: 'S', name: 'x', category: 'general', qty: 1, unitPriceFen: 10000 }],
      freightFen: 0,
      insuranceFen: 0,
      verifiedAt: new Date('2018-06-01T00:00:00Z'),
    });
    expect(figures.tax.totalTaxFen).toBe(1120);
  });

  it('when the data has dates out of order, then the policy is refused at start-up', () => {
    const broken = { ...bundled, limits: [...bundled.limits].reverse() };
    expect(() => buildPolicy(broken)).toThrow(PolicyError);
  });

  it('when the default category has no rates, then the policy is refused at start-up', () => {
    expect(() => buildPolicy({ ...bundled, defaultCategory: 'none' })).toThrow(PolicyError);
  });
});

describe('tax', () => {
  it('when general goods are within the limits, then 9.1% of the taxable value', () => {
    expect(order([{ qty: 3, unitPriceFen: 33333 }]).tax).toEqual({
      taxableFen: 99999,
      tariffFen: 0,
      vatFen: 9100, // 99,999 x 0.091 = 9,099.909 -> 9,100
      consumptionTaxFen: 0,
      totalTaxFen: 9100,
    });
  });

  it('when high-end cosmetics of RMB 1,000 are within the limits, then 23.06%', () => {
    const { tax } = order([{ qty: 1, unitPriceFen: 100000, category: 'cosmetics-high-end' }]);
    // 100,000 x 0.105 / 0.85 = 12,352.94 -> 12,353; 100,000 x 0.091 / 0.85 = 10,705.88 -> 10,706.
    expect(tax).toMatchObject({ consumptionTaxFen: 12353, vatFen: 10706, totalTaxFen: 23059 });
  });

  it('when an order mixes categories, then freight is shared pro rata and each tax is rounded once', () => {
    const { tax } = order(
      [
        { qty: 1, unitPriceFen: 10000 },
        { qty: 1, unitPriceFen: 10000, category: 'cosmetics-high-end' },
      ],
      { freightFen: 1000 },
    );
    // Each half carries 10,500: VAT 10,500 x 0.091 + 10,500 x 0.091 / 0.85 = 955.5 + 1,124.12
    // = 2,079.62 -> 2,080; consumption 10,500 x 0.105 / 0.85 = 1,297.06 -> 1,297.
    expect(tax).toEqual({
      taxableFen: 21000,
      tariffFen: 0,
      vatFen: 2080,
      consumptionTaxFen: 1297,
      totalTaxFen: 3377,
    });
  });

  it('when high-end cosmetics clear as a single piece above the limit, then tariff, consumption tax and VAT in full', () => {
    const figures = order([{ qty: 1, unitPriceFen: 600000, category: 'cosmetics-high-end' }]);
    expect(figures.singleItemException).toBe(true);
    // tariff 5% = 30,000; composite price 630,000 / 0.85; consumption x 15% = 111,176.47;
    // VAT x 13% = 96,352.94.
    expect(figures.tax).toEqual({
      taxableFen: 600000,
      tariffFen: 30000,
      vatFen: 96353,
      consumptionTaxFen: 111176,
      totalTaxFen: 237529,
    });
  });

  it('when two pieces exceed the limit, then it is over the limit and not the exception', () => {
    const figures = order([{ qty: 2, unitPriceFen: 250001 }]);
    expect(figures).toMatchObject({ overPerOrderLimit: true, singleItemException: false });
  });
});

describe('configuration', () => {
  it('when production asks for the customs quota simulator, then the configuration is refused', () => {
    const production = {
      NODE_ENV: 'production',
      MONGODB_URI: 'mongodb://db.example:27017',
      ADMIN_API_KEY: 'k'.repeat(40),
    };
    expect(loadConfig(production).quota.customs.mode).toBe('off');
    expect(() => loadConfig({ ...production, CUSTOMS_QUOTA_MODE: 'simulator' })).toThrow(
      ConfigError,
    );
  });

  it('when CBEC_POLICY_FILE names a file, then its limits replace the bundled ones', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-'));
    const file = path.join(dir, 'policy.json');
    const changed = {
      ...bundled,
      limits: [
        ...bundled.limits,
        { effectiveFrom: '2030-01-01', perOrderFen: 800000, annualFen: 5000000 },
      ],
    };
    fs.writeFileSync(file, JSON.stringify(changed));
    try {
      const custom = loadPolicy(file);
      expect(custom.limitsAt(new Date('2030-06-01T00:00:00Z')).annualFen).toBe(5000000);
      expect(custom.limitsAt(new Date('2029-06-01T00:00:00Z')).annualFen).toBe(2600000);
      fs.writeFileSync(file, '{ not json');
      expect(() => loadPolicy(file)).toThrow(PolicyError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
