/**
 * `npm run bench:crypto [-- --seconds 2]`
 *
 * Records per second for encrypt + decrypt of one identity (name, id number,
 * phone) plus its blind index, three ways in one run:
 *
 * 1. this design: the real FieldCipher (AES-256-GCM, random 96-bit nonce,
 *    AAD bound to collection/field/record/key version, `ef1.` strings) with
 *    the subject's data key in its short-lived cache, and the real BlindIndex
 *    (HMAC-SHA-256), all on node:crypto;
 * 2. the same design (same envelope, AAD and HMAC) on node-forge's AES-GCM
 *    and HMAC;
 * 3. mongoose-field-encryption 7 (AES-256-CBC, hex strings) through its own
 *    plugin methods on a mongoose 9 document (encryptFieldsSync /
 *    decryptFieldsSync), plus the same node:crypto HMAC blind index it lacks.
 *
 * 4. this design under CRYPTO_PROFILE=gm: SM4-CTR + HMAC-SM3 (`eg1.`), and
 *    the HMAC-SM3 blind index.
 *
 * Then each primitive alone, intl beside gm, with the ratio to the intl one
 * measured in the same run: field encrypt, field decrypt, blind index, the
 * access log's chain MAC (one event), checkpoint signature sign and verify
 * (Ed25519 / SM2).
 *
 * No database: key storage is in memory, so only the cryptography is timed.
 */
import {
  createHmac,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import forge from 'node-forge';
import { chainEvent, eventHash, GENESIS_HASH } from '../src/audit/audit-chain';
import { aadOf } from '../src/crypto/aead';
import { createBlindIndex, type BlindIndex } from '../src/crypto/blind-index';
import { cipherOf, type CryptoProfile } from '../src/crypto/crypto-profile';
import { decodeEnvelope, encodeEnvelope, FIELD_FORMAT } from '../src/crypto/envelope-format';
import { createFieldCipher } from '../src/crypto/field-cipher';
import type { FieldRef } from '../src/crypto/field-cipher-types';
import { createKeyring } from '../src/crypto/keyring';
import type { KeyringEntry, KeyringStore } from '../src/crypto/keyring-store';
import { generateMasterKeyFiles, loadMasterKey } from '../src/crypto/master-key';
import { generateSm2KeyPair, sm2Sign, sm2Verify } from '../src/crypto/sm2';
import type { SubjectKeyEntry, SubjectKeyStore } from '../src/crypto/subject-key-store';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { fieldEncryption } = require('mongoose-field-encryption') as {
  fieldEncryption: (schema: mongoose.Schema, options: { fields: string[]; secret: string }) => void;
};

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}
const SECONDS = Number(flag('seconds', '3'));
const ROUNDS = 10;
const print = (line: string) => process.stdout.write(`${line}\n`);

/** A synthetic identity (not a real person). */
const PERSON = { name: '欧阳娜娜', idNumber: '11010519491231002X', phone: '13812345678' };
const FIELDS = ['name', 'idNumber', 'phone'] as const;

interface Contender {
  label: string;
  once: () => unknown;
  records: number;
  ms: number;
  /** Calls per timing check and for warming up (fewer for slow operations, e.g. SM2). */
  batch?: number;
  warmup?: number;
}

/**
 * Round-robin: each contender runs a short slice in turn, ROUNDS times, so
 * a noisy neighbour on the machine slows all of them alike.
 */
async function measure(contenders: Contender[]): Promise<void> {
  for (const contender of contenders) {
    const warmup = contender.warmup ?? 2000;
    for (let index = 0; index < warmup; index += 1) await contender.once(); // warm up the JIT
  }
  const slice = (SECONDS * 1000) / ROUNDS;
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const contender of contenders) {
      const started = performance.now();
      const deadline = started + slice;
      const batch = contender.batch ?? 100;
      while (performance.now() < deadline) {
        for (let index = 0; index < batch; index += 1) await contender.once();
        contender.records += batch;
      }
      contender.ms += performance.now() - started;
    }
  }
}

const perSecond = (contender: Contender) => contender.records / (contender.ms / 1000);

function memoryKeyringStore(): KeyringStore {
  const entries: KeyringEntry[] = [];
  return {
    list: async () => entries.map((entry) => ({ ...entry })),
    insert: async (entry) => (entries.push({ ...entry }), true),
    markRetiring: async () => undefined,
    activate: async () => undefined,
    retire: async () => undefined,
    status: async () => 'active',
    ensureIndexes: async () => undefined,
  };
}

function memorySubjectKeyStore(): SubjectKeyStore {
  const entries = new Map<string, SubjectKeyEntry>();
  return {
    find: async (subjectId) => entries.get(subjectId) ?? null,
    insert: async (entry) =>
      entries.has(entry.subjectId) ? false : (entries.set(entry.subjectId, entry), true),
    rewrap: async () => false,
    destroy: async () => undefined,
    listWrappedBefore: async () => [],
    countWrappedBefore: async () => 0,
    listWrappedWith: async () => [],
    ensureIndexes: async () => undefined,
  };
}

const master = (() => {
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-keys-'));
  generateMasterKeyFiles(keysDir);
  const loaded = loadMasterKey(keysDir);
  fs.rmSync(keysDir, { recursive: true, force: true });
  return loaded;
})();

/** The real FieldCipher and BlindIndex of a profile, keys in memory, one subject's key cached. */
async function designOf(profile: CryptoProfile) {
  const keyring = createKeyring(memoryKeyringStore(), () => master, { profile });
  await keyring.open();
  const cipher = createFieldCipher(
    { keyring, subjectKeys: memorySubjectKeyStore() },
    { cacheMs: 3_600_000, maxCachedKeys: 1000, algorithm: cipherOf(profile) },
  );
  const blindIndex: BlindIndex = createBlindIndex(keyring);
  const subjectId = 'a8f5f167-f44f-4964-b6f5-4b0c1f1b5a11';
  await cipher.ensureSubjectKey(subjectId);
  const refs = FIELDS.map((field): FieldRef => ({
    subjectId,
    collection: 'identities',
    recordId: subjectId,
    field,
  }));
  return { cipher, blindIndex, refs };
}

async function thisDesign(profile: CryptoProfile): Promise<() => Promise<void>> {
  const { cipher, blindIndex, refs } = await designOf(profile);
  return async () => {
    const stored = [
      await cipher.encrypt(refs[0]!, PERSON.name),
      await cipher.encrypt(refs[1]!, PERSON.idNumber),
      await cipher.encrypt(refs[2]!, PERSON.phone),
    ];
    const index = blindIndex.idNumber(PERSON.idNumber);
    for (let field = 0; field < 3; field += 1)
      await cipher.decryptText(refs[field]!, stored[field]!);
    if (index.length !== 45) throw new Error('unexpected index');
  };
}

/** The same envelope and AAD, with node-forge's AES-GCM, HMAC and random bytes. */
function forgeDesign(): () => void {
  const dataKey = forge.random.getBytesSync(32);
  const indexKey = forge.random.getBytesSync(32);
  const recordId = 'a8f5f167-f44f-4964-b6f5-4b0c1f1b5a11';
  const aad = (field: string) =>
    aadOf([FIELD_FORMAT, 'identities', field, recordId, recordId, 1]).toString('binary');
  const encrypt = (field: string, plaintext: string) => {
    const nonce = forge.random.getBytesSync(12);
    const cipher = forge.cipher.createCipher('AES-GCM', dataKey);
    cipher.start({ iv: nonce, additionalData: aad(field), tagLength: 128 });
    cipher.update(forge.util.createBuffer(forge.util.encodeUtf8(plaintext)));
    cipher.finish();
    return encodeEnvelope({
      format: FIELD_FORMAT,
      keyVersion: 1,
      sealed: {
        nonce: Buffer.from(nonce, 'binary'),
        ciphertext: Buffer.from(cipher.output.getBytes(), 'binary'),
        tag: Buffer.from(cipher.mode.tag.getBytes(), 'binary'),
      },
    });
  };
  const decrypt = (field: string, stored: string) => {
    const { sealed } = decodeEnvelope(stored, 'field');
    const decipher = forge.cipher.createDecipher('AES-GCM', dataKey);
    decipher.start({
      iv: sealed.nonce.toString('binary'),
      additionalData: aad(field),
      tagLength: 128,
      tag: forge.util.createBuffer(sealed.tag.toString('binary')),
    });
    decipher.update(forge.util.createBuffer(sealed.ciphertext.toString('binary')));
    if (!decipher.finish()) throw new Error('forge: authentication failed');
    return forge.util.decodeUtf8(decipher.output.getBytes());
  };
  return () => {
    const stored = FIELDS.map((field) => encrypt(field, PERSON[field]));
    const hmac = forge.hmac.create();
    hmac.start('sha256', indexKey);
    hmac.update(PERSON.idNumber);
    const index = Buffer.from(hmac.digest().getBytes(), 'binary').toString('base64url');
    FIELDS.forEach((field, position) => {
      if (decrypt(field, stored[position]!) !== PERSON[field]) throw new Error('forge round trip');
    });
    if (index.length !== 43) throw new Error('unexpected index');
  };
}

/** mongoose-field-encryption's own plugin methods on a mongoose document, plus a node:crypto HMAC. */
function mongooseFieldEncryption(): () => void {
  const schema = new mongoose.Schema({ name: String, idNumber: String, phone: String });
  schema.plugin(fieldEncryption, { fields: [...FIELDS], secret: randomBytes(32).toString('hex') });
  const Model = mongoose.model('BenchIdentity', schema);
  const indexKey = randomBytes(32);
  return () => {
    const document = new Model(PERSON) as unknown as {
      encryptFieldsSync(): void;
      decryptFieldsSync(): void;
      name: string;
    };
    document.encryptFieldsSync();
    const index = createHmac('sha256', indexKey).update(PERSON.idNumber).digest('base64url');
    document.decryptFieldsSync();
    if (document.name !== PERSON.name || index.length !== 43) throw new Error('mfe round trip');
  };
}

/** One access-log event as the writer chains it (synthetic, no personal data). */
function sampleEvent() {
  return {
    at: new Date('2026-01-01T00:00:00Z'),
    actor: { clientId: 'c-1', role: 'checkout' } as never,
    action: 'identity.read' as never,
    purpose: 'checkout' as never,
    subjectRef: 'sr-0123456789abcdef',
    subjectRefKeyId: 'sr-0123456789abcdef',
    resource: { route: '/v1/identities/:id', id: 'a8f5f167-f44f-4964-b6f5-4b0c1f1b5a11' },
    fields: ['name', 'idNumber'],
    outcome: 'ALLOWED' as never,
    requestId: 'req-1',
    sourceIp: '10.0.0.1',
  };
}

/** Each primitive alone, under both profiles. */
async function primitives(): Promise<{ intl: Contender; gm: Contender }[]> {
  const designs = { intl: await designOf('intl'), gm: await designOf('gm') };
  const field = (profile: CryptoProfile) => {
    const { cipher, refs } = designs[profile];
    return { encrypt: () => cipher.encrypt(refs[1]!, PERSON.idNumber), cipher, ref: refs[1]! };
  };
  const decryptOf = async (profile: CryptoProfile) => {
    const { cipher, ref } = field(profile);
    const stored = await cipher.encrypt(ref, PERSON.idNumber);
    return () => cipher.decryptText(ref, stored);
  };
  const macKey = createSecretKey(randomBytes(32));
  const chained = (algorithm: 'hmac-sha256' | 'hmac-sm3') =>
    chainEvent(sampleEvent(), { stream: 's-1', seq: 1, prevHash: GENESIS_HASH }, macKey, algorithm);
  const [v2, v3] = [chained('hmac-sha256'), chained('hmac-sm3')];
  const ed25519 = generateKeyPairSync('ed25519');
  const sm2 = generateSm2KeyPair();
  const payload = Buffer.from(JSON.stringify({ gseq: 1, prev: GENESIS_HASH, kind: 'CHECKPOINT' }));
  const edSignature = sign(null, payload, ed25519.privateKey);
  const sm2Signature = sm2Sign(payload, sm2);
  const pair = (label: string, intl: () => unknown, gm: () => unknown, slow = false) => ({
    intl: { label: `${label}, intl`, once: intl, records: 0, ms: 0 },
    gm: {
      label: `${label}, gm`,
      once: gm,
      records: 0,
      ms: 0,
      ...(slow ? { batch: 5, warmup: 20 } : {}),
    },
  });
  return [
    pair(
      'field encrypt (AES-256-GCM | SM4-CTR+HMAC-SM3)',
      field('intl').encrypt,
      field('gm').encrypt,
    ),
    pair('field decrypt', await decryptOf('intl'), await decryptOf('gm')),
    pair(
      'blind index (HMAC-SHA-256 | HMAC-SM3)',
      () => designs.intl.blindIndex.idNumber(PERSON.idNumber),
      () => designs.gm.blindIndex.idNumber(PERSON.idNumber),
    ),
    pair(
      'chain MAC, one event (HMAC-SHA-256 | HMAC-SM3)',
      () => eventHash(v2, macKey),
      () => eventHash(v3, macKey),
    ),
    pair(
      'checkpoint sign (Ed25519 | SM2)',
      () => sign(null, payload, ed25519.privateKey),
      () => sm2Sign(payload, sm2),
      true,
    ),
    pair(
      'checkpoint verify (Ed25519 | SM2)',
      () => verify(null, payload, ed25519.publicKey, edSignature),
      () => sm2Verify(payload, sm2Signature, sm2.publicKeyHex),
      true,
    ),
  ];
}

const rate = (value: number) => Math.round(value).toLocaleString('en-US').padStart(11);

async function main(): Promise<void> {
  print(
    `bench:crypto: encrypt + decrypt of one identity (3 fields) + blind index; ` +
      `${SECONDS} s each, in ${ROUNDS} interleaved rounds; Node ${process.version}`,
  );
  const contenders: Contender[] = [
    {
      label: '1. this design (node:crypto, FieldCipher, AES-256-GCM)',
      once: await thisDesign('intl'),
      records: 0,
      ms: 0,
    },
    {
      label: '2. same design on node-forge AES-GCM + HMAC',
      once: forgeDesign(),
      records: 0,
      ms: 0,
    },
    {
      label: '3. mongoose-field-encryption 7 (AES-256-CBC) + HMAC',
      once: mongooseFieldEncryption(),
      records: 0,
      ms: 0,
    },
    {
      label: '4. this design, gm profile (SM4-CTR + HMAC-SM3)',
      once: await thisDesign('gm'),
      records: 0,
      ms: 0,
    },
  ];
  await measure(contenders);
  for (const contender of contenders) {
    print(
      `${contender.label.padEnd(58)} ${Math.round(perSecond(contender)).toLocaleString('en-US').padStart(10)} records/s`,
    );
  }
  const [ours, viaForge, viaMfe, gm] = contenders.map(perSecond) as [
    number,
    number,
    number,
    number,
  ];
  print('');
  print(
    `this design / node-forge:                 ${(ours / viaForge).toFixed(1)}x (target >= 10x)`,
  );
  print(`this design / mongoose-field-encryption:  ${(ours / viaMfe).toFixed(2)}x (target >= 1x)`);
  print(`gm profile / intl (AES-256-GCM):           ${(gm / ours).toFixed(2)}x`);

  print('');
  print('each primitive, intl beside gm (gm/intl: the ratio measured in this run)');
  const pairs = await primitives();
  await measure(pairs.flatMap(({ intl, gm: other }) => [intl, other]));
  for (const { intl, gm: other } of pairs) {
    const label = intl.label.replace(/, intl$/, '');
    print(
      `${label.padEnd(50)} intl ${rate(perSecond(intl))} /s   gm ${rate(perSecond(other))} /s   ` +
        `gm/intl ${(perSecond(other) / perSecond(intl)).toFixed(3)}x`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:crypto failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
