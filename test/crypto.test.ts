import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Connection } from 'mongoose';
import forge from 'node-forge';
import { open, seal, randomKey } from '../src/crypto/aead';
import {
  createCryptoModule,
  ensureMasterKey,
  type CryptoModule,
} from '../src/crypto/crypto-module';
import type { FieldRef } from '../src/crypto/field-cipher-types';
import { KeyringError } from '../src/crypto/keyring';
import {
  generateMasterKeyFiles,
  loadMasterKey,
  MASTER_KEY_FILES,
  MasterKeyError,
} from '../src/crypto/master-key';
import { connectDatabase } from '../src/db/connection';
import { DecryptionFailed } from '../src/errors';
import { createLogger } from '../src/logger';
import { freshDatabaseName } from './helpers/test-app';

const keysDir = process.env.KEYS_DIR!;
const silent = createLogger('silent');
const connections: Connection[] = [];
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crypto-test-'));
  tempDirs.push(dir);
  return dir;
}

async function freshConnection(): Promise<Connection> {
  const connection = await connectDatabase(process.env.MONGODB_URI!, {
    dbName: freshDatabaseName(),
    timeoutMs: 5000,
  });
  connections.push(connection);
  return connection;
}

async function startedCrypto(
  connection: Connection,
  options: { keysDir?: string; cacheMs?: number } = {},
): Promise<CryptoModule> {
  const crypto = createCryptoModule(
    { connection, logger: silent },
    { env: 'test', keysDir: options.keysDir ?? keysDir, dataKeyCacheMs: options.cacheMs ?? 0 },
  );
  await crypto.ensureIndexes();
  await crypto.start();
  return crypto;
}

afterAll(async () => {
  for (const connection of connections) {
    await connection.dropDatabase().catch(() => undefined);
    await connection.close();
  }
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const ref = (overrides: Partial<FieldRef> = {}): FieldRef => ({
  subjectId: 'subject-a',
  collection: 'identities',
  recordId: 'subject-a',
  field: 'name',
  ...overrides,
});

describe('master key files', () => {
  it('when a master key is generated, then PKCS#8 and SPKI PEM files and a self-signed certificate are written', () => {
    const dir = tempDir();
    const { fingerprint } = generateMasterKeyFiles(dir);
    const privatePem = fs.readFileSync(path.join(dir, MASTER_KEY_FILES.privateKey), 'utf8');
    expect(privatePem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(fs.statSync(path.join(dir, MASTER_KEY_FILES.privateKey)).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, MASTER_KEY_FILES.publicKey), 'utf8')).toMatch(
      /^-----BEGIN PUBLIC KEY-----/,
    );
    const certificate = forge.pki.certificateFromPem(
      fs.readFileSync(path.join(dir, MASTER_KEY_FILES.certificate), 'utf8'),
    );
    expect(certificate.verify(certificate)).toBe(true);
    expect(certificate.validity.notAfter.getTime()).toBeGreaterThan(Date.now());
    const loaded = loadMasterKey(dir);
    expect(loaded.bits).toBe(3072);
    expect(loaded.fingerprint).toBe(fingerprint);
  });

  it('when a key shorter than 3072 bits is asked for, then it is refused', () => {
    expect(() => generateMasterKeyFiles(tempDir(), { bits: 2048 })).toThrow(MasterKeyError);
  });

  it('when a master key exists, then generate refuses to overwrite it without force', () => {
    expect(() => generateMasterKeyFiles(keysDir)).toThrow('refusing to overwrite');
  });

  it('when the certificate belongs to another key, then loading refuses', () => {
    const dir = tempDir();
    generateMasterKeyFiles(dir);
    fs.copyFileSync(
      path.join(keysDir, MASTER_KEY_FILES.certificate),
      path.join(dir, MASTER_KEY_FILES.certificate),
    );
    expect(() => loadMasterKey(dir)).toThrow('certificate does not match');
  });

  it('when a 2048-bit key is put in KEYS_DIR by hand, then loading refuses', () => {
    const dir = tempDir();
    const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
    fs.writeFileSync(
      path.join(dir, MASTER_KEY_FILES.privateKey),
      forge.pki.privateKeyToPem(keys.privateKey),
    );
    expect(() => loadMasterKey(dir)).toThrow('fewer than 3072 bits');
  });

  it('when production starts without a master key, then it refuses; development generates one with a warning', () => {
    const dir = tempDir();
    expect(() =>
      ensureMasterKey({ env: 'production', keysDir: dir, dataKeyCacheMs: 0 }, silent),
    ).toThrow(MasterKeyError);
    expect(fs.readdirSync(dir)).toEqual([]);
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }),
    );
    const key = ensureMasterKey({ env: 'development', keysDir: dir, dataKeyCacheMs: 0 }, logger);
    expect(key.bits).toBeGreaterThanOrEqual(3072);
    expect(lines.join('')).toContain('generated a development master key pair');
  });
});

describe('keyring', () => {
  it('when a fresh database is opened, then a KEK, three blind-index keys and the legal-retention key are stored wrapped by RSA-OAEP', async () => {
    const connection = await freshConnection();
    await startedCrypto(connection);
    const entries = await connection.collection('keyring').find().toArray();
    expect(entries.map((e) => `${e.purpose}#${e.version}:${e.status}`).sort()).toEqual([
      'blind-index:idNumber#1:active',
      'blind-index:name#1:active',
      'blind-index:person#1:active',
      'kek#1:active',
      'legal-retention#1:active',
    ]);
    for (const entry of entries) expect(Buffer.from(entry.wrapped, 'base64')).toHaveLength(384);
  });

  it('when the keyring was wrapped by another master key, then start fails and the app is not ready', async () => {
    const connection = await freshConnection();
    await startedCrypto(connection);
    const otherDir = tempDir();
    generateMasterKeyFiles(otherDir);
    const other = createCryptoModule(
      { connection, logger: silent },
      { env: 'test', keysDir: otherDir, dataKeyCacheMs: 0 },
    );
    await expect(other.start()).rejects.toThrow(KeyringError);
    expect(await other.isReady()).toBe(false);
  });

  it('when the same value is indexed, then the index is stable, per purpose, and per deployment', async () => {
    const first = await startedCrypto(await freshConnection());
    const second = await startedCrypto(await freshConnection());
    expect(first.blindIndex.idNumber('11010519491231002X')).toBe(
      first.blindIndex.idNumber('11010519491231002X'),
    );
    expect(first.blindIndex.idNumber('11010519491231002X')).toMatch(/^1:[A-Za-z0-9_-]{43}$/);
    expect(first.blindIndex.name('张三')).not.toBe(first.blindIndex.idNumber('张三'));
    expect(second.blindIndex.idNumber('11010519491231002X')).not.toBe(
      first.blindIndex.idNumber('11010519491231002X'),
    );
  });
});

describe('field cipher', () => {
  let crypto: CryptoModule;
  let connection: Connection;
  beforeAll(async () => {
    connection = await freshConnection();
    crypto = await startedCrypto(connection, { cacheMs: 60_000 });
    await crypto.fieldCipher.ensureSubjectKey('subject-a');
    await crypto.fieldCipher.ensureSubjectKey('subject-b');
  });

  it('when a field is encrypted, then it round-trips, is versioned, and a fresh nonce makes each ciphertext differ', async () => {
    const first = await crypto.fieldCipher.encrypt(ref(), '张三');
    const second = await crypto.fieldCipher.encrypt(ref(), '张三');
    expect(first).toMatch(/^ef1\.1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(first).not.toBe(second);
    expect(await crypto.fieldCipher.decryptText(ref(), first)).toBe('张三');
    expect(await crypto.fieldCipher.decrypt(ref(), second)).toEqual(Buffer.from('张三'));
  });

  it('when a subject key is stored, then it is wrapped (dk1 envelope) and ensureSubjectKey is idempotent', async () => {
    const before = await connection.collection('subject_keys').findOne({ subjectId: 'subject-a' });
    await crypto.fieldCipher.ensureSubjectKey('subject-a');
    const after = await connection.collection('subject_keys').findOne({ subjectId: 'subject-a' });
    expect(after!.wrappedKey).toBe(before!.wrappedKey);
    expect(after!.wrappedKey).toMatch(/^dk1\.1\./);
    expect(after!.kekVersion).toBe(1);
  });

  it.each([
    ['another record', { recordId: 'other-record' }],
    ['another field', { field: 'phone' }],
    ['another collection', { collection: 'orders' }],
    ['another subject', { subjectId: 'subject-b', recordId: 'subject-a' }],
  ])('when a ciphertext is moved to %s, then it does not decrypt', async (_label, moved) => {
    const ciphertext = await crypto.fieldCipher.encrypt(ref(), '110105194912310021');
    const failure = crypto.fieldCipher.decrypt(ref(moved), ciphertext);
    await expect(failure).rejects.toBeInstanceOf(DecryptionFailed);
    await expect(failure).rejects.toMatchObject({
      status: 500,
      code: 'INTERNAL',
      message: 'Internal error.',
      details: [],
    });
  });

  function flip(ciphertext: string, part: number, byte = 0): string {
    const parts = ciphertext.split('.');
    const bytes = Buffer.from(parts[part]!, 'base64url');
    bytes[byte]! ^= 0x01;
    parts[part] = bytes.toString('base64url');
    return parts.join('.');
  }

  it.each([
    ['the nonce', 2],
    ['the ciphertext', 3],
    ['the tag', 4],
  ])('when one bit of %s is flipped, then it does not decrypt', async (_label, part) => {
    const ciphertext = await crypto.fieldCipher.encrypt(ref(), '13812345678');
    await expect(crypto.fieldCipher.decrypt(ref(), flip(ciphertext, part))).rejects.toBeInstanceOf(
      DecryptionFailed,
    );
    await expect(
      crypto.fieldCipher.decrypt(ref(), flip(ciphertext, part, 5)),
    ).rejects.toBeInstanceOf(DecryptionFailed);
  });

  it.each([
    ['a truncated tag', (c: string) => c.slice(0, -2)],
    ['another key version', (c: string) => c.replace(/^ef1\.1\./, 'ef1.2.')],
    ['an unknown format', (c: string) => c.replace(/^ef1\./, 'ef9.')],
    ['a wrapped-key label', (c: string) => c.replace(/^ef1\./, 'dk1.')],
    ['no ciphertext at all', () => 'plain text'],
  ])('when the stored string has %s, then DecryptionFailed', async (_label, alter) => {
    const ciphertext = await crypto.fieldCipher.encrypt(ref(), 'secret');
    await expect(crypto.fieldCipher.decrypt(ref(), alter(ciphertext))).rejects.toBeInstanceOf(
      DecryptionFailed,
    );
  });

  it('when a wrapped data key is copied to another subject, then that subject cannot decrypt', async () => {
    await crypto.fieldCipher.ensureSubjectKey('subject-c');
    const ciphertext = await crypto.fieldCipher.encrypt(
      ref({ subjectId: 'subject-c', recordId: 'r' }),
      'x',
    );
    const keys = connection.collection('subject_keys');
    const a = await keys.findOne({ subjectId: 'subject-a' });
    await keys.updateOne({ subjectId: 'subject-c' }, { $set: { wrappedKey: a!.wrappedKey } });
    const fresh = await startedCrypto(connection);
    await expect(
      fresh.fieldCipher.decrypt(ref({ subjectId: 'subject-c', recordId: 'r' }), ciphertext),
    ).rejects.toBeInstanceOf(DecryptionFailed);
  });

  it('when the subject key is destroyed, then even a cached key no longer decrypts and nothing can be encrypted', async () => {
    await crypto.fieldCipher.ensureSubjectKey('subject-d');
    const dRef = ref({ subjectId: 'subject-d', recordId: 'subject-d' });
    const ciphertext = await crypto.fieldCipher.encrypt(dRef, '李四');
    expect(await crypto.fieldCipher.decryptText(dRef, ciphertext)).toBe('李四'); // now cached (60 s)
    await crypto.fieldCipher.destroySubjectKey('subject-d');
    await expect(crypto.fieldCipher.decrypt(dRef, ciphertext)).rejects.toBeInstanceOf(
      DecryptionFailed,
    );
    await expect(crypto.fieldCipher.encrypt(dRef, 'again')).rejects.toMatchObject({ status: 404 });
    await expect(crypto.fieldCipher.ensureSubjectKey('subject-d')).rejects.toMatchObject({
      status: 404,
    });
    const tombstone = await connection
      .collection('subject_keys')
      .findOne({ subjectId: 'subject-d' });
    expect(tombstone).toMatchObject({ wrappedKey: null, destroyedAt: expect.any(Date) });
  });

  it('when a subject never had a key, then encrypt is refused and decrypt fails', async () => {
    const nRef = ref({ subjectId: 'no-key', recordId: 'no-key' });
    await expect(crypto.fieldCipher.encrypt(nRef, 'x')).rejects.toMatchObject({ status: 404 });
    const someCiphertext = await crypto.fieldCipher.encrypt(ref(), 'x');
    await expect(crypto.fieldCipher.decrypt(nRef, someCiphertext)).rejects.toBeInstanceOf(
      DecryptionFailed,
    );
  });

  it('when a ref is malformed, then encrypt throws a TypeError and decrypt a DecryptionFailed', async () => {
    await expect(crypto.fieldCipher.encrypt(ref({ field: '$where' }), 'x')).rejects.toBeInstanceOf(
      TypeError,
    );
    const ciphertext = await crypto.fieldCipher.encrypt(ref(), 'x');
    await expect(
      crypto.fieldCipher.decrypt(ref({ recordId: '' }), ciphertext),
    ).rejects.toBeInstanceOf(DecryptionFailed);
  });

  it('when binary data is encrypted, then it round-trips byte for byte', async () => {
    const bytes = Buffer.from([0, 255, 1, 254, 0x89, 0x50]);
    const ciphertext = await crypto.fieldCipher.encrypt(ref({ field: 'photo.front' }), bytes);
    expect(await crypto.fieldCipher.decrypt(ref({ field: 'photo.front' }), ciphertext)).toEqual(
      bytes,
    );
  });

  it('when the keys are not loaded yet, then the cipher answers 503, not a decryption failure', async () => {
    const unstarted = createCryptoModule(
      { connection, logger: silent },
      { env: 'test', keysDir, dataKeyCacheMs: 0 },
    );
    await expect(unstarted.fieldCipher.ensureSubjectKey('subject-z')).rejects.toMatchObject({
      status: 503,
    });
    const ciphertext = await crypto.fieldCipher.encrypt(ref(), 'x');
    await expect(unstarted.fieldCipher.decrypt(ref(), ciphertext)).rejects.toMatchObject({
      status: 503,
    });
    expect(await unstarted.isReady()).toBe(false);
  });
});

describe('AES-GCM primitive', () => {
  it('when the additional data differs, then open fails', () => {
    const key = randomKey();
    const sealed = seal(key, Buffer.from('x'), Buffer.from('a'));
    expect(open(key, sealed, Buffer.from('a'))).toEqual(Buffer.from('x'));
    expect(() => open(key, sealed, Buffer.from('b'))).toThrow(DecryptionFailed);
    expect(() => open(randomKey(), sealed, Buffer.from('a'))).toThrow(DecryptionFailed);
  });

  it('when a key is not 32 bytes, then seal refuses', () => {
    expect(() => seal(Buffer.alloc(16), Buffer.from('x'), Buffer.alloc(0))).toThrow(TypeError);
  });
});
