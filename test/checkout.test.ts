import {
  auth,
  orderBody,
  quota,
  registerBuyer,
  verify,
  type Buyer,
} from './helpers/checkout-fixtures';
import { randomPerson } from './helpers/identity-fixtures';
import {
  findPlaintextPersonalData,
  expectNothingStoredInPlaintext,
} from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

let t: TestApp;
let key: string;
let now = new Date();

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' }, { clock: () => now });
  key = (await t.clientKey('checkout')).apiKey;
});
afterAll(() => t.close());
beforeEach(() => {
  now = new Date();
});

const buyer = () => registerBuyer(t, key);

async function approvedOrRejected(body: object) {
  const response = await verify(t, key, body).expect(200);
  return response.body;
}

describe('POST /v1/checkout/verify: the quota', () => {
  it('when 40 verifies of RMB 1,000 race for one fresh buyer, then exactly 26 are approved', async () => {
    const b = await buyer();
    const responses = await Promise.all(
      Array.from({ length: 40 }, () =>
        verify(t, key, orderBody(b, { items: [{ qty: 1, unitPriceFen: 100000 }] })),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(40).fill(200));
    const decisions = responses.map((r) => r.body.decision);
    expect(decisions.filter((d) => d === 'APPROVED')).toHaveLength(26);
    expect(
      responses
        .filter((r) => r.body.decision === 'REJECTED')
        .every((r) => r.body.reasons[0].code === 'ANNUAL_LIMIT_EXCEEDED'),
    ).toBe(true);
    const after = await quota(t, key, b.identityId).expect(200);
    expect(after.body).toMatchObject({
      limitFen: 2600000,
      usedFen: 0,
      reservedFen: 2600000,
      remainingFen: 0,
    });
  });

  it('when the order is exactly RMB 5,000.00 over two items, then it is approved', async () => {
    const b = await buyer();
    const result = await approvedOrRejected(
      orderBody(b, {
        items: [
          { qty: 1, unitPriceFen: 300000 },
          { qty: 1, unitPriceFen: 199000 },
        ],
        freightFen: 1000,
      }),
    );
    expect(result.decision).toBe('APPROVED');
    expect(result.reasons).toEqual([]);
    expect(result.tax.taxableFen).toBe(500000);
  });

  it('when the order is RMB 5,000.01 over two items, then it is rejected and reserves nothing', async () => {
    const b = await buyer();
    const result = await approvedOrRejected(
      orderBody(b, {
        items: [
          { qty: 1, unitPriceFen: 300000 },
          { qty: 1, unitPriceFen: 200001 },
        ],
      }),
    );
    expect(result.decision).toBe('REJECTED');
    expect(result.reasons.map((r: { code: string }) => r.code)).toEqual(['SINGLE_LIMIT_EXCEEDED']);
    expect(result.quota).toMatchObject({ reservedFen: 0, remainingFen: 2600000 });
  });

  it('when freight takes two items over RMB 5,000, then freight is counted and the order is rejected', async () => {
    const b = await buyer();
    const result = await approvedOrRejected(
      orderBody(b, {
        items: [
          { qty: 1, unitPriceFen: 250000 },
          { qty: 1, unitPriceFen: 249500 },
        ],
        freightFen: 400,
        insuranceFen: 101,
      }),
    );
    expect(result.tax.taxableFen).toBe(500001);
    expect(result.reasons.map((r: { code: string }) => r.code)).toEqual(['SINGLE_LIMIT_EXCEEDED']);
  });

  it('when a discount is given, then it is not subtracted from the taxable value', async () => {
    const b = await buyer();
    const result = await approvedOrRejected(
      orderBody(b, {
        items: [{ qty: 2, unitPriceFen: 10000 }],
        freightFen: 1000,
        discountFen: 5000,
      }),
    );
    expect(result.decision).toBe('APPROVED');
    expect(result.tax.taxableFen).toBe(21000);
    expect(result.quota.reservedFen).toBe(21000);
  });

  it('when orders add up to exactly RMB 26,000, then the last is approved and one fen more is rejected', async () => {
    const b = await buyer();
    for (let i = 0; i < 5; i += 1) {
      const result = await approvedOrRejected(
        orderBody(b, { items: [{ qty: 2, unitPriceFen: 250000 }] }),
      );
      expect(result.decision).toBe('APPROVED');
    }
    const last = await approvedOrRejected(
      orderBody(b, { items: [{ qty: 1, unitPriceFen: 99000 }], freightFen: 1000 }),
    );
    expect(last.decision).toBe('APPROVED');
    expect(last.quota).toMatchObject({ limitFen: 2600000, reservedFen: 2600000, remainingFen: 0 });
    const over = await approvedOrRejected(orderBody(b, { items: [{ qty: 1, unitPriceFen: 1 }] }));
    expect(over.decision).toBe('REJECTED');
    expect(over.reasons.map((r: { code: string }) => r.code)).toEqual(['ANNUAL_LIMIT_EXCEEDED']);
    expect(over.quota.reservedFen).toBe(2600000);
  });

  it('when a single piece costs more than RMB 5,000, then it is approved, counted and taxed in full', async () => {
    const b = await buyer();
    const result = await approvedOrRejected(
      orderBody(b, { items: [{ qty: 1, unitPriceFen: 590000 }], freightFen: 10000 }),
    );
    expect(result.decision).toBe('APPROVED');
    // Full tax on 6,000.00: tariff 10% (general goods, from the policy data) = 600.00;
    // VAT 13% of (6,000 + 600) = 858.00; no consumption tax.
    expect(result.tax).toEqual({
      taxableFen: 600000,
      tariffFen: 60000,
      vatFen: 85800,
      consumptionTaxFen: 0,
      totalTaxFen: 145800,
    });
    expect(result.quota).toMatchObject({ reservedFen: 600000, remainingFen: 2000000 });
  });

  it('when the single piece does not fit the remaining allowance, then it is rejected', async () => {
    const b = await buyer();
    for (let i = 0; i < 5; i += 1) {
      await approvedOrRejected(orderBody(b, { items: [{ qty: 2, unitPriceFen: 250000 }] }));
    }
    const result = await approvedOrRejected(
      orderBody(b, { items: [{ qty: 1, unitPriceFen: 600000 }] }),
    );
    expect(result.decision).toBe('REJECTED');
    expect(result.reasons.map((r: { code: string }) => r.code)).toEqual(['ANNUAL_LIMIT_EXCEEDED']);
  });

  it('when one line has qty 2 above RMB 5,000, then it is not a single item and is rejected', async () => {
    const b = await buyer();
    const result = await approvedOrRejected(
      orderBody(b, { items: [{ qty: 2, unitPriceFen: 300000 }] }),
    );
    expect(result.decision).toBe('REJECTED');
    expect(result.reasons.map((r: { code: string }) => r.code)).toEqual(['SINGLE_LIMIT_EXCEEDED']);
  });

  it('when an order is placed at 2026-12-31T16:30Z, then it counts in 2027 (Beijing time)', async () => {
    now = new Date('2026-12-31T16:35:00Z');
    const b = await buyer();
    const result = await approvedOrRejected(
      orderBody(b, {
        orderedAt: '2026-12-31T16:30:00Z',
        items: [{ qty: 1, unitPriceFen: 123400 }],
      }),
    );
    expect(result.decision).toBe('APPROVED');
    expect(result.quota.year).toBe(2027);
    expect((await quota(t, key, b.identityId, 2027).expect(200)).body).toMatchObject({
      year: 2027,
      reservedFen: 123400,
    });
    expect((await quota(t, key, b.identityId, 2026).expect(200)).body).toMatchObject({
      year: 2026,
      reservedFen: 0,
      remainingFen: 2600000,
    });
  });

  it.each([
    ['backdated into the old year', '2026-12-31T16:30:00Z', '2026-12-31T15:30:00Z', 2027],
    ['ahead into the new year (clock skew)', '2026-12-31T15:58:00Z', '2026-12-31T16:02:00Z', 2026],
  ])(
    'when orderedAt is %s, then the order counts in the year the service verifies it',
    async (_label, verifiedAt, orderedAt, year) => {
      now = new Date(verifiedAt);
      const b = await buyer();
      const result = await approvedOrRejected(
        orderBody(b, { orderedAt, items: [{ qty: 1, unitPriceFen: 100000 }] }),
      );
      expect(result.quota.year).toBe(year);
      const other = year === 2027 ? 2026 : 2027;
      expect((await quota(t, key, b.identityId, year).expect(200)).body.reservedFen).toBe(100000);
      expect((await quota(t, key, b.identityId, other).expect(200)).body.reservedFen).toBe(0);
    },
  );

  it('when the payer gives a 15-digit number from before 1999, then 400 on payer.idNumber says how to upgrade it', async () => {
    const b = await buyer();
    const old15 = `${b.person.idNumber.slice(0, 6)}${b.person.idNumber.slice(8, 17)}`;
    const response = await verify(
      t,
      key,
      orderBody(b, { payer: { name: b.person.name, idNumber: old15 } }),
    ).expect(400);
    expect(response.body.error.details).toEqual([
      {
        path: 'payer.idNumber',
        message: expect.stringContaining('insert 19 before the two-digit birth year'),
      },
    ]);
    expect(JSON.stringify(response.body)).not.toContain(old15);
  });

  it('when orderedAt is more than a day before now, then 400 on path orderedAt', async () => {
    const b = await buyer();
    const response = await verify(
      t,
      key,
      orderBody(b, { orderedAt: new Date(Date.now() - 2 * 86400000).toISOString() }),
    ).expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details).toEqual([
      { path: 'orderedAt', message: 'must be within the last 24 hours' },
    ]);
  });
});

describe('POST /v1/checkout/verify: buyer and payer', () => {
  it('when the payer is someone else, then PAYER_MISMATCH and nothing is reserved', async () => {
    const b = await buyer();
    const other = randomPerson();
    const result = await approvedOrRejected(
      orderBody(b, { payer: { name: other.name, idNumber: other.idNumber } }),
    );
    expect(result.decision).toBe('REJECTED');
    expect(result.reasons.map((r: { code: string }) => r.code)).toEqual(['PAYER_MISMATCH']);
    expect(result.quota.reservedFen).toBe(0);
  });

  it('when the payer has the buyer id number but another name, then PAYER_MISMATCH', async () => {
    const b = await buyer();
    const result = await approvedOrRejected(
      orderBody(b, { payer: { name: '张三丰', idNumber: b.person.idNumber } }),
    );
    expect(result.reasons.map((r: { code: string }) => r.code)).toContain('PAYER_MISMATCH');
  });

  it('when the identity does not exist, then IDENTITY_NOT_FOUND', async () => {
    const ghost: Buyer = {
      identityId: '0f5a7c1e-8f0e-4c4b-9a53-2f3c9d1e6b7a',
      person: randomPerson(),
    };
    const result = await approvedOrRejected(orderBody(ghost));
    expect(result.decision).toBe('REJECTED');
    expect(result.reasons.map((r: { code: string }) => r.code)).toEqual(['IDENTITY_NOT_FOUND']);
  });

  it('when the identity was deleted, then IDENTITY_NOT_FOUND', async () => {
    const b = await buyer();
    await t.http().delete(`/v1/identities/${b.identityId}`).set(auth(key)).expect(204);
    const result = await approvedOrRejected(orderBody(b));
    expect(result.reasons.map((r: { code: string }) => r.code)).toEqual(['IDENTITY_NOT_FOUND']);
  });

  it('when the national check said the name and number do not match, then IDENTITY_NOT_VERIFIED', async () => {
    // The identity-verification simulator answers MISMATCH for sequence 999.
    const person = randomPerson();
    const idNumber = person.idNumber.slice(0, 14) + '999';
    const b = await registerBuyer(t, key, {
      idNumber: withCheck(idNumber),
    });
    const result = await approvedOrRejected(orderBody(b));
    expect(result.reasons.map((r: { code: string }) => r.code)).toEqual(['IDENTITY_NOT_VERIFIED']);
  });
});

describe('POST /v1/checkout/verify: tax', () => {
  it('when general goods of RMB 100 are bought, then the tax is 9.1%: RMB 9.10 VAT', async () => {
    const b = await buyer();
    const result = await approvedOrRejected(
      orderBody(b, { items: [{ qty: 1, unitPriceFen: 10000 }] }),
    );
    expect(result.tax).toEqual({
      taxableFen: 10000,
      tariffFen: 0,
      vatFen: 910,
      consumptionTaxFen: 0,
      totalTaxFen: 910,
    });
  });

  it('when high-end cosmetics of RMB 100 are bought, then the tax is 23.06%', async () => {
    const b = await buyer();
    const result = await approvedOrRejected(
      orderBody(b, { items: [{ qty: 1, unitPriceFen: 10000, category: 'cosmetics-high-end' }] }),
    );
    // 100 x 0.15 / 0.85 x 0.7 = 12.3529 -> 12.35; 100 x 0.13 / 0.85 x 0.7 = 10.7059 -> 10.71.
    expect(result.tax).toEqual({
      taxableFen: 10000,
      tariffFen: 0,
      vatFen: 1071,
      consumptionTaxFen: 1235,
      totalTaxFen: 2306,
    });
  });

  it('when the category is unknown, then 400 on path items.0.category', async () => {
    const b = await buyer();
    const response = await verify(
      t,
      key,
      orderBody(b, { items: [{ qty: 1, unitPriceFen: 100, category: 'caviar' }] }),
    ).expect(400);
    expect(response.body.error.details[0].path).toBe('items.0.category');
  });
});

describe('POST /v1/checkout/verify: idempotency', () => {
  it('when the same body is sent again, then the same answer and nothing more is reserved', async () => {
    const b = await buyer();
    const body = orderBody(b, { items: [{ qty: 1, unitPriceFen: 70000 }] });
    const first = await approvedOrRejected(body);
    const again = await Promise.all([verify(t, key, body), verify(t, key, body)]);
    for (const response of again) {
      expect(response.status).toBe(200);
      expect(response.body).toEqual(first);
    }
    expect((await quota(t, key, b.identityId).expect(200)).body.reservedFen).toBe(70000);
  });

  it('when an order is retried after its orderedAt left the 24-hour window, then the stored answer', async () => {
    const placed = new Date();
    now = placed;
    const b = await buyer();
    const body = orderBody(b, { orderedAt: placed.toISOString() });
    const first = await approvedOrRejected(body);
    now = new Date(placed.getTime() + 3 * 86400000);
    expect(await approvedOrRejected(body)).toEqual(first);
  });

  it('when a rejected order is sent again, then it is rejected again the same way', async () => {
    const b = await buyer();
    const body = orderBody(b, { items: [{ qty: 3, unitPriceFen: 200000 }] });
    const first = await approvedOrRejected(body);
    expect(await approvedOrRejected(body)).toEqual(first);
  });

  it('when a different body comes under a used orderNo, then 409 ORDER_CONFLICT', async () => {
    const b = await buyer();
    const body = orderBody(b);
    await approvedOrRejected(body);
    const changed = { ...body, freightFen: body.freightFen + 1 };
    const response = await verify(t, key, changed).expect(409);
    expect(response.body.error.code).toBe('ORDER_CONFLICT');
  });

  it('when only the consignee differs under a used orderNo, then 409 ORDER_CONFLICT', async () => {
    const b = await buyer();
    const body = orderBody(b);
    await approvedOrRejected(body);
    const changed = { ...body, consignee: { ...body.consignee, address: '北京市朝阳区建国路1号' } };
    const response = await verify(t, key, changed).expect(409);
    expect(response.body.error.code).toBe('ORDER_CONFLICT');
    expect(JSON.stringify(response.body)).not.toContain('建国路');
  });
});

describe('POST /v1/checkout/verify: input, roles, privacy', () => {
  it('when fields are malformed or unknown, then 400 naming each path', async () => {
    const b = await buyer();
    const body = {
      ...orderBody(b),
      items: [{ sku: 'A', name: 'x', qty: 0, unitPriceFen: 1.5 }],
      orderNo: 'has space',
      extra: true,
    };
    const response = await verify(t, key, body).expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    const paths = response.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining(['orderNo', 'items.0.qty', 'items.0.unitPriceFen', 'extra']),
    );
    expect(JSON.stringify(response.body)).not.toContain(b.person.idNumber);
  });

  it('when a customs client calls verify, then 403 FORBIDDEN', async () => {
    const customs = await t.clientKey('customs', 'BROKER1');
    const b = await buyer();
    const response = await verify(t, customs.apiKey, orderBody(b)).expect(403);
    expect(response.body.error.code).toBe('FORBIDDEN');
  });

  it('when a verify reads identity data, then a checkout.verify event is recorded with no plaintext', async () => {
    const b = await buyer();
    const body = orderBody(b);
    await verify(t, key, body).set('X-Request-Id', `req-${body.orderNo}`).expect(200);
    const auditor = await t.clientKey('auditor');
    const events = await t
      .http()
      .get('/v1/audit-events?action=checkout.verify&limit=100')
      .set(auth(auditor.apiKey))
      .expect(200);
    const event = events.body.items.find(
      (e: { requestId: string }) => e.requestId === `req-${body.orderNo}`,
    );
    expect(event).toMatchObject({
      action: 'checkout.verify',
      purpose: 'checkout-verification',
      outcome: 'SUCCESS',
    });
    expect(event.fields).toEqual(expect.arrayContaining(['payer.idNumber', 'consignee.address']));
    const raw = JSON.stringify(events.body);
    expect(raw).not.toContain(b.person.idNumber);
    expect(raw).not.toContain(b.person.name);
  });

  it('when the access log cannot record the verify, then 503 and nothing is reserved', async () => {
    const b = await buyer();
    await blockNextAuditAppend();
    const body = orderBody(b, { items: [{ qty: 1, unitPriceFen: 50000 }] });
    const response = await verify(t, key, body).expect(503);
    expect(response.body.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(
      await t.connection.collection('orders').countDocuments({ _id: body.orderNo } as never),
    ).toBe(0);
    expect((await quota(t, key, b.identityId).expect(200)).body.reservedFen).toBe(0);
  });

  it('when orders are stored, then no consignee or payer data is in the database in plaintext', async () => {
    const b = await buyer();
    await approvedOrRejected(orderBody(b));
    const findings = (await findPlaintextPersonalData(t.connection)).filter((f) =>
      ['orders', 'order_holds', 'quota_ledgers', 'quota_journal'].includes(f.collection),
    );
    expect(findings).toEqual([]);
  });
});

describe('GET /v1/identities/{identityId}/quota', () => {
  it('when a buyer has no orders, then the full allowance of the dated limit', async () => {
    const b = await buyer();
    const response = await quota(t, key, b.identityId, 2018).expect(200);
    expect(response.body).toEqual({
      year: 2018,
      limitFen: 2000000,
      usedFen: 0,
      reservedFen: 0,
      remainingFen: 2000000,
    });
  });

  it('when the identity is unknown, then 404 NOT_FOUND', async () => {
    const response = await quota(t, key, '0f5a7c1e-8f0e-4c4b-9a53-2f3c9d1e6b7a').expect(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });

  it('when a buyer quota is read, then a quota.read event is logged under the buyer pseudonym', async () => {
    const b = await buyer();
    await quota(t, key, b.identityId).set('X-Request-Id', `quota-${b.identityId}`).expect(200);
    await quota(t, key, '0f5a7c1e-8f0e-4c4b-9a53-2f3c9d1e6b7a')
      .set('X-Request-Id', `quota-unknown-${b.identityId}`)
      .expect(404);
    const auditor = await t.clientKey('auditor');
    const mine = await t
      .http()
      .get(`/v1/audit-events?action=quota.read&identityId=${b.identityId}`)
      .set(auth(auditor.apiKey))
      .expect(200);
    expect(mine.body.items).toEqual([
      expect.objectContaining({
        action: 'quota.read',
        outcome: 'SUCCESS',
        fields: ['quota'],
        requestId: `quota-${b.identityId}`,
        resource: { route: '/v1/identities/:identityId/quota', id: null },
      }),
    ]);
    const failed = await t
      .http()
      .get('/v1/audit-events?action=quota.read&outcome=FAILED&limit=100')
      .set(auth(auditor.apiKey))
      .expect(200);
    expect(failed.body.items.map((e: { requestId: string }) => e.requestId)).toContain(
      `quota-unknown-${b.identityId}`,
    );
  });

  it('when the access log cannot record a quota read, then 503 and no figures', async () => {
    const b = await buyer();
    await blockNextAuditAppend();
    const response = await quota(t, key, b.identityId).expect(503);
    expect(response.body).toEqual({
      error: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE' }),
    });
  });
});

describe('customs quota query', () => {
  it('when customs knows of purchases elsewhere, then the smaller remaining decides (quotaSource CUSTOMS)', async () => {
    const c = await createTestApp(
      { CUSTOMS_QUOTA_MODE: 'simulator', CUSTOMS_QUOTA_SIM_USED_FEN: '2500000' },
      { clock: () => now },
    );
    try {
      const checkout = (await c.clientKey('checkout')).apiKey;
      const b = await registerBuyer(c, checkout);
      const small = await verify(
        c,
        checkout,
        orderBody(b, { items: [{ qty: 1, unitPriceFen: 60000 }] }),
      ).expect(200);
      expect(small.body).toMatchObject({ decision: 'APPROVED', quotaSource: 'CUSTOMS' });
      expect(small.body.quota.remainingFen).toBe(40000);
      const big = await verify(
        c,
        checkout,
        orderBody(b, { items: [{ qty: 1, unitPriceFen: 200000 }] }),
      ).expect(200);
      expect(big.body).toMatchObject({ decision: 'REJECTED', quotaSource: 'CUSTOMS' });
      expect(big.body.reasons[0].code).toBe('ANNUAL_LIMIT_EXCEEDED');
      await expectNothingStoredInPlaintext(c.connection);
    } finally {
      await c.close();
    }
  });

  it('when customs does not answer in time, then the local ledger decides (quotaSource LOCAL)', async () => {
    const c = await createTestApp(
      {
        CUSTOMS_QUOTA_MODE: 'simulator',
        CUSTOMS_QUOTA_SIM_FAILURE: 'hang',
        CUSTOMS_QUOTA_TIMEOUT_MS: '50',
      },
      { clock: () => now },
    );
    try {
      const checkout = (await c.clientKey('checkout')).apiKey;
      const b = await registerBuyer(c, checkout);
      const response = await verify(c, checkout, orderBody(b)).expect(200);
      expect(response.body).toMatchObject({ decision: 'APPROVED', quotaSource: 'LOCAL' });
      await expectNothingStoredInPlaintext(c.connection);
    } finally {
      await c.close();
    }
  });
});

/** Takes the access log's next chain position, so its next append fails (no mocking). */
async function blockNextAuditAppend(): Promise<void> {
  const auditor = await t.clientKey('auditor');
  await t.http().get('/v1/audit-events?limit=1').set(auth(auditor.apiKey)).expect(200);
  const events = t.connection.collection('audit_events');
  const latest = await events.find().sort({ at: -1, seq: -1 }).limit(1).next();
  const position = { stream: latest!.stream as string, seq: (latest!.seq as number) + 1 };
  await events.insertOne({ _id: `${position.stream}:${position.seq}`, ...position } as never);
}

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';
/** ISO 7064 MOD 11-2 check character for the first 17 digits. */
function withCheck(first17: string): string {
  const sum = [...first17].reduce((total, digit, i) => total + Number(digit) * WEIGHTS[i]!, 0);
  return first17 + CHECK[sum % 11];
}

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
