import {
  createCipheriv,
  createHmac,
  createPrivateKey,
  generateKeyPairSync,
  hash,
  sign,
} from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { sm2 as smCryptoSm2, sm3 as smCryptoSm3, sm4 as smCryptoSm4 } from 'sm-crypto';
import {
  checkpointDigest,
  checkpointPayload,
  type CheckpointRecord,
} from '../src/audit/audit-chain';
import { decodeEnvelope } from '../src/crypto/envelope-format';
import {
  generateSm2KeyPair,
  readSm2PrivateKeyPem,
  SM2_DEFAULT_ID,
  sm2PrivateKeyPem,
  sm2PublicKeyPem,
  sm2Sign,
  sm2Verify,
} from '../src/crypto/sm2';
import { deriveSm4Keys, openSm4, sealSm4 } from '../src/crypto/sm4-aead';
import { connectDatabase } from '../src/db/connection';
import { DecryptionFailed } from '../src/errors';
import { auth } from './helpers/auth';
import {
  confirmedOrder,
  openssl,
  pullAll,
  rawCall,
  scratchDir,
} from './helpers/disclosure-fixtures';
import { randomPerson, registration, type Person } from './helpers/identity-fixtures';
import { createTestApp, freshDatabaseName, type TestApp } from './helpers/test-app';

/**
 * The national-algorithm profile (CRYPTO_PROFILE=gm): known answers of the
 * primitives, interoperability with two independent implementations (the
 * `sm-crypto` package and the OpenSSL command line), and the service switched
 * between profiles on one database.
 */

const hex = (value: Buffer) => value.toString('hex');

/** Runs openssl in a scratch folder holding `files`; returns its result. */
function opensslWith(files: Record<string, Buffer | string>, args: string[]) {
  const dir = scratchDir();
  try {
    for (const [name, content] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, name), content);
    }
    const result = openssl(args, dir);
    const out = path.join(dir, 'out.bin');
    return { ...result, out: fs.existsSync(out) ? fs.readFileSync(out) : null };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl pkeyutl -verify` of an SM2 signature with the standard identifier. */
function opensslSm2Verify(data: Buffer, signature: Buffer, publicKeyPem: string) {
  return opensslWith({ 'data.bin': data, 'sig.der': signature, 'pub.pem': publicKeyPem }, [
    'pkeyutl',
    '-verify',
    '-rawin',
    '-digest',
    'sm3',
    '-pkeyopt',
    `distid:${SM2_DEFAULT_ID}`,
    '-pubin',
    '-inkey',
    'pub.pem',
    '-in',
    'data.bin',
    '-sigfile',
    'sig.der',
  ]);
}

/** HKDF (RFC 5869) over sm-crypto's HMAC-SM3: an independent check of node's hkdfSync('sm3'). */
function hkdfSm3BySmCrypto(ikm: Buffer, info: Buffer, length: number): Buffer {
  const hmac = (key: Buffer, data: Buffer) =>
    Buffer.from(smCryptoSm3(Array.from(data), { key: hex(key), mode: 'hmac' }), 'hex');
  const prk = hmac(Buffer.alloc(32), ikm); // no salt: HashLen zero bytes
  let block = Buffer.alloc(0);
  const blocks: Buffer[] = [];
  for (let i = 1; Buffer.concat(blocks).length < length; i += 1) {
    block = hmac(prk, Buffer.concat([block, info, Buffer.from([i])]));
    blocks.push(block);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** SM4-CTR by sm-crypto's SM4 block function (ECB on successive counter blocks). */
function sm4CtrBySmCrypto(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  const counter = Buffer.from(iv);
  for (let offset = 0; offset < data.length; offset += 16) {
    const keystream = Buffer.from(
      smCryptoSm4.encrypt(Array.from(counter), Array.from(key), {
        mode: 'ecb' as never,
        padding: 'none',
        output: 'array',
      }),
    );
    for (let i = 0; i < 16 && offset + i < data.length; i += 1) {
      out[offset + i] = data[offset + i]! ^ keystream[i]!;
    }
    for (let i = 15; i >= 0; i -= 1) {
      counter[i] = (counter[i]! + 1) & 0xff;
      if (counter[i] !== 0) break;
    }
  }
  return out;
}

describe('known answers (GB/T 32907, GB/T 32905)', () => {
  it('when SM4 encrypts the standard example block, then node:crypto and sm-crypto give the standard ciphertext', () => {
    const block = Buffer.from('0123456789abcdeffedcba9876543210', 'hex');
    const cipher = createCipheriv('sm4-ecb', block, null).setAutoPadding(false);
    const byNode = Buffer.concat([cipher.update(block), cipher.final()]);
    const bySmCrypto = smCryptoSm4.encrypt(Array.from(block), Array.from(block), {
      padding: 'none',
      mode: 'ecb' as never,
    });
    expect(hex(byNode)).toBe('681edf34d206965e86b3e94f536e4246');
    expect(bySmCrypto).toBe('681edf34d206965e86b3e94f536e4246');
  });

  it('when SM3 hashes "abc", then node:crypto and sm-crypto give the standard digest', () => {
    const expected = '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0';
    expect(hash('sm3', 'abc', 'hex')).toBe(expected);
    expect(smCryptoSm3('abc')).toBe(expected);
  });
});

describe('SM4-CTR + HMAC-SM3 (eg1 / dg1)', () => {
  const key = Buffer.from(
    '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
    'hex',
  );
  const aad = Buffer.from('eg1|identities|idNumber|rec-1|subj-1|1');
  const plaintext = Buffer.from(
    '11010519491231002X, 上海市浦东新区世纪大道100号 and more than one block',
  );

  it('when a field is sealed here, then OpenSSL and sm-crypto decrypt it, and sm-crypto computes the same tag and keys', () => {
    const sealed = sealSm4(key, plaintext, aad);
    const { encKey, macKey } = deriveSm4Keys(key);
    // The key derivation, checked against HKDF built on sm-crypto's HMAC-SM3.
    const okm = hkdfSm3BySmCrypto(key, Buffer.from('customs-identity sm4-ctr-hmac-sm3 v1'), 48);
    expect(hex(Buffer.concat([encKey, macKey]))).toBe(hex(okm));

    const byOpenssl = opensslWith({ 'ct.bin': sealed.ciphertext }, [
      'enc',
      '-d',
      '-sm4-ctr',
      '-K',
      hex(encKey),
      '-iv',
      hex(sealed.nonce),
      '-in',
      'ct.bin',
      '-out',
      'out.bin',
    ]);
    expect(byOpenssl.status).toBe(0);
    expect(byOpenssl.out).toEqual(plaintext);
    expect(sm4CtrBySmCrypto(encKey, sealed.nonce, sealed.ciphertext)).toEqual(plaintext);

    const aadBits = Buffer.alloc(8);
    aadBits.writeBigUInt64BE(BigInt(aad.length * 8));
    const macInput = Buffer.concat([aad, sealed.nonce, sealed.ciphertext, aadBits]);
    const tag = smCryptoSm3(Array.from(macInput), { key: hex(macKey), mode: 'hmac' });
    expect(tag).toBe(hex(sealed.tag));
    expect(openSm4(key, sealed, aad)).toEqual(plaintext);
  });

  it('when OpenSSL encrypts with the derived key and the tag is made by sm-crypto, then it opens here', () => {
    const { encKey, macKey } = deriveSm4Keys(key);
    const iv = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex');
    const byOpenssl = opensslWith({ 'pt.bin': plaintext }, [
      'enc',
      '-sm4-ctr',
      '-K',
      hex(encKey),
      '-iv',
      hex(iv),
      '-in',
      'pt.bin',
      '-out',
      'out.bin',
    ]);
    const ciphertext = byOpenssl.out!;
    const aadBits = Buffer.alloc(8);
    aadBits.writeBigUInt64BE(BigInt(aad.length * 8));
    const tag = Buffer.from(
      smCryptoSm3(Array.from(Buffer.concat([aad, iv, ciphertext, aadBits])), {
        key: hex(macKey),
        mode: 'hmac',
      }),
      'hex',
    );
    expect(openSm4(key, { nonce: iv, ciphertext, tag }, aad)).toEqual(plaintext);
  });

  it.each([
    ['a ciphertext byte', 'ciphertext'],
    ['a tag byte', 'tag'],
    ['an IV byte', 'nonce'],
  ] as const)('when %s is altered, then it does not open (DecryptionFailed)', (_, part) => {
    const sealed = sealSm4(key, plaintext, aad);
    const altered = { ...sealed, [part]: Buffer.from(sealed[part]) };
    altered[part][0] ^= 1;
    expect(() => openSm4(key, altered, aad)).toThrow(DecryptionFailed);
  });

  it('when the AAD differs (another record, field or key version), then it does not open', () => {
    const sealed = sealSm4(key, plaintext, aad);
    expect(() =>
      openSm4(key, sealed, Buffer.from('eg1|identities|idNumber|rec-2|subj-1|1')),
    ).toThrow(DecryptionFailed);
  });
});

describe('SM2 signatures (GB/T 32918.2, ID 1234567812345678)', () => {
  const data = Buffer.from('{"gseq":1,"kind":"OPEN"} 数据');
  const pair = generateSm2KeyPair();

  it('when a signature is made here, then OpenSSL and sm-crypto verify it', () => {
    const signature = sm2Sign(data, pair);
    const verified = opensslSm2Verify(data, signature, sm2PublicKeyPem(pair.publicKeyHex));
    expect(verified.stdout.toString()).toContain('Signature Verified Successfully');
    expect(verified.status).toBe(0);
    expect(
      smCryptoSm2.doVerifySignature(Array.from(data), hex(signature), pair.publicKeyHex, {
        der: true,
        hash: true,
      }),
    ).toBe(true);
  });

  it('when OpenSSL and sm-crypto sign (own key, standard ID), then it verifies here', () => {
    const byOpenssl = opensslWith({ 'data.bin': data, 'key.pem': sm2PrivateKeyPem(pair) }, [
      'pkeyutl',
      '-sign',
      '-rawin',
      '-digest',
      'sm3',
      '-pkeyopt',
      `distid:${SM2_DEFAULT_ID}`,
      '-inkey',
      'key.pem',
      '-in',
      'data.bin',
      '-out',
      'out.bin',
    ]);
    expect(byOpenssl.status).toBe(0);
    expect(sm2Verify(data, byOpenssl.out!, pair.publicKeyHex)).toBe(true);
    const bySmCrypto = smCryptoSm2.doSignature(Array.from(data), pair.privateKeyHex, {
      der: true,
      hash: true,
    });
    expect(sm2Verify(data, Buffer.from(bySmCrypto, 'hex'), pair.publicKeyHex)).toBe(true);
    expect(sm2Verify(Buffer.from('other'), Buffer.from(bySmCrypto, 'hex'), pair.publicKeyHex)).toBe(
      false,
    );
  });

  it('when OpenSSL generates an SM2 key, then it is read here, and the PEM written here is read by OpenSSL', () => {
    const generated = opensslWith({}, ['genpkey', '-algorithm', 'SM2', '-out', 'out.bin']);
    expect(generated.status).toBe(0);
    const read = readSm2PrivateKeyPem(generated.out!);
    expect(read.publicKeyHex).toMatch(/^04[0-9a-f]{128}$/);
    const parsed = opensslWith({ 'key.pem': sm2PrivateKeyPem(pair) }, [
      'pkey',
      '-in',
      'key.pem',
      '-noout',
      '-text',
    ]);
    expect(parsed.status).toBe(0);
    expect(parsed.stdout.toString()).toContain('ASN1 OID: SM2');
  });

  it('when node:crypto signs with SM3 and a key on the SM2 curve, then it is not an SM2 signature (why sm-crypto signs)', () => {
    // An `ec` key on the SM2 curve: node:crypto makes plain ECDSA with SM3, no Z_A.
    const ec = generateKeyPairSync('ec', { namedCurve: 'SM2' });
    const spki = ec.publicKey.export({ format: 'der', type: 'spki' });
    const ecdsa = sign('sm3', data, ec.privateKey);
    expect(sm2Verify(data, ecdsa, hex(spki.subarray(spki.length - 65)))).toBe(false);
    // The same key as OpenSSL decodes it from PEM (an SM2 key): SM2, but with an empty ID.
    const asSm2 = createPrivateKey(ec.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const emptyId = sign('sm3', data, asSm2);
    const publicKeyHex = hex(spki.subarray(spki.length - 65));
    expect(sm2Verify(data, emptyId, publicKeyHex)).toBe(false);
    expect(
      smCryptoSm2.doVerifySignature(Array.from(data), hex(emptyId), publicKeyHex, {
        der: true,
        hash: true,
        userId: '',
      }),
    ).toBe(true);
  });
});

/**
 * One database, the service restarted between profiles the way an operator
 * switches: stop, change CRYPTO_PROFILE, start; then `keys:rotate`.
 */
describe('the service switched between profiles on one database', () => {
  const DB_NAME = freshDatabaseName();
  const running: TestApp[] = [];
  let app: TestApp;
  let checkout: string;
  let auditor: string;
  const people: { person: Person; identityId: string }[] = [];

  async function start(profile: 'intl' | 'gm') {
    app = await createTestApp({
      DB_NAME,
      CRYPTO_PROFILE: profile,
      DATA_KEY_CACHE_MS: '0',
      // A checkpoint every few events: the gm stream gets SM2 records beyond its OPEN.
      AUDIT_CHECKPOINT_EVERY: '5',
    });
    running.push(app);
    return app;
  }

  /** Stops the app and closes its connection, keeping the database. */
  async function stop() {
    await app.stop();
    await app.connection.close();
    running.splice(running.indexOf(app), 1);
  }

  async function register(count: number) {
    for (let index = 0; index < count; index += 1) {
      const person = randomPerson();
      const response = await app
        .http()
        .post('/v1/identities')
        .set(auth(checkout))
        .send(registration(person))
        .expect(201);
      people.push({ person, identityId: response.body.identityId as string });
    }
  }

  async function expectAllReadable() {
    for (const { person, identityId } of people) {
      const exported = await app
        .http()
        .get(`/v1/identities/${identityId}/export`)
        .set(auth(checkout))
        .expect(200);
      expect(exported.body).toMatchObject({
        name: person.name,
        idNumber: person.idNumber,
        phone: person.phone,
      });
      // Registering again finds the record by its blind index, whatever key version made it.
      const again = await app
        .http()
        .post('/v1/identities')
        .set(auth(checkout))
        .send(registration(person))
        .expect(200);
      expect(again.body.identityId).toBe(identityId);
    }
  }

  /** The format tags of what is stored: field ciphertexts and wrapped data keys. */
  async function storedFormats() {
    const identities = await app.connection.collection('identities').find().toArray();
    const keys = await app.connection
      .collection('subject_keys')
      .find({ wrappedKey: { $ne: null } })
      .toArray();
    const tag = (value: unknown) => String(value).split('.')[0];
    return {
      fields: new Set(identities.map((identity) => tag(identity.idNumber))),
      keys: new Set(keys.map((key) => tag(key.wrappedKey))),
    };
  }

  async function keyring() {
    const entries = await app.connection
      .collection('keyring')
      .find({ wrapped: { $ne: null } })
      .sort({ purpose: 1, version: 1 })
      .toArray();
    return entries.map((entry) => `${entry.purpose} v${entry.version} ${entry.algorithm ?? '-'}`);
  }

  /** `npm run keys:rotate` as an operator runs it, with the profile in the environment. */
  async function rotateUnder(profile: 'intl' | 'gm') {
    const root = path.resolve(__dirname, '..');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        path.join(root, 'node_modules/tsx/dist/cli.mjs'),
        'src/cli/keys.ts',
        'rotate',
        '--batch-size',
        '2',
        '--no-progress',
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          MONGODB_URI: `${process.env.MONGODB_URI!.replace(/\/$/, '')}/${DB_NAME}`,
          KEYS_DIR: app.config.keysDir,
          CRYPTO_PROFILE: profile,
          NODE_ENV: 'development',
          LOG_LEVEL: 'warn',
        },
        timeout: 60_000,
      },
    );
    return stdout;
  }

  const verifyLog = () => app.http().get('/v1/audit-events/verify').set(auth(auditor)).expect(200);

  afterAll(async () => {
    for (const open of [...running]) {
      await open.stop();
      await open.connection.close();
    }
    const cleanup = await connectDatabase(process.env.MONGODB_URI!, {
      dbName: DB_NAME,
      timeoutMs: 5000,
    });
    await cleanup.dropDatabase();
    await cleanup.close();
  });

  it('when identities are written under intl, then they are AES-256-GCM (ef1, dk1) and the keyring entries predate profiles', async () => {
    await start('intl');
    checkout = (await app.clientKey('checkout')).apiKey;
    auditor = (await app.clientKey('auditor')).apiKey;
    // Keyring entries written before profiles existed carry no algorithm: remove it, as they were.
    await app.connection.collection('keyring').updateMany({}, { $unset: { algorithm: '' } });
    await stop();
    await start('intl');
    await register(3);
    expect(await storedFormats()).toEqual({ fields: new Set(['ef1']), keys: new Set(['dk1']) });
    expect(await keyring()).toEqual([
      'blind-index:idNumber v1 -',
      'blind-index:name v1 -',
      'blind-index:person v1 -',
      'kek v1 -',
      'legal-retention v1 -',
    ]);
    await stop();
  });

  it('when restarted under gm, then intl data reads and new fields are SM4 (eg1), still under the intl KEK until a rotation', async () => {
    await start('gm');
    await expectAllReadable();
    await register(2);
    expect(await storedFormats()).toEqual({
      fields: new Set(['ef1', 'eg1']),
      keys: new Set(['dk1']),
    });
    const newest = people.at(-1)!;
    const stored = await app.connection.collection('identities').findOne({ id: newest.identityId });
    expect(decodeEnvelope(stored!.idNumber, 'field').algorithm).toBe('sm4-ctr-hmac-sm3');
    // Blind-index keys are not rotated (lookups compare one version): they keep their algorithm.
    expect(await keyring()).toContain('blind-index:idNumber v1 -');
  });

  it('when keys:rotate runs under gm, then the new KEK is SM4, every data key is rewrapped as dg1, and all data stays readable', async () => {
    const stdout = await rotateUnder('gm');
    expect(stdout).toContain('starting rotation: KEK v1 -> v2');
    expect(stdout).toContain('rotated: 5 data key(s) now under KEK v2; retired v1');
    expect(await keyring()).toContain('kek v2 sm4-ctr-hmac-sm3');
    expect(await keyring()).not.toContain('kek v1 -');
    expect((await storedFormats()).keys).toEqual(new Set(['dg1']));
    await expectAllReadable();
    await register(1);
    expect((await storedFormats()).keys).toEqual(new Set(['dg1']));
  });

  it('when the access log has an intl stream and then a gm one, then it verifies, with HMAC-SM3 events and SM2 checkpoints in the gm stream', async () => {
    await app.http().get('/v1/audit-events').set(auth(auditor)).expect(200);
    const events = app.connection.collection('audit_events');
    expect(await events.countDocuments({ v: 2 })).toBeGreaterThan(0);
    expect(await events.countDocuments({ v: 3 })).toBeGreaterThan(0);
    const result = await verifyLog();
    expect(result.body).toMatchObject({ ok: true, findings: [] });

    const records = (await app.connection
      .collection('audit_checkpoints')
      .find()
      .sort({ gseq: 1 })
      .toArray()) as unknown as CheckpointRecord[];
    expect(new Set(records.map((record) => record.alg))).toEqual(new Set(['Ed25519', 'SM2']));
    // The record after an SM2 one links to it by the SM3 of its signed payload.
    const sm2Index = records.findIndex((record) => record.alg === 'SM2');
    const sm2Record = records[sm2Index]!;
    expect(checkpointDigest(sm2Record)).toBe(hash('sm3', checkpointPayload(sm2Record), 'hex'));
    expect(records[sm2Index + 1]!.prev).toBe(checkpointDigest(sm2Record));
  });

  it('when an event of the gm stream is edited, then verify names it (HASH_MISMATCH), and not once restored', async () => {
    const events = app.connection.collection('audit_events');
    const target = await events.findOne({ v: 3 }, { sort: { seq: -1 } });
    await events.updateOne({ _id: target!._id }, { $set: { 'actor.role': 'admin' } });
    const tampered = await verifyLog();
    await events.replaceOne({ _id: target!._id }, target!);
    const restored = await verifyLog();
    expect(tampered.body.ok).toBe(false);
    expect(tampered.body.findings).toContainEqual({
      stream: target!.stream,
      seq: target!.seq,
      reason: 'HASH_MISMATCH',
    });
    expect(restored.body.ok).toBe(true);
  });

  it('when an event of the gm stream is relabelled to the HMAC-SHA-256 version, then verify names it', async () => {
    const events = app.connection.collection('audit_events');
    const target = await events.findOne({ v: 3 }, { sort: { seq: -1 } });
    await events.updateOne({ _id: target!._id }, { $set: { v: 2 } });
    const tampered = await verifyLog();
    await events.replaceOne({ _id: target!._id }, target!);
    expect(tampered.body.findings).toContainEqual({
      stream: target!.stream,
      seq: target!.seq,
      reason: 'HASH_MISMATCH',
    });
    expect((await verifyLog()).body.ok).toBe(true);
  });

  it('when a checkpoint signed with SM2 is altered, then verify reports its signature', async () => {
    const checkpoints = app.connection.collection('audit_checkpoints');
    const target = await checkpoints.findOne({ alg: 'SM2' });
    await checkpoints.updateOne({ _id: target!._id }, { $set: { at: new Date(0) } });
    const tampered = await verifyLog();
    await checkpoints.replaceOne({ _id: target!._id }, target!);
    expect(tampered.body.findings).toContainEqual(
      expect.objectContaining({ reason: 'CHECKPOINT_SIGNATURE_INVALID' }),
    );
    expect((await verifyLog()).body.ok).toBe(true);
  });

  it('when a partner pulls under gm, then the payload carries an SM2 signature that OpenSSL verifies with the published public key', async () => {
    const carrier = (await app.clientKey('carrier', 'SF')).apiKey;
    await app.clientKey('customs', 'BROKER1');
    const order = await confirmedOrder(app, checkout, { waybill: false });
    const shipment = (await pullAll(app, carrier, '/v1/shipments')).find(
      (item) => item.orderNo === order.orderNo,
    );
    const response = await rawCall(
      app
        .http()
        .get(`/v1/shipments/${shipment!.shipmentId as string}`)
        .set(auth(carrier)),
    );
    expect(response.status).toBe(200);
    expect(response.headers['x-signature-scheme']).toBe('sm2-sm3-detached');
    const publicKeyPem = (
      await app.http().get('/v1/signing-certificate').set(auth(carrier)).expect(200)
    ).text;
    expect(publicKeyPem).toContain('BEGIN PUBLIC KEY');
    const signature = Buffer.from(response.headers['x-signature']!, 'base64');
    const verified = opensslSm2Verify(response.body, signature, publicKeyPem);
    expect(verified.stdout.toString()).toContain('Signature Verified Successfully');
    const altered = Buffer.from(response.body);
    altered[altered.length - 2] ^= 1;
    expect(opensslSm2Verify(altered, signature, publicKeyPem).status).not.toBe(0);
  });

  it('when restarted under intl again, then SM4 fields and SM4-wrapped keys still read, the log still verifies, and a rotation moves the KEK back to AES', async () => {
    await stop();
    await start('intl');
    await expectAllReadable();
    expect((await verifyLog()).body).toMatchObject({ ok: true });
    expect(await rotateUnder('intl')).toMatch(
      /rotated: \d+ data key\(s\) now under KEK v3; retired v2/,
    );
    expect(await keyring()).toContain('kek v3 aes-256-gcm');
    expect((await storedFormats()).keys).toEqual(new Set(['dk1']));
    await expectAllReadable();
  });
});

describe('HMAC-SM3 of node:crypto', () => {
  it('when node:crypto and sm-crypto compute HMAC-SM3, then they agree', () => {
    const key = Buffer.alloc(32, 7);
    expect(createHmac('sm3', key).update('11010519491231002X').digest('hex')).toBe(
      smCryptoSm3('11010519491231002X', { key: hex(key), mode: 'hmac' }),
    );
  });
});
