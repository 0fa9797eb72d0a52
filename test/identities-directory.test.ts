import type { AccessEventInput, AccessLog } from '../src/audit/audit-types';
import { createCryptoModule, type CryptoModule } from '../src/crypto/crypto-module';
import type { DisclosureReceipt } from '../src/disclosure/disclosure-types';
import { ServiceUnavailable } from '../src/errors';
import type { RequestContext } from '../src/http/route';
import { createIdentitiesModule, type IdentitiesModule } from '../src/identities/identities-module';
import { createLogger } from '../src/logger';
import { idNumberFor, randomPerson, registration, type Person } from './helpers/identity-fixtures';
import { createTestApp, type TestApp } from './helpers/test-app';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { auth } from './helpers/auth';

let t: TestApp;
let checkout: string;

beforeAll(async () => {
  t = await createTestApp();
  checkout = (await t.clientKey('checkout')).apiKey;
});
afterAll(() => t.close());

async function register(person: Person): Promise<string> {
  const response = await t
    .http()
    .post('/v1/identities')
    .set(auth(checkout))
    .send(registration(person))
    .expect(201);
  return response.body.identityId;
}

describe('IdentityDirectory (for checkout and disclosure)', () => {
  it('when a buyer is registered, then findBuyer returns ids, statuses and a keyed person pseudonym only', async () => {
    const person = randomPerson();
    const identityId = await register(person);
    const buyer = await t.identityDirectory.findBuyer(identityId);
    expect(buyer).toEqual({
      identityId,
      personRef: expect.stringMatching(/^1:[A-Za-z0-9_-]{43}$/),
      userId: person.userId,
      verificationStatus: 'VERIFIED',
      consentRecorded: true,
      consentWithdrawn: false,
    });
    expect(buyer!.personRef).not.toContain(person.idNumber);
  });

  it('when the same person is registered under two accounts, then both carry the same person pseudonym', async () => {
    const person = randomPerson();
    const first = await register(person);
    const second = await register({ ...person, userId: `${person.userId}-second` });
    const [one, other] = await Promise.all(
      [first, second].map((id) => t.identityDirectory.findBuyer(id)),
    );
    expect(first).not.toBe(second);
    expect(one!.personRef).toBe(other!.personRef);
    const stranger = await t.identityDirectory.findBuyer(await register(randomPerson()));
    expect(stranger!.personRef).not.toBe(one!.personRef);
  });

  it('when the identity is unknown or deleted, then findBuyer is null', async () => {
    const identityId = await register(randomPerson());
    await t.http().delete(`/v1/identities/${identityId}`).set(auth(checkout)).expect(204);
    expect(await t.identityDirectory.findBuyer(identityId)).toBeNull();
    expect(await t.identityDirectory.findBuyer('6a1f8f0e-7f5e-4a0e-9d7c-9a1c3f0b2d11')).toBeNull();
  });

  it('when the payer is the buyer (typed differently), then payerMatches is true, without decrypting', async () => {
    const person = randomPerson({
      name: '阿依古丽·买买提',
      idNumber: idNumberFor({ birth: '19851010', sequence: '556' }),
    });
    const identityId = await register(person);
    // Ciphertext made unreadable: a match can only come from the blind indexes.
    await t.connection
      .collection('identities')
      .updateOne({ id: identityId }, { $set: { name: 'x', idNumber: 'x' } });
    const payer = { name: ' 阿依古丽・买买提', idNumber: person.idNumber.toLowerCase() };
    expect(await t.identityDirectory.payerMatches(identityId, payer)).toBe(true);
  });

  it.each([
    ['another name', (p: Person) => ({ name: '钱多多', idNumber: p.idNumber })],
    [
      'another id number',
      (p: Person) => ({
        name: p.name,
        idNumber: idNumberFor({ birth: '19700101', sequence: '321' }),
      }),
    ],
    ['an invalid id number', (p: Person) => ({ name: p.name, idNumber: 'not-an-id' })],
    ['an empty name', (p: Person) => ({ name: '', idNumber: p.idNumber })],
  ])('when the payer has %s, then payerMatches is false', async (_label, payerOf) => {
    const person = randomPerson();
    const identityId = await register(person);
    expect(await t.identityDirectory.payerMatches(identityId, payerOf(person))).toBe(false);
  });

  it('when the identity was deleted, then payerMatches is false', async () => {
    const person = randomPerson();
    const identityId = await register(person);
    await t.http().delete(`/v1/identities/${identityId}`).set(auth(checkout)).expect(204);
    expect(
      await t.identityDirectory.payerMatches(identityId, {
        name: person.name,
        idNumber: person.idNumber,
      }),
    ).toBe(false);
  });

  it('when a buyer is revealed, then the plaintext fields; after deletion, DecryptionFailed; unknown, 404', async () => {
    const person = randomPerson();
    const identityId = await register(person);
    expect(await t.identityDirectory.revealBuyer(identityId)).toEqual({
      name: person.name,
      idNumber: person.idNumber,
      phone: person.phone,
    });
    await t.http().delete(`/v1/identities/${identityId}`).set(auth(checkout)).expect(204);
    await expect(t.identityDirectory.revealBuyer(identityId)).rejects.toMatchObject({
      name: 'DecryptionFailed',
      status: 500,
    });
    await expect(
      t.identityDirectory.revealBuyer('6a1f8f0e-7f5e-4a0e-9d7c-9a1c3f0b2d11'),
    ).rejects.toMatchObject({ status: 404 });
  });

  it("when order fields are encrypted under the buyer's key, then deletion makes them unreadable too", async () => {
    const identityId = await register(randomPerson());
    const ref = {
      subjectId: identityId,
      collection: 'orders',
      recordId: 'order-1',
      field: 'consignee.address',
    };
    const ciphertext = await t.fieldCipher.encrypt(ref, '北京市朝阳区某路1号');
    expect(await t.fieldCipher.decryptText(ref, ciphertext)).toBe('北京市朝阳区某路1号');
    await t.http().delete(`/v1/identities/${identityId}`).set(auth(checkout)).expect(204);
    await expect(t.fieldCipher.decryptText(ref, ciphertext)).rejects.toMatchObject({
      name: 'DecryptionFailed',
    });
  });
});

/**
 * The service with an access log and disclosure receipts standing in for the
 * real ones (in-memory, not database mocks), to check what happens when the
 * log refuses and that disclosure receipts reach the export.
 */
describe('identities service with its access log and disclosure receipts', () => {
  let crypto: CryptoModule;
  let events: AccessEventInput[];
  let logWorks: boolean;
  let identities: IdentitiesModule;
  /** What the disclosure receipts store would hold, by identity id. */
  const receipts = new Map<string, DisclosureReceipt[]>();
  const ctx: RequestContext = {
    actor: { clientId: 'checkout-1', role: 'checkout', partnerCode: null },
    requestId: 'req-1',
    sourceIp: '127.0.0.1',
    route: '/v1/identities',
  };

  beforeAll(async () => {
    crypto = createCryptoModule(
      { connection: t.connection, logger: createLogger('silent') },
      { ...t.config, dataKeyCacheMs: 0 },
    );
    await crypto.start();
    const accessLog: AccessLog = {
      async record(event) {
        if (!logWorks) throw new ServiceUnavailable('The access log cannot be written.');
        events.push(event);
      },
      subjectRef: (identityId) => `ref-${identityId}`,
    };
    const disclosureReceipts = {
      listForIdentity: async (identityId: string) => receipts.get(identityId) ?? [],
    };
    // No orders nor quota in this file; one known partner for the receipts below.
    const exportSources = {
      orders: { listForIdentity: async () => [] },
      quota: { yearsOf: async () => [] },
      partners: {
        describe: async (clientId: string) =>
          clientId === 'customs-1'
            ? {
                name: 'Broker One',
                contact: 'privacy@broker.example',
                jurisdiction: 'CN',
                crossBorderBasis: null,
              }
            : null,
      },
    };
    identities = createIdentitiesModule(
      {
        connection: t.connection,
        crypto,
        accessLog,
        disclosureReceipts,
        exportSources,
        // These tests register only: nothing is ever erased, so nothing is held.
        legalHold: { retain: async () => 'none' as const },
      },
      t.config,
    );
  });
  beforeEach(() => {
    events = [];
    logWorks = true;
  });
  afterAll(() => crypto.stop());

  function input(person: Person) {
    return { ...registration(person), relation: 'self' as const };
  }

  it('when the access log cannot record a registration, then 503, and neither the identity nor its key remain', async () => {
    const person = randomPerson();
    const liveKeys = () =>
      t.connection.collection('subject_keys').countDocuments({ wrappedKey: { $ne: null } });
    const keysBefore = await liveKeys();
    logWorks = false;
    await expect(identities.service.create(ctx, input(person))).rejects.toMatchObject({
      status: 503,
    });
    expect(
      await t.connection.collection('identities').countDocuments({ userId: person.userId }),
    ).toBe(0);
    expect(await liveKeys()).toBe(keysBefore);
  });

  it('when the access log cannot record a read, then no data is returned', async () => {
    const { identity } = await identities.service.create(ctx, input(randomPerson()));
    logWorks = false;
    await expect(identities.service.get(ctx, identity.identityId)).rejects.toMatchObject({
      status: 503,
    });
    await expect(identities.service.exportData(ctx, identity.identityId)).rejects.toMatchObject({
      status: 503,
    });
  });

  it('when the access log cannot record a correction, then the previous values are restored', async () => {
    const person = randomPerson();
    const { identity } = await identities.service.create(ctx, input(person));
    logWorks = false;
    await expect(
      identities.service.correct(ctx, identity.identityId, { phone: '13700000000' }),
    ).rejects.toMatchObject({ status: 503 });
    logWorks = true;
    expect((await identities.service.exportData(ctx, identity.identityId)).phone).toBe(
      person.phone,
    );
  });

  it('when events are recorded, then they carry the identity, purpose and field names, never values', async () => {
    const person = randomPerson();
    const { identity } = await identities.service.create(ctx, input(person));
    await identities.service.get(ctx, identity.identityId);
    expect(events.map((e) => [e.action, e.purpose, e.outcome, e.identityId])).toEqual([
      ['identity.create', 'identity-registration', 'SUCCESS', identity.identityId],
      ['identity.read', 'checkout-verification', 'SUCCESS', identity.identityId],
    ]);
    const serialised = JSON.stringify(events);
    for (const value of [person.name, person.idNumber, person.phone])
      expect(serialised).not.toContain(value);
  });

  it('when the identity has disclosure receipts, then the export lists them', async () => {
    const { identity } = await identities.service.create(ctx, input(randomPerson()));
    expect((await identities.service.exportData(ctx, identity.identityId)).disclosures).toEqual([]);
    receipts.set(identity.identityId, [
      {
        id: 'receipt-1',
        at: new Date('2025-03-01T02:00:00Z'),
        identityId: identity.identityId,
        partnerCode: 'BROKER1',
        clientId: 'customs-1',
        role: 'customs',
        fields: ['name', 'idNumber'],
        purpose: 'customs-clearance',
        resourceType: 'declaration',
        resourceId: 'declaration-1',
        orderNo: 'order-1',
        requestId: 'req-2',
      },
    ]);
    expect((await identities.service.exportData(ctx, identity.identityId)).disclosures).toEqual([
      {
        at: '2025-03-01T02:00:00.000Z',
        partnerCode: 'BROKER1',
        role: 'customs',
        recipient: { name: 'Broker One', contact: 'privacy@broker.example' },
        fields: ['name', 'idNumber'],
        purpose: 'customs-clearance',
        legalBasis: expect.stringContaining('PIPL art. 13(2)'),
        orderNo: 'order-1',
        // A receipt from before jurisdictions were recorded.
        country: null,
      },
    ]);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
