import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config';
import { auth } from './helpers/auth';
import {
  CEB621_TEST_DEFAULTS,
  confirmedOrder,
  pullAll,
  type ConfirmedOrder,
} from './helpers/disclosure-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

let t: TestApp;
let now = new Date();
let checkout: string;
let broker: string;
let auditor: string;
let legal: string;

const DAY_MS = 24 * 3600 * 1000;
const yearsLater = (from: Date, years: number, days = 0) => {
  const at = new Date(from.getTime() + days * DAY_MS);
  at.setUTCFullYear(at.getUTCFullYear() + years);
  return at;
};

beforeAll(async () => {
  t = await createTestApp(
    { RATE_LIMIT_PER_MINUTE: '100000', CEB621_DEFAULTS: JSON.stringify(CEB621_TEST_DEFAULTS) },
    { clock: () => now },
  );
  checkout = (await t.clientKey('checkout')).apiKey;
  broker = (await t.clientKey('customs', 'BROKER1')).apiKey;
  auditor = (await t.clientKey('auditor')).apiKey;
  legal = (await t.clientKey('legal')).apiKey;
});
afterAll(() => t.close());

async function releasedOrder(): Promise<ConfirmedOrder> {
  const order = await confirmedOrder(t, checkout);
  const declaration = (await pullAll(t, broker, '/v1/declarations')).find(
    (item) => item.orderNo === order.orderNo,
  );
  await t
    .http()
    .post(`/v1/declarations/${declaration!.declarationId}/ack`)
    .set(auth(broker))
    .send({ status: 'ACCEPTED' })
    .expect(200);
  return order;
}

const run = (dryRun: boolean) => t.retention.runRetention({ dryRun, now, batchSize: 2 });
const orderDoc = (orderNo: string) =>
  t.connection.collection('orders').findOne({ _id: orderNo as never });

describe('three years and a day after completion', () => {
  let inactive: ConfirmedOrder;
  let deleted: ConfirmedOrder;
  let recent: ConfirmedOrder;
  const start = now;

  beforeAll(async () => {
    inactive = await releasedOrder();
    deleted = await releasedOrder();
    await t
      .http()
      .delete(`/v1/identities/${deleted.buyer.identityId}`)
      .set(auth(checkout))
      .expect(204);
    now = yearsLater(start, 3, 1);
    // Paid now, not yet lodged: an open order of a recent buyer.
    recent = await confirmedOrder(t, checkout, { waybill: false });
  });

  it('when run dry, then it reports what it would do and changes nothing', async () => {
    const before = await t.connection.collection('legal_holds').find().toArray();
    const report = await run(true);
    expect(report).toMatchObject({
      dryRun: true,
      identitiesErased: 1,
      holdsDestroyed: 2,
      recordsAnonymised: 2,
    });
    expect(await t.connection.collection('legal_holds').find().toArray()).toEqual(before);
    await t
      .http()
      .get(`/v1/identities/${inactive.buyer.identityId}`)
      .set(auth(checkout))
      .expect(200);
    expect(await orderDoc(deleted.orderNo)).toMatchObject({
      identityId: deleted.buyer.identityId,
    });
  });

  it('when applied, then the inactive identity is erased, ended holds destroyed and their orders anonymised', async () => {
    const report = await run(false);
    expect(report).toMatchObject({
      dryRun: false,
      identitiesErased: 1,
      holdsDestroyed: 2,
      recordsAnonymised: 2,
    });
    await t
      .http()
      .get(`/v1/identities/${inactive.buyer.identityId}`)
      .set(auth(checkout))
      .expect(404);
    for (const order of [inactive, deleted]) {
      expect(await orderDoc(order.orderNo)).toMatchObject({
        identityId: 'anonymised',
        consignee: null,
        personalHash: null,
      });
      const declaration = await t.connection
        .collection('declarations')
        .findOne({ orderNo: order.orderNo });
      expect(declaration).toMatchObject({ identityId: 'anonymised' });
      const hold = await t.connection
        .collection('legal_holds')
        .findOne({ identityId: order.buyer.identityId });
      expect(hold).toMatchObject({ status: 'DESTROYED', destroyedAt: expect.any(Date) });
      expect(hold).not.toHaveProperty('sealed');
      const opened = await t
        .http()
        .post(`/v1/legal-holds/${hold!._id as unknown as string}/disclose`)
        .set(auth(legal))
        .send({
          requestType: 'CUSTOMS_REQUEST',
          requestedBy: 'Shanghai Customs',
          reference: 'SH-2029-0007',
          reason: 'Post-clearance audit',
        });
      expect(opened.status).toBe(404);
    }
  });

  it('when applied again, then it finds nothing, and the buyer with a recent order is kept', async () => {
    expect(await run(false)).toMatchObject({
      identitiesErased: 0,
      holdsDestroyed: 0,
      recordsAnonymised: 0,
    });
    await t.http().get(`/v1/identities/${recent.buyer.identityId}`).set(auth(checkout)).expect(200);
    expect(await orderDoc(recent.orderNo)).toMatchObject({ identityId: recent.buyer.identityId });
  });

  it('when the runs are listed, then each is one retention.run event with its counts', async () => {
    const events = await t
      .http()
      .get('/v1/audit-events?action=retention.run')
      .set(auth(auditor))
      .expect(200);
    expect(events.body.items.map((event: { counts: unknown }) => event.counts)).toEqual(
      expect.arrayContaining([
        { identitiesErased: 1, holdsDestroyed: 2, recordsAnonymised: 2 },
        { identitiesErased: 0, holdsDestroyed: 0, recordsAnonymised: 0 },
      ]),
    );
    expect(events.body.items).toHaveLength(3);
    expect(events.body.items[0]).toMatchObject({
      purpose: 'record-keeping',
      actor: { clientId: 'retention-job', role: 'admin' },
      fields: [],
    });
    const verified = await t.http().get('/v1/audit-events/verify').set(auth(auditor)).expect(200);
    expect(verified.body.ok).toBe(true);
  });
});

describe('consent withdrawn', () => {
  it('when a buyer withdrew consent, then the next pass erases them once no order is open, keeping paid orders under a hold', async () => {
    const settled = await releasedOrder();
    const inCustoms = await confirmedOrder(t, checkout, { waybill: false });
    for (const order of [settled, inCustoms]) {
      await t
        .http()
        .post(`/v1/identities/${order.buyer.identityId}/consent/withdraw`)
        .set(auth(checkout))
        .expect(200);
    }

    const report = await run(false);

    expect(report.identitiesErased).toBe(1);
    await t
      .http()
      .get(`/v1/identities/${settled.buyer.identityId}`)
      .set(auth(checkout))
      .expect(404);
    const holds = await t
      .http()
      .get('/v1/legal-holds')
      .query({ identityId: settled.buyer.identityId })
      .set(auth(legal))
      .expect(200);
    expect(holds.body.items).toEqual([
      expect.objectContaining({ status: 'HELD', orderNos: [settled.orderNo] }),
    ]);
    // Its paid order is still in customs: the data stays until that order is settled.
    await t
      .http()
      .get(`/v1/identities/${inCustoms.buyer.identityId}`)
      .set(auth(checkout))
      .expect(200);
  });
});

describe('configuration', () => {
  it.each(['RETENTION_TRANSACTION_YEARS', 'RETENTION_INACTIVE_IDENTITY_YEARS'])(
    'when %s is below the legal floor of 3, then loadConfig refuses, naming it',
    (variable) => {
      expect(() => loadConfig({ NODE_ENV: 'test', [variable]: '2' })).toThrow(
        new RegExp(`invalid configuration: ${variable}`),
      );
      expect(loadConfig({ NODE_ENV: 'test', [variable]: '5' }).retention).toMatchObject(
        variable === 'RETENTION_TRANSACTION_YEARS'
          ? { transactionYears: 5 }
          : { inactiveIdentityYears: 5 },
      );
    },
  );

  it('when nothing is set, then 3 and 3 years and a daily job', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).retention).toEqual({
      transactionYears: 3,
      inactiveIdentityYears: 3,
      jobIntervalMs: 86400000,
    });
  });
});

it('when the CLI runs, then it prints the counts (dry by default), and --apply changes nothing left to do', async () => {
  const root = path.resolve(__dirname, '..');
  const uri = `${process.env.MONGODB_URI!.replace(/\/$/, '')}/${t.connection.name}`;
  const cli = (...args: string[]) =>
    promisify(execFile)(
      process.execPath,
      [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'src/cli/retention.ts', ...args],
      {
        cwd: root,
        env: { ...process.env, MONGODB_URI: uri, NODE_ENV: 'development', LOG_LEVEL: 'warn' },
        timeout: 60_000,
      },
    );
  const dry = await cli('--no-progress');
  expect(dry.stdout).toContain('dry run: nothing is changed');
  expect(dry.stdout).toContain(
    'would erase: 0 identities; holds destroyed: 0; orders anonymised: 0',
  );
  const applied = await cli('--apply', '--no-progress', '--batch-size', '10');
  expect(applied.stdout).toContain(
    'erased: 0 identities; holds destroyed: 0; orders anonymised: 0',
  );
});

it('stores no personal data in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
