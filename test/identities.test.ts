import { blockNextAppend } from './helpers/audit-blocking';
import { createTestApp, type TestApp } from './helpers/test-app';
import {
  beijingDateYearsAgo,
  CONSENT,
  idNumberFor,
  randomPerson,
  registration,
  withCheckCharacter,
  type Person,
} from './helpers/identity-fixtures';
import { expectNothingStoredInPlaintext } from './helpers/plaintext-scan';
import { auth } from './helpers/auth';

let t: TestApp;
let checkout: string;
let auditor: string;
/** Every plaintext these tests sent: none may appear in any collection or log line. */
const secrets = new Set<string>();

beforeAll(async () => {
  t = await createTestApp();
  checkout = (await t.clientKey('checkout')).apiKey;
  auditor = (await t.clientKey('auditor')).apiKey;
});
afterAll(() => t.close());

function remember(person: Person): Person {
  secrets.add(person.name);
  secrets.add(person.idNumber);
  secrets.add(person.phone);
  secrets.add(person.birth);
  secrets.add(
    `${person.birth.slice(0, 4)}-${person.birth.slice(4, 6)}-${person.birth.slice(6, 8)}`,
  );
  return person;
}

function person(overrides: Partial<Person> = {}): Person {
  return remember(randomPerson(overrides));
}

/** POST /v1/identities; the caller asserts the status. */
function register(who: Person, extra: Record<string, unknown> = {}) {
  return t.http().post('/v1/identities').set(auth(checkout)).send(registration(who, extra));
}

async function auditEvents(query: Record<string, string>) {
  const response = await t
    .http()
    .get('/v1/audit-events')
    .query(query)
    .set(auth(auditor))
    .expect(200);
  return response.body.items as { action: string; outcome: string; fields: string[] }[];
}

describe('POST /v1/identities', () => {
  it('when a valid adult registers, then 201 with the masked view exactly as the contract', async () => {
    const who = person({
      name: '张三',
      phone: '13812345678',
      idNumber: idNumberFor({ birth: '19800101', sequence: '123' }),
    });
    secrets.add('13812345678');
    const body = (await register(who).expect(201)).body;
    expect(body).toEqual({
      identityId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      userId: who.userId,
      nameMasked: '张*',
      idNumberMasked: `110***********${who.idNumber.slice(-4)}`,
      phoneMasked: '138****5678',
      age: expect.any(Number),
      status: 'VERIFIED',
      relation: 'self',
      flags: [],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(body.age).toBeGreaterThanOrEqual(44);
  });

  it.each([
    ['王小明', '王**'],
    ['欧阳娜娜', '欧阳**'],
    ['司马相如', '司马**'],
    ['欧阳', '欧*'],
    ['阿依古丽·买买提', '阿*******'],
  ])('when the name is %s, then it is masked as %s', async (name, expected) => {
    const body = (await register(person({ name })).expect(201)).body;
    expect(body.nameMasked).toBe(expected);
  });

  it('when the same user registers the same id number again, then 200 with the same identityId', async () => {
    const who = person();
    const first = (await register(who).expect(201)).body;
    const again = (await register({ ...who, idNumber: who.idNumber.replace('X', 'x') }).expect(200))
      .body;
    expect(again.identityId).toBe(first.identityId);
    expect(await t.connection.collection('identities').countDocuments({ userId: who.userId })).toBe(
      1,
    );
  });

  it('when two users register the same person, then each gets an identity of its own', async () => {
    const who = person();
    const first = (await register(who).expect(201)).body;
    const second = (await register({ ...who, userId: `${who.userId}-other` }).expect(201)).body;
    expect(second.identityId).not.toBe(first.identityId);
  });

  it('when the same registration is sent concurrently, then all answers name one identity', async () => {
    const who = person();
    const responses = await Promise.all(
      [0, 1, 2, 3].map(() =>
        t.http().post('/v1/identities').set(auth(checkout)).send(registration(who)),
      ),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
    expect(new Set(responses.map((r) => r.body.identityId)).size).toBe(1);
  });

  it("when the standard's examples are registered, then both are accepted and an abolished county is flagged", async () => {
    // 440524 (潮阳县) was abolished before any revision in the data packages: flagged, not rejected.
    remember({
      userId: 'u',
      name: '李四',
      idNumber: '440524188001010014',
      phone: '13900000000',
      birth: '18800101',
    });
    const old = (
      await register({
        userId: 'std-1',
        name: '李四',
        idNumber: '440524188001010014',
        phone: '13900000000',
        birth: '18800101',
      }).expect(201)
    ).body;
    expect(old.flags).toEqual(['UNKNOWN_DIVISION_CODE']);
    remember({
      userId: 'u',
      name: '赵五',
      idNumber: '11010519491231002X',
      phone: '13900000001',
      birth: '19491231',
    });
    const withX = (
      await register({
        userId: 'std-2',
        name: '赵五',
        idNumber: '11010519491231002x',
        phone: '13900000001',
        birth: '19491231',
      }).expect(201)
    ).body;
    expect(withX.flags).toEqual([]);
    expect(withX.idNumberMasked).toBe('110***********002X');
  });

  const invalidIdNumbers: [string, string][] = [
    ['a check character that is a letter other than X', '11010519900307123Y'],
    [
      'a wrong check digit',
      (() => {
        const v = idNumberFor({ birth: '19900307', sequence: '123' });
        return v.slice(0, 17) + (v[17] === '0' ? '1' : '0');
      })(),
    ],
    ['30 February', withCheckCharacter('11010519900230123')],
    ['31 April', withCheckCharacter('11010519900431123')],
    ['29 February in a common year', withCheckCharacter('11010519010229123')],
    ['month 13', withCheckCharacter('11010519901301123')],
    ['day 00', withCheckCharacter('11010519900100123')],
    ['a birth date in the future', withCheckCharacter(`110105${beijingDateYearsAgo(0, 1)}123`)],
    ['a birth date before 1880', withCheckCharacter('11010518791231123')],
    ['province 99', withCheckCharacter('99010519900307123')],
    ['province 00', withCheckCharacter('00010519900307123')],
    ['province 72 (not a province-level code)', withCheckCharacter('72010519900307123')],
    ['17 characters', '11010519900307123'],
    ['19 characters', withCheckCharacter('11010519900307123') + '0'],
    ['a 15-digit pre-1999 number', '110105900307123'],
    ['letters inside', '11010A19900307123X'],
    ['an X in the middle', '11010519900X071234'],
    ['spaces inside', '110105 19900307123'],
    ['an empty string', ''],
  ];

  it.each(invalidIdNumbers)(
    'when the id number has %s, then 400 on path idNumber without echoing it',
    async (_label, idNumber) => {
      const response = await t
        .http()
        .post('/v1/identities')
        .set(auth(checkout))
        .send(registration(person(), { idNumber }))
        .expect(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
      expect(response.body.error.details.map((d: { path: string }) => d.path)).toEqual([
        'idNumber',
      ]);
      if (idNumber.length > 3) expect(JSON.stringify(response.body)).not.toContain(idNumber);
    },
  );

  it('when the id number is not a string, then 400 on path idNumber', async () => {
    const response = await t
      .http()
      .post('/v1/identities')
      .set(auth(checkout))
      .send(registration(person(), { idNumber: 110105 }))
      .expect(400);
    expect(response.body.error.details[0].path).toBe('idNumber');
  });

  it.each([
    ['Latin letters', 'Zhang San'],
    ['one character', '张'],
    ['digits', '张3'],
    ['a leading middle dot', '·买买提'],
    ['two middle dots in a row', '阿依··买买提'],
    ['31 characters', '张'.repeat(31)],
  ])('when the name has %s, then 400 on path name without echoing it', async (_label, name) => {
    const response = await t
      .http()
      .post('/v1/identities')
      .set(auth(checkout))
      .send(registration(person(), { name }))
      .expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details).toEqual([{ path: 'name', message: expect.any(String) }]);
    expect(JSON.stringify(response.body)).not.toContain(name);
  });

  it.each([
    ['a landline', '01062345678'],
    ['a 12 prefix', '12812345678'],
    ['ten digits', '1381234567'],
    ['letters', '1381234567a'],
  ])('when the phone is %s, then 400 on path phone', async (_label, phone) => {
    const response = await t
      .http()
      .post('/v1/identities')
      .set(auth(checkout))
      .send(registration(person(), { phone }))
      .expect(400);
    expect(response.body.error.details).toEqual([
      { path: 'phone', message: 'must be a mainland China mobile number' },
    ]);
    expect(JSON.stringify(response.body)).not.toContain(phone);
  });

  it('when the phone has +86 and spaces, then it is accepted and normalised', async () => {
    const who = person({ phone: '13912345678' });
    const body = (await register({ ...who, phone: '+86 139 1234 5678' }).expect(201)).body;
    expect(body.phoneMasked).toBe('139****5678');
  });

  it.each([
    ['no consent object', undefined],
    ['sensitiveDataConsent false', { policyVersion: '2024-01', sensitiveDataConsent: false }],
    ['sensitiveDataConsent missing', { policyVersion: '2024-01' }],
  ])(
    'when there is %s, then 422 CONSENT_REQUIRED and nothing is stored',
    async (_label, consent) => {
      const who = person();
      const body = { ...registration(who), consent };
      const response = await t
        .http()
        .post('/v1/identities')
        .set(auth(checkout))
        .send(body)
        .expect(422);
      expect(response.body.error.code).toBe('CONSENT_REQUIRED');
      expect(
        await t.connection.collection('identities').countDocuments({ userId: who.userId }),
      ).toBe(0);
    },
  );

  it('when sensitiveDataConsent is the string "true", then 400 on path consent.sensitiveDataConsent', async () => {
    const response = await t
      .http()
      .post('/v1/identities')
      .set(auth(checkout))
      .send(
        registration(person(), { consent: { policyVersion: '1', sensitiveDataConsent: 'true' } }),
      )
      .expect(400);
    expect(response.body.error.details[0].path).toBe('consent.sensitiveDataConsent');
  });

  it('when the policy version is missing, then 400 on path consent.policyVersion', async () => {
    const response = await t
      .http()
      .post('/v1/identities')
      .set(auth(checkout))
      .send(registration(person(), { consent: { sensitiveDataConsent: true } }))
      .expect(400);
    expect(response.body.error.details[0].path).toBe('consent.policyVersion');
  });

  it('when the subject is under 14 without guardian consent, then 422 GUARDIAN_CONSENT_REQUIRED', async () => {
    const birth = beijingDateYearsAgo(14, 1); // turns 14 tomorrow
    const child = person({ birth, idNumber: idNumberFor({ birth }) });
    const response = await t
      .http()
      .post('/v1/identities')
      .set(auth(checkout))
      .send(registration(child))
      .expect(422);
    expect(response.body.error.code).toBe('GUARDIAN_CONSENT_REQUIRED');
    const refused = await t
      .http()
      .post('/v1/identities')
      .set(auth(checkout))
      .send(registration(child, { consent: { ...CONSENT, guardianConsent: false } }))
      .expect(422);
    expect(refused.body.error.code).toBe('GUARDIAN_CONSENT_REQUIRED');
  });

  it('when the subject is under 14 with guardian consent, then 201 and the consent is in the export', async () => {
    const birth = beijingDateYearsAgo(5);
    const child = person({ birth, idNumber: idNumberFor({ birth }) });
    const body = (
      await register(child, { consent: { ...CONSENT, guardianConsent: true } }).expect(201)
    ).body;
    expect(body.age).toBe(5);
    const exported = await t
      .http()
      .get(`/v1/identities/${body.identityId}/export`)
      .set(auth(checkout))
      .expect(200);
    expect(exported.body.consent).toEqual([
      {
        event: 'GIVEN',
        at: expect.any(String),
        policyVersion: '2024-01',
        sensitiveDataConsent: true,
        guardianConsent: true,
      },
    ]);
  });

  it('when the subject turns 14 today (Beijing), then no guardian consent is needed', async () => {
    const birth = beijingDateYearsAgo(14);
    const teen = person({ birth, idNumber: idNumberFor({ birth }) });
    const body = (await register(teen).expect(201)).body;
    expect(body.age).toBe(14);
  });

  it('when a user registers someone else, then the relation and the registering user are recorded', async () => {
    const who = person();
    const body = (await register(who, { relation: 'other' }).expect(201)).body;
    expect(body.relation).toBe('other');
    const exported = await t
      .http()
      .get(`/v1/identities/${body.identityId}/export`)
      .set(auth(checkout))
      .expect(200);
    expect(exported.body.registeredBy).toEqual({ userId: who.userId });
  });

  it('when a body has an unknown field, then 400 on that path', async () => {
    const response = await t
      .http()
      .post('/v1/identities')
      .set(auth(checkout))
      .send(registration(person(), { gender: 'F' }))
      .expect(400);
    expect(response.body.error.details[0].path).toBe('gender');
  });

  it('when a registration succeeds, then an identity.create SUCCESS event is in the access log', async () => {
    const body = (await register(person()).expect(201)).body;
    const events = await auditEvents({ identityId: body.identityId, action: 'identity.create' });
    expect(events).toEqual([
      expect.objectContaining({ outcome: 'SUCCESS', fields: ['name', 'idNumber', 'phone'] }),
    ]);
  });
});

describe('the access log names a person only by pseudonym', () => {
  it('when an identity is registered, read, exported and its quota read, then no stored event holds its id in clear', async () => {
    const created = (await register(person()).expect(201)).body;
    const id: string = created.identityId;
    await t.http().get(`/v1/identities/${id}`).set(auth(checkout)).expect(200);
    await t.http().get(`/v1/identities/${id}/export`).set(auth(checkout)).expect(200);
    await t.http().get(`/v1/identities/${id}/quota`).set(auth(checkout)).expect(200);

    const stored = await t.connection.collection('audit_events').find({}).toArray();
    const ofThisPerson = (await auditEvents({ identityId: id, limit: '100' })).length;
    expect(ofThisPerson).toBeGreaterThanOrEqual(4);
    expect(JSON.stringify(stored)).not.toContain(id);
  });
});

describe('identity verification provider (simulator)', () => {
  it('when the simulator answers a mismatch (sequence 999), then status MISMATCH', async () => {
    const body = (
      await register(person({ idNumber: idNumberFor({ sequence: '999' }) })).expect(201)
    ).body;
    expect(body.status).toBe('MISMATCH');
  });

  it('when the provider is unreachable (sequence 998), then status UNVERIFIED', async () => {
    const body = (
      await register(person({ idNumber: idNumberFor({ sequence: '998' }) })).expect(201)
    ).body;
    expect(body.status).toBe('UNVERIFIED');
  });

  it('when the provider is slower than the timeout, then status UNVERIFIED', async () => {
    const slow = await createTestApp({ IDV_SIMULATOR_LATENCY_MS: '2000', IDV_TIMEOUT_MS: '100' });
    try {
      const key = (await slow.clientKey('checkout')).apiKey;
      const started = Date.now();
      const response = await slow
        .http()
        .post('/v1/identities')
        .set(auth(key))
        .send(registration(person()))
        .expect(201);
      expect(response.body.status).toBe('UNVERIFIED');
      expect(Date.now() - started).toBeLessThan(1500);
      await expectNothingStoredInPlaintext(slow.connection);
    } finally {
      await slow.close();
    }
  });

  it('when the provider always fails, then status UNVERIFIED', async () => {
    const failing = await createTestApp({ IDV_SIMULATOR_FAILURE_RATE: '1' });
    try {
      const key = (await failing.clientKey('checkout')).apiKey;
      const response = await failing
        .http()
        .post('/v1/identities')
        .set(auth(key))
        .send(registration(person()))
        .expect(201);
      expect(response.body.status).toBe('UNVERIFIED');
      await expectNothingStoredInPlaintext(failing.connection);
    } finally {
      await failing.close();
    }
  });
});

describe('GET /v1/identities/{id}', () => {
  it('when the identity exists, then the masked view, and an identity.read event', async () => {
    const who = person();
    const created = (await register(who).expect(201)).body;
    const response = await t
      .http()
      .get(`/v1/identities/${created.identityId}`)
      .set(auth(checkout))
      .expect(200);
    expect(response.body).toEqual(created);
    expect(JSON.stringify(response.body)).not.toContain(who.idNumber);
    const events = await auditEvents({ identityId: created.identityId, action: 'identity.read' });
    expect(events.map((e) => e.outcome)).toEqual(['SUCCESS']);
  });

  it('when the identity is unknown, then 404 NOT_FOUND', async () => {
    const response = await t
      .http()
      .get('/v1/identities/6a1f8f0e-7f5e-4a0e-9d7c-9a1c3f0b2d11')
      .set(auth(checkout))
      .expect(404);
    expect(response.body.error.code).toBe('NOT_FOUND');
  });

  it('when the id is not a uuid, then 400 on path identityId', async () => {
    const response = await t.http().get('/v1/identities/abc').set(auth(checkout)).expect(400);
    expect(response.body.error.details[0].path).toBe('identityId');
  });

  it.each(['admin', 'auditor', 'customs', 'carrier'])(
    'when a %s client reads an identity, then 403 and a DENIED event',
    async (role) => {
      const created = (await register(person()).expect(201)).body;
      const partner = role === 'customs' || role === 'carrier' ? 'P1' : undefined;
      const client = await t.clientKey(role, partner);
      const response = await t
        .http()
        .get(`/v1/identities/${created.identityId}`)
        .set(auth(client.apiKey))
        .expect(403);
      expect(response.body.error.code).toBe('FORBIDDEN');
      const denied = await auditEvents({ actorId: client.id, outcome: 'DENIED' });
      expect(denied).toEqual([expect.objectContaining({ action: 'identity.read' })]);
    },
  );

  it('when there is no API key, then 401 UNAUTHENTICATED', async () => {
    const response = await t
      .http()
      .get('/v1/identities/6a1f8f0e-7f5e-4a0e-9d7c-9a1c3f0b2d11')
      .expect(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
  });
});

describe('PATCH /v1/identities/{id}', () => {
  it('when the phone and name are corrected, then the masked view changes and the fields are re-encrypted', async () => {
    const who = person();
    const created = (await register(who).expect(201)).body;
    const before = await t.connection.collection('identities').findOne({ id: created.identityId });
    const next = person({ name: '欧阳修文', phone: '13698765432' });
    const response = await t
      .http()
      .patch(`/v1/identities/${created.identityId}`)
      .set(auth(checkout))
      .send({ name: next.name, phone: next.phone })
      .expect(200);
    expect(response.body).toMatchObject({
      nameMasked: '欧阳**',
      phoneMasked: '136****5432',
      idNumberMasked: created.idNumberMasked,
    });
    const after = await t.connection.collection('identities').findOne({ id: created.identityId });
    expect(after!.name).not.toBe(before!.name);
    expect(after!.phone).not.toBe(before!.phone);
    expect(after!.idNumber).toBe(before!.idNumber);
    const exported = await t
      .http()
      .get(`/v1/identities/${created.identityId}/export`)
      .set(auth(checkout))
      .expect(200);
    expect(exported.body).toMatchObject({
      name: next.name,
      phone: next.phone,
      idNumber: who.idNumber,
    });
    const events = await auditEvents({ identityId: created.identityId, action: 'identity.update' });
    expect(events).toEqual([
      expect.objectContaining({ outcome: 'SUCCESS', fields: ['name', 'phone'] }),
    ]);
  });

  it('when the correction cannot be recorded, then 503, and the old name and phone are back and still match the payer', async () => {
    const who = person();
    const created = (await register(who).expect(201)).body;
    const before = await t.connection.collection('identities').findOne({ id: created.identityId });
    await t.http().get(`/v1/identities/${created.identityId}`).set(auth(checkout)).expect(200);
    await blockNextAppend(t);
    const next = person({ name: '欧阳修文', phone: '13698765432' });
    await t
      .http()
      .patch(`/v1/identities/${created.identityId}`)
      .set(auth(checkout))
      .send({ name: next.name, phone: next.phone })
      .expect(503);
    const after = await t.connection.collection('identities').findOne({ id: created.identityId });
    expect(after!.name).toBe(before!.name);
    expect(after!.phone).toBe(before!.phone);
    expect(after!.updatedAt).toEqual(before!.updatedAt);
    const exported = await t
      .http()
      .get(`/v1/identities/${created.identityId}/export`)
      .set(auth(checkout))
      .expect(200);
    expect(exported.body).toMatchObject({ name: who.name, phone: who.phone });
    expect(
      await t.identityDirectory.payerMatches(created.identityId, {
        name: who.name,
        idNumber: who.idNumber,
      }),
    ).toBe(true);
  });

  it('when the body is empty, then 400', async () => {
    const created = (await register(person()).expect(201)).body;
    const response = await t
      .http()
      .patch(`/v1/identities/${created.identityId}`)
      .set(auth(checkout))
      .send({})
      .expect(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('when the id number is sent, then 400 on path idNumber (it cannot be corrected here)', async () => {
    const created = (await register(person()).expect(201)).body;
    const response = await t
      .http()
      .patch(`/v1/identities/${created.identityId}`)
      .set(auth(checkout))
      .send({ idNumber: idNumberFor() })
      .expect(400);
    expect(response.body.error.details[0].path).toBe('idNumber');
  });
});

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('synthetic-png-body-0001'),
]);
const JPEG = Buffer.concat([
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
  Buffer.from('synthetic-jpeg-body-0002'),
]);

describe('photos and export', () => {
  it('when front and back photos are uploaded, then 204 and only the export returns them', async () => {
    const who = person();
    const created = (await register(who).expect(201)).body;
    await t
      .http()
      .put(`/v1/identities/${created.identityId}/photos/front`)
      .set(auth(checkout))
      .set('Content-Type', 'image/png')
      .send(PNG)
      .expect(204);
    await t
      .http()
      .put(`/v1/identities/${created.identityId}/photos/back`)
      .set(auth(checkout))
      .set('Content-Type', 'image/jpeg')
      .send(JPEG)
      .expect(204);
    const masked = await t
      .http()
      .get(`/v1/identities/${created.identityId}`)
      .set(auth(checkout))
      .expect(200);
    expect(JSON.stringify(masked.body)).not.toContain('base64');
    const exported = await t
      .http()
      .get(`/v1/identities/${created.identityId}/export`)
      .set(auth(checkout))
      .expect(200);
    expect(exported.body).toMatchObject({
      identityId: created.identityId,
      name: who.name,
      idNumber: who.idNumber,
      phone: who.phone,
      photos: {
        front: { contentType: 'image/png', base64: PNG.toString('base64') },
        back: { contentType: 'image/jpeg', base64: JPEG.toString('base64') },
      },
      disclosures: [],
      orders: [],
      quota: [],
    });
    const raw = JSON.stringify(await t.connection.collection('identity_photos').find().toArray());
    expect(raw).not.toContain(PNG.toString('base64'));
    expect(raw).not.toContain('synthetic-png-body');
  });

  it('when the body is not really a PNG, then 400 on path body', async () => {
    const created = (await register(person()).expect(201)).body;
    const response = await t
      .http()
      .put(`/v1/identities/${created.identityId}/photos/front`)
      .set(auth(checkout))
      .set('Content-Type', 'image/png')
      .send(Buffer.from('GIF89a-not-a-png'))
      .expect(400);
    expect(response.body.error.details[0].path).toBe('body');
  });

  it('when a JPEG is declared as PNG, then 400 on path body', async () => {
    const created = (await register(person()).expect(201)).body;
    await t
      .http()
      .put(`/v1/identities/${created.identityId}/photos/front`)
      .set(auth(checkout))
      .set('Content-Type', 'image/png')
      .send(JPEG)
      .expect(400);
  });

  it('when the content type is not an image, then 415', async () => {
    const created = (await register(person()).expect(201)).body;
    const response = await t
      .http()
      .put(`/v1/identities/${created.identityId}/photos/front`)
      .set(auth(checkout))
      .set('Content-Type', 'application/octet-stream')
      .send(PNG)
      .expect(415);
    expect(response.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('when the photo is larger than the limit, then 413', async () => {
    const small = await createTestApp({ PHOTO_MAX_BYTES: '2048' });
    try {
      const key = (await small.clientKey('checkout')).apiKey;
      const created = await small
        .http()
        .post('/v1/identities')
        .set(auth(key))
        .send(registration(person()))
        .expect(201);
      const big = Buffer.concat([PNG, Buffer.alloc(4096, 1)]);
      const response = await small
        .http()
        .put(`/v1/identities/${created.body.identityId}/photos/front`)
        .set(auth(key))
        .set('Content-Type', 'image/png')
        .send(big)
        .expect(413);
      expect(response.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      await expectNothingStoredInPlaintext(small.connection);
    } finally {
      await small.close();
    }
  });

  it('when the side is neither front nor back, then 400 on path side', async () => {
    const created = (await register(person()).expect(201)).body;
    const response = await t
      .http()
      .put(`/v1/identities/${created.identityId}/photos/left`)
      .set(auth(checkout))
      .set('Content-Type', 'image/png')
      .send(PNG)
      .expect(400);
    expect(response.body.error.details[0].path).toBe('side');
  });
});

describe('DELETE /v1/identities/{id}', () => {
  it('when an identity is deleted, then 204, later reads 404, and the subject key is destroyed', async () => {
    const created = (await register(person()).expect(201)).body;
    await t.http().delete(`/v1/identities/${created.identityId}`).set(auth(checkout)).expect(204);
    for (const path of ['', '/export']) {
      const response = await t
        .http()
        .get(`/v1/identities/${created.identityId}${path}`)
        .set(auth(checkout))
        .expect(404);
      expect(response.body.error.code).toBe('NOT_FOUND');
    }
    await t.http().delete(`/v1/identities/${created.identityId}`).set(auth(checkout)).expect(404);
    const key = await t.connection
      .collection('subject_keys')
      .findOne({ subjectId: created.identityId });
    expect(key).toMatchObject({ wrappedKey: null, destroyedAt: expect.any(Date) });
    const events = await auditEvents({ identityId: created.identityId, action: 'identity.delete' });
    expect(events.map((e) => e.outcome)).toEqual(['SUCCESS']);
  });

  it('when identity documents saved before a delete are restored, then they stay unreadable', async () => {
    const who = person();
    const created = (await register(who).expect(201)).body;
    await t
      .http()
      .put(`/v1/identities/${created.identityId}/photos/front`)
      .set(auth(checkout))
      .set('Content-Type', 'image/png')
      .send(PNG)
      .expect(204);
    const identities = t.connection.collection('identities');
    const photos = t.connection.collection('identity_photos');
    const savedIdentity = await identities.findOne({ id: created.identityId });
    const savedPhotos = await photos.find({ identityId: created.identityId }).toArray();

    await t.http().delete(`/v1/identities/${created.identityId}`).set(auth(checkout)).expect(204);
    await identities.replaceOne({ id: created.identityId }, savedIdentity!);
    await photos.insertMany(savedPhotos);

    for (const path of ['', '/export']) {
      const response = await t
        .http()
        .get(`/v1/identities/${created.identityId}${path}`)
        .set(auth(checkout))
        .expect(500);
      expect(response.body.error).toEqual({
        code: 'INTERNAL',
        message: 'Internal error.',
        details: [],
        requestId: expect.any(String),
      });
      expect(JSON.stringify(response.body)).not.toContain(who.name);
    }
    await expect(t.identityDirectory.revealBuyer(created.identityId)).rejects.toMatchObject({
      name: 'DecryptionFailed',
    });
    const ref = {
      subjectId: created.identityId,
      collection: 'identities',
      recordId: created.identityId,
    };
    await expect(
      t.fieldCipher.decrypt({ ...ref, field: 'name' }, savedIdentity!.name),
    ).rejects.toMatchObject({ name: 'DecryptionFailed' });
    const failed = await auditEvents({ identityId: created.identityId, outcome: 'FAILED' });
    expect(failed.map((e) => e.action).sort()).toEqual(['identity.export', 'identity.read']);
  });
});

describe('DELETE /v1/identities/{id} racing reads', () => {
  it('when exports and reads race a delete of the same identity, then each answers 200 or 404, never 500', async () => {
    const statuses: number[] = [];
    for (let round = 0; round < 25; round += 1) {
      const created = (await register(person()).expect(201)).body;
      const path = `/v1/identities/${created.identityId}`;
      const [deleted, ...reads] = await Promise.all([
        t.http().delete(path).set(auth(checkout)),
        ...['/export', '', '/export', '', '/export'].map((suffix) =>
          t
            .http()
            .get(path + suffix)
            .set(auth(checkout)),
        ),
      ]);
      expect(deleted.status).toBe(204);
      for (const read of reads) {
        statuses.push(read.status);
        if (read.status === 404) expect(read.body.error.code).toBe('NOT_FOUND');
      }
    }
    expect(statuses.filter((status) => status !== 200 && status !== 404)).toEqual([]);
  });
});

describe('contract', () => {
  it('when the OpenAPI document is served, then every identities route is in it', async () => {
    const response = await t.http().get('/openapi.json').expect(200);
    const paths = response.body.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/v1/identities']!)).toEqual(['post']);
    expect(Object.keys(paths['/v1/identities/{identityId}']!).sort()).toEqual([
      'delete',
      'get',
      'patch',
    ]);
    expect(Object.keys(paths['/v1/identities/{identityId}/export']!)).toEqual(['get']);
    expect(Object.keys(paths['/v1/identities/{identityId}/photos/{side}']!)).toEqual(['put']);
  });

  it('when the keys are loaded, then /readyz answers 200', async () => {
    await t.http().get('/readyz').expect(200);
  });
});

describe('stored data', () => {
  it('when every collection is scanned raw, then no plaintext name, id number, phone or birth date appears', async () => {
    expect(secrets.size).toBeGreaterThan(50);
    const db = t.connection.db!;
    const collections = await db.listCollections().toArray();
    expect(collections.map((c) => c.name)).toEqual(
      expect.arrayContaining(['identities', 'subject_keys', 'keyring', 'identity_photos']),
    );
    const dump: string[] = [];
    for (const { name } of collections) {
      dump.push(JSON.stringify(await db.collection(name).find().toArray()));
    }
    const everything = dump.join('\n') + t.logs.join('\n');
    const leaked = [...secrets].filter((secret) => everything.includes(secret));
    expect(leaked).toEqual([]);
  });
});

it('when every test above has run, then nothing personal is stored in plaintext', async () => {
  await expectNothingStoredInPlaintext(t.connection);
});
