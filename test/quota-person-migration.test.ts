import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  catalogue,
  approvedOrder,
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
 * Identities registered before person keys existed counted against their own
 * ledger. `npm run quota:migrate` keys them by person and moves their ledgers,
 * orders and holds there; running it again changes nothing.
 */
let t: TestApp;
let key: string;

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  key = (await t.clientKey('checkout')).apiKey;
  // Confirm needs every SKU catalogued: the default ones of orderBody.
  await catalogue(t, key, ['SKU-1', 'SKU-2', 'SKU-3']);
});
afterAll(() => t.close());

const identities = () => t.connection.collection('identities');

/** Makes a registration look as it did before person keys: no personRef. */
async function asBeforePersonKeys(buyer: Buyer) {
  await identities().updateOne({ _id: buyer.identityId as never }, { $unset: { personRef: '' } });
}

const approved = (buyer: Buyer, yuan: number) => approvedOrder(t, key, buyer, yuan);

const runMigration = (runId: string) => t.quotaMigration.run({ batchSize: 1, runId });

describe('moving per-registration ledgers onto person ledgers', () => {
  let first: Buyer;
  let second: Buyer;
  let firstOrders: string[];
  let secondOrder: string;

  beforeAll(async () => {
    first = await registerBuyer(t, key);
    const { name, idNumber, phone, birth } = first.person;
    second = await registerBuyer(t, key, {
      userId: 'old-second-account',
      name,
      idNumber,
      phone,
      birth,
    });
    await asBeforePersonKeys(first);
    await asBeforePersonKeys(second);
    // Each registration counts on its own ledger, as before: 20,000 + 5,000.
    firstOrders = [];
    for (let i = 0; i < 4; i += 1) firstOrders.push(await approved(first, 5000));
    await transition(t, key, firstOrders[0]!, 'confirm').expect(200);
    secondOrder = await approved(second, 5000);
  });

  it('when identities lack a person key, then the app says how many and what to run', async () => {
    const restarted = await createTestApp({ DB_NAME: t.connection.name });
    await restarted.stop();
    await restarted.connection.close();
    expect(restarted.logs.join('')).toContain(
      '2 identities have no person key yet: run `npm run quota:migrate`',
    );
  });

  it('when the migration runs, then both registrations share one ledger with everything each had', async () => {
    expect(await t.quotaMigration.pending()).toBe(2);
    const report = await runMigration('first');

    expect(report).toEqual({ identities: 2, years: 2, entries: 5, orders: 5 });
    expect(await t.quotaMigration.pending()).toBe(0);
    const shared = { usedFen: 500000, reservedFen: 2000000, remainingFen: 100000 };
    expect((await quota(t, key, first.identityId).expect(200)).body).toMatchObject(shared);
    expect((await quota(t, key, second.identityId).expect(200)).body).toMatchObject(shared);
  });

  it('when the migration runs again, then nothing changes', async () => {
    const report = await runMigration('again');

    expect(report).toEqual({ identities: 0, years: 0, entries: 0, orders: 0 });
    expect((await quota(t, key, second.identityId).expect(200)).body).toMatchObject({
      usedFen: 500000,
      reservedFen: 2000000,
    });
  });

  it('when a migrated order is confirmed or cancelled, then the person ledger moves', async () => {
    await transition(t, key, firstOrders[1]!, 'confirm').expect(200);
    await transition(t, key, secondOrder, 'cancel').expect(200);

    expect((await quota(t, key, second.identityId).expect(200)).body).toMatchObject({
      usedFen: 1000000,
      reservedFen: 1000000,
      remainingFen: 600000,
    });
    const refused = await verify(
      t,
      key,
      orderBody(second, { items: [{ qty: 1, unitPriceFen: 700000 }] }),
    );
    expect(refused.body.reasons.map((reason: { code: string }) => reason.code)).toContain(
      'ANNUAL_LIMIT_EXCEEDED',
    );
  });

  it('when a migration read an id number, then the access log records it with its purpose', async () => {
    const events = await t.connection
      .collection('audit_events')
      .find({ purpose: 'record-keeping' })
      .toArray();
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      action: 'identity.read',
      actor: { clientId: 'quota-migration', role: 'admin' },
      fields: ['idNumber'],
      requestId: 'quota-migration-first',
    });
  });
});

it('when the CLI migrates, then it reports what it moved and a second run finds nothing left', async () => {
  const lone = await registerBuyer(t, key);
  await asBeforePersonKeys(lone);
  await approved(lone, 1000);
  const root = path.resolve(__dirname, '..');
  const uri = `${process.env.MONGODB_URI!.replace(/\/$/, '')}/${t.connection.name}`;
  const cli = (...args: string[]) =>
    promisify(execFile)(
      process.execPath,
      [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'src/cli/quota.ts', ...args],
      {
        cwd: root,
        env: { ...process.env, MONGODB_URI: uri, NODE_ENV: 'development', LOG_LEVEL: 'warn' },
        timeout: 60_000,
      },
    );

  const { stdout } = await cli('migrate', '--no-progress');
  expect(stdout).toContain('1 identity without a person key');
  expect(stdout).toContain('migrated: 1 identities; 1 ledger entries');
  expect((await cli('status')).stdout).toContain('identities without a person key: 0');
});

it('stores no personal data in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
