import {
  catalogue,
  auth,
  orderBody,
  registerBuyer,
  transition,
  verify,
} from './helpers/checkout-fixtures';
import { pullAll } from './helpers/disclosure-fixtures';
import {
  idNumberFor,
  randomPerson,
  registration,
  withCheckCharacter,
  type Person,
} from './helpers/identity-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { createTestApp, type TestApp } from './helpers/test-app';

/**
 * Issue 10, item 5: Taiwan residence permits (830000), phones of Hong Kong,
 * Macau, Taiwan and elsewhere for buyers and consignees, and 15-digit numbers.
 */
let t: TestApp;
let checkout: string;
let carrier: string;
/** Every plaintext these tests sent or stored: none may appear in any collection or log line. */
const secrets = new Set<string>();

beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  checkout = (await t.clientKey('checkout')).apiKey;
  // Confirm needs every SKU catalogued: the default ones of orderBody.
  await catalogue(t, checkout, ['SKU-1', 'SKU-2', 'SKU-3']);
  carrier = (await t.clientKey('carrier', 'SF')).apiKey;
});
afterAll(() => t.close());

function person(overrides: Partial<Person> = {}): Person {
  const who = randomPerson(overrides);
  for (const secret of [who.name, who.idNumber, who.phone]) secrets.add(secret);
  return who;
}

function register(who: Person, extra: Record<string, unknown> = {}) {
  return t.http().post('/v1/identities').set(auth(checkout)).send(registration(who, extra));
}

function exportOf(identityId: string) {
  return t.http().get(`/v1/identities/${identityId}/export`).set(auth(checkout)).expect(200);
}

describe('Taiwan residence permits (830000)', () => {
  it('when a buyer registers with a 830000 number and a right check character, then 201, unflagged', async () => {
    const idNumber = withCheckCharacter('83000019900307123');
    const who = person({ idNumber });
    const body = (await register(who).expect(201)).body;
    expect(body).toMatchObject({
      idNumberMasked: `830***********${idNumber.slice(-4)}`,
      flags: [],
      status: 'VERIFIED',
    });
    expect((await exportOf(body.identityId)).body.idNumber).toBe(idNumber);
  });

  it('when a 830000 number is the payer of a verify, then it is approved', async () => {
    const buyer = await registerBuyer(t, checkout, { idNumber: idNumberFor({ region: '830000' }) });
    secrets.add(buyer.person.idNumber);
    const response = await verify(t, checkout, orderBody(buyer)).expect(200);
    expect(response.body).toMatchObject({ decision: 'APPROVED', reasons: [] });
  });
});

/** As typed, as stored (export), as masked. */
const PHONES: [string, string, string, string][] = [
  ['Hong Kong', '+852 9123 4567', '+85291234567', '+852****4567'],
  ['Macau', '00853 6612-3456', '+85366123456', '+853****3456'],
  ['Taiwan', '+886 912 345 678', '+886912345678', '+886****5678'],
  ['an E.164 (Germany)', '+49 1512 3456789', '+4915123456789', '+49****6789'],
];

describe('buyers with phones outside the mainland', () => {
  it.each(PHONES)(
    'when a buyer registers with a %s phone, then 201, stored as E.164 and masked to the last 4',
    async (_label, typed, stored, masked) => {
      secrets.add(stored);
      const body = (await register(person(), { phone: typed }).expect(201)).body;
      expect(body.phoneMasked).toBe(masked);
      const read = await t
        .http()
        .get(`/v1/identities/${body.identityId}`)
        .set(auth(checkout))
        .expect(200);
      expect(read.body.phoneMasked).toBe(masked);
      expect(JSON.stringify(read.body)).not.toContain(stored.slice(-5));
      expect((await exportOf(body.identityId)).body.phone).toBe(stored);
    },
  );

  it('when a mainland phone is corrected to a Hong Kong one, then the masked view shows +852 and the last 4', async () => {
    const created = (await register(person()).expect(201)).body;
    secrets.add('+85261234567');
    const response = await t
      .http()
      .patch(`/v1/identities/${created.identityId}`)
      .set(auth(checkout))
      .send({ phone: '+852 6123 4567' })
      .expect(200);
    expect(response.body.phoneMasked).toBe('+852****4567');
    expect((await exportOf(created.identityId)).body.phone).toBe('+85261234567');
  });

  it.each([
    ['a Hong Kong number of 7 digits', '+852 9123 456'],
    ['a Macau number of 9 digits', '+853 6612 34567'],
    ['a Taiwan landline', '+886 2 2345 6789'],
    ['a mainland landline with +86', '+86 10 6234 5678'],
    ['an unassigned country code', '+999 1234 5678'],
    ['16 digits', '+1234567890123456'],
    ['a Hong Kong number without +852', '91234567'],
    ['a Hong Kong number padded past 30 characters', `+852${' '.repeat(20)}9123 4567`],
  ])('when the phone is %s, then 400 on path phone without echoing it', async (_label, phone) => {
    const response = await register(person(), { phone }).expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details).toEqual([{ path: 'phone', message: expect.any(String) }]);
    const serialised = JSON.stringify(response.body);
    expect(serialised).not.toContain(phone);
    expect(serialised).not.toContain(phone.replace(/\D/g, ''));
    expect(serialised).not.toContain(phone.replace(/\D/g, '').slice(-6));
  });
});

describe('consignees with phones outside the mainland', () => {
  it('when the consignee phone is a Hong Kong number, then the verify is approved and the carrier gets it in E.164', async () => {
    const buyer = await registerBuyer(t, checkout);
    secrets.add(buyer.person.phone);
    secrets.add('+85251234567');
    const body = orderBody(buyer, {
      consignee: { name: '陈大文', phone: '+852 5123-4567', address: '香港九龙弥敦道100号' },
    });
    secrets.add('陈大文');
    const verified = await verify(t, checkout, body).expect(200);
    expect(verified.body).toMatchObject({ decision: 'APPROVED', reasons: [] });
    await transition(t, checkout, body.orderNo, 'confirm').expect(200);
    const shipment = (await pullAll(t, carrier, '/v1/shipments')).find(
      (item) => item.orderNo === body.orderNo,
    );
    expect(shipment?.consignee).toEqual({
      name: '陈大文',
      telephone: '+85251234567',
      address: '香港九龙弥敦道100号',
    });
  });

  it('when the same order is sent again with the phone written another way, then it is the same request', async () => {
    const buyer = await registerBuyer(t, checkout);
    secrets.add(buyer.person.phone);
    const first = orderBody(buyer, {
      consignee: { name: '陈大文', phone: '+886 912 345 678', address: '台北市信义路五段7号' },
    });
    const again = { ...first, consignee: { ...first.consignee, phone: '00886-912-345-678' } };
    const answers = [
      (await verify(t, checkout, first).expect(200)).body,
      (await verify(t, checkout, again).expect(200)).body,
    ];
    expect(answers[1]).toEqual(answers[0]);
  });

  it.each([
    ['a Hong Kong number of 9 digits', '+852 9123 45678'],
    ['a short number', '12345'],
    ['a mainland landline', '010-6234-5678'],
    ['letters', '+852 9123 abcd'],
  ])(
    'when the consignee phone is %s, then 400 on path consignee.phone without echoing it',
    async (_label, phone) => {
      const buyer = await registerBuyer(t, checkout);
      secrets.add(buyer.person.phone);
      const body = orderBody(buyer);
      const response = await verify(t, checkout, {
        ...body,
        consignee: { ...body.consignee, phone },
      }).expect(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
      expect(response.body.error.details).toEqual([
        { path: 'consignee.phone', message: expect.any(String) },
      ]);
      expect(JSON.stringify(response.body)).not.toContain(phone);
    },
  );
});

describe('15-digit (pre-1999) id numbers', () => {
  it.each([
    ['Beijing', '110105900307123'],
    ['a lower sequence', '440524800101002'],
  ])(
    'when a %s 15-digit number is registered, then 400 on path idNumber saying how to upgrade it, never echoing it',
    async (_label, idNumber) => {
      const response = await register(person(), { idNumber }).expect(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
      expect(response.body.error.details).toEqual([
        {
          path: 'idNumber',
          message: expect.stringMatching(
            /15-digit.*customs takes the 18-digit form.*insert 19 before the two-digit birth year.*check character/,
          ),
        },
      ]);
      const serialised = JSON.stringify(response.body);
      expect(serialised).not.toContain(idNumber);
      expect(serialised).not.toContain(idNumber.slice(0, 6));
      expect(serialised).not.toContain(idNumber.slice(6, 12));
      // The upgraded number is not volunteered either: the caller computes it.
      const upgraded = withCheckCharacter(`${idNumber.slice(0, 6)}19${idNumber.slice(6)}`);
      expect(serialised).not.toContain(upgraded);
      expect(t.logs.join('\n')).not.toContain(idNumber);
    },
  );

  it('when the 15-digit number is upgraded as the message says, then it registers', async () => {
    const old = '110105900307123';
    const upgraded = withCheckCharacter(`${old.slice(0, 6)}19${old.slice(6)}`);
    const who = person({ idNumber: upgraded });
    await register(who).expect(201);
  });
});

describe('stored data', () => {
  it('when every collection and log line is scanned, then no name, id number or phone of these tests appears', async () => {
    expect(secrets.size).toBeGreaterThan(20);
    const db = t.connection.db!;
    const dump: string[] = [];
    for (const { name } of await db.listCollections().toArray()) {
      dump.push(JSON.stringify(await db.collection(name).find().toArray()));
    }
    const everything = dump.join('\n') + t.logs.join('\n');
    expect([...secrets].filter((secret) => everything.includes(secret))).toEqual([]);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
