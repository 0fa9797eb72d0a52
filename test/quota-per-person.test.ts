import {
  catalogue,
  approvedOrder,
  auth,
  orderBody,
  quota,
  registerBuyer,
  registerSamePerson,
  transition,
  verify,
  type Buyer,
} from './helpers/checkout-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * The annual allowance belongs to the natural person (the id number), not to
 * a registration: customs counts by id number, so every registration of one
 * person shares one ledger, and erasing an identity does not reset it.
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

const registeredAgain = (first: Buyer, userId: string) => registerSamePerson(t, key, first, userId);

const yuan = (amount: number) => ({ items: [{ qty: 1, unitPriceFen: amount * 100 }] });

const approved = (buyer: Buyer, amount: number) => approvedOrder(t, key, buyer, amount);

it('when one person is registered under two accounts, then an order the first is refused is refused under the second too, and both see one allowance', async () => {
  const first = await registerBuyer(t, key);
  const second = await registeredAgain(first, 'second-account');
  for (const amount of [5000, 5000, 5000, 5000, 2200]) await approved(first, amount);

  const underFirst = await verify(t, key, orderBody(first, yuan(4900))).expect(200);
  const underSecond = await verify(t, key, orderBody(second, yuan(4900))).expect(200);

  for (const refused of [underFirst.body, underSecond.body]) {
    expect(refused.decision).toBe('REJECTED');
    expect(refused.reasons.map((reason: { code: string }) => reason.code)).toEqual([
      'ANNUAL_LIMIT_EXCEEDED',
    ]);
  }
  const expected = { limitFen: 2600000, usedFen: 0, reservedFen: 2220000, remainingFen: 380000 };
  expect((await quota(t, key, first.identityId).expect(200)).body).toMatchObject(expected);
  expect((await quota(t, key, second.identityId).expect(200)).body).toMatchObject(expected);
});

it('when 40 concurrent RMB 1,000 orders are split over two registrations of one person, then exactly 26 are approved', async () => {
  const first = await registerBuyer(t, key);
  const second = await registeredAgain(first, 'concurrent-account');
  const responses = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      verify(t, key, orderBody(i % 2 ? second : first, yuan(1000))),
    ),
  );

  expect(responses.map((response) => response.status)).toEqual(Array(40).fill(200));
  const approvals = responses.filter((response) => response.body.decision === 'APPROVED');
  expect(approvals).toHaveLength(26);
  expect((await quota(t, key, second.identityId).expect(200)).body).toMatchObject({
    reservedFen: 2600000,
    remainingFen: 0,
  });
});

it('when an identity is deleted and the person registers again, then the usage and reservations of the year are still counted', async () => {
  const first = await registerBuyer(t, key);
  for (const orderNo of [await approved(first, 5000), await approved(first, 1000)]) {
    await transition(t, key, orderNo, 'confirm').expect(200);
  }
  await approved(first, 2000);
  await t.http().delete(`/v1/identities/${first.identityId}`).set(auth(key)).expect(204);

  const again = await registeredAgain(first, first.person.userId);

  expect(again.identityId).not.toBe(first.identityId);
  expect((await quota(t, key, again.identityId).expect(200)).body).toMatchObject({
    usedFen: 600000,
    reservedFen: 200000,
    remainingFen: 1800000,
  });
});

it('when two different people order, then their allowances stay apart', async () => {
  const one = await registerBuyer(t, key);
  const other = await registerBuyer(t, key);
  await approved(one, 5000);

  expect((await quota(t, key, other.identityId).expect(200)).body).toMatchObject({
    reservedFen: 0,
    remainingFen: 2600000,
  });
});

it('stores no personal data in plaintext, and no id number as a ledger key', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
