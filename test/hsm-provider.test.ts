import { execFile, spawn } from 'node:child_process';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  verify,
  X509Certificate,
} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as pkcs11js from 'pkcs11js';
import { CHECKPOINT_KEY_FILE, CHECKPOINT_PUBLIC_KEY_FILE } from '../src/audit/audit-keys';
import { ConfigError, loadConfig } from '../src/config';
import {
  createFileMasterKeyProvider,
  createFileSigner,
  oaepWrap,
  publicKeyFingerprint,
  UnwrapError,
} from '../src/crypto/key-provider';
import { generateMasterKeyFiles, loadMasterKey, rsaOaepWrap } from '../src/crypto/master-key';
import { generateTokenKey, tokenStatus } from '../src/crypto/pkcs11/pkcs11-ceremony';
import type { Pkcs11Config } from '../src/crypto/pkcs11/pkcs11-config';
import { HsmError, returnValueName } from '../src/crypto/pkcs11/pkcs11-errors';
import { findKeyPair } from '../src/crypto/pkcs11/pkcs11-keys';
import { openPkcs11MasterKeyProvider } from '../src/crypto/pkcs11/pkcs11-master-key';
import { openPkcs11Signer, readPkcs11Certificate } from '../src/crypto/pkcs11/pkcs11-signer';
import { openPkcs11Token } from '../src/crypto/pkcs11/pkcs11-token';
import { createTokenCmsSigner } from '../src/disclosure/payload-crypto';
import { auth } from './helpers/auth';
import { verifyDetached } from './helpers/disclosure-fixtures';
import { randomPerson, registration } from './helpers/identity-fixtures';
import { createSoftHsmToken, importRsaKeyPair, type SoftHsmToken } from './helpers/softhsm';
import { createTestApp, freshDatabaseName } from './helpers/test-app';

const root = path.resolve(__dirname, '..');
let hsm: SoftHsmToken;
let config: Pkcs11Config;

beforeAll(async () => {
  hsm = await createSoftHsmToken('customs-test');
  config = hsm.config;
});

afterAll(() => hsm?.remove());

/** The service's settings for this token (KEY_PROVIDER=pkcs11), as an operator sets them. */
function serviceEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    KEY_PROVIDER: 'pkcs11',
    PKCS11_MODULE: config.module,
    PKCS11_TOKEN_LABEL: config.tokenLabel,
    PKCS11_PIN_FILE: (config.pin as { file: string }).file,
    ...overrides,
  };
}

function wrongPinFile(): string {
  const file = path.join(hsm.dir, 'wrong-pin');
  fs.writeFileSync(file, `${hsm.pin}9\n`, { mode: 0o600 });
  return file;
}

/** src/main.ts in a child process, as systemd or Kubernetes starts it: exit code and output. */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      SOFTHSM2_CONF: hsm.env.SOFTHSM2_CONF!,
      NODE_ENV: 'development',
      PORT: '0',
      MONGODB_URI: process.env.MONGODB_URI!,
      KEYS_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'keys-unused-')),
      ...env,
    },
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, ...output })),
  );
}

/** The keys CLI in a child process, as an operator runs it: exit code, stdout, stderr. */
async function keysCli(args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'src/cli/keys.ts', ...args],
      { cwd: root, env: { ...process.env, ...env, NODE_ENV: 'development' }, timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** What the token answers to a raw call, as its CKR_* name ('ok' when it complies). */
async function tokenAnswer(
  call: (context: { pkcs11: pkcs11js.PKCS11; session: pkcs11js.Handle }) => unknown,
): Promise<string> {
  const token = openPkcs11Token(config);
  try {
    return await token.run((context) => {
      try {
        call(context);
        return 'ok';
      } catch (error) {
        return returnValueName(error) ?? String(error);
      }
    });
  } finally {
    await token.close();
  }
}

describe('the PKCS#11 key provider on a SoftHSM2 token', () => {
  let masterFingerprint: string;
  let wrappedBeforeRestart: { kek: Buffer; wrapped: Buffer };

  it('when the master key pair is generated in the token, then it is sensitive, non-extractable, generated there and certified by itself', async () => {
    const report = await generateTokenKey(config, 'master');
    masterFingerprint = report.fingerprint;

    expect(report.protection).toEqual({
      sensitive: true,
      extractable: false,
      alwaysSensitive: true,
      neverExtractable: true,
      local: true,
    });
    const certificate = new X509Certificate(report.certificatePem!);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(publicKeyFingerprint(certificate.publicKey)).toBe(report.fingerprint);
    expect(certificate.subject).toContain('CN=customs-identity master key');
    expect(certificate.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);

    await expect(generateTokenKey(config, 'master')).rejects.toThrow(
      new HsmError(
        'HSM_KEY_EXISTS',
        'PKCS#11 token "customs-test" already holds a key labelled "customs-identity-master": refusing to replace it (see docs/key-management.md)',
      ),
    );
  });

  it('when a 32-byte KEK is wrapped with the public key, then the token unwraps it, in the format the file provider reads', async () => {
    const provider = await openPkcs11MasterKeyProvider(config);
    try {
      expect(provider).toMatchObject({
        kind: 'pkcs11',
        bits: 3072,
        fingerprint: masterFingerprint,
      });
      // SoftHSM2 2.6 decrypts RSA-OAEP with SHA-1 only: the self-test at open finds that,
      // and the wrapped bytes say so (tagged form: "RW", 0x01, hash id 0x01, one modulus).
      expect(provider.oaepHash).toBe('sha1');
      const kek = randomBytes(32);
      const wrapped = provider.wrap(kek);
      expect(wrapped.length).toBe(384 + 4);
      expect(wrapped.subarray(0, 4)).toEqual(Buffer.from([0x52, 0x57, 0x01, 0x01]));
      expect(await provider.unwrap(wrapped)).toEqual(kek);
      // The shared public-key operation the file provider also uses gives what the token reads.
      expect(await provider.unwrap(oaepWrap(provider.publicKey, 'sha1', kek))).toEqual(kek);

      // Today's stored format (rsaOaepWrap: OAEP SHA-256, untagged) is named, not misread.
      await expect(provider.unwrap(rsaOaepWrap(provider.publicKey, kek))).rejects.toThrow(
        new UnwrapError(
          'the wrapped key uses RSA-OAEP with SHA-256, which token "customs-test" cannot decrypt',
        ),
      );
      const tampered = Buffer.from(wrapped);
      tampered[100]! ^= 0x01;
      await expect(provider.unwrap(tampered)).rejects.toThrow(UnwrapError);
      await expect(provider.unwrap(randomBytes(100))).rejects.toThrow(UnwrapError);
      wrappedBeforeRestart = { kek, wrapped };
    } finally {
      await provider.close();
    }
  });

  it('when the file key and the token hold the same key pair, then what either wraps the other unwraps', async () => {
    const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hsm-file-key-'));
    try {
      generateMasterKeyFiles(keysDir);
      const masterKey = loadMasterKey(keysDir);
      await importRsaKeyPair(config, 'imported-master', masterKey.privateKey);
      const token = await openPkcs11MasterKeyProvider({
        ...config,
        keyLabels: { ...config.keyLabels, master: 'imported-master' },
      });
      try {
        const file = createFileMasterKeyProvider(masterKey, { oaepHash: token.oaepHash });
        expect(token.fingerprint).toBe(masterKey.fingerprint);
        expect(file.fingerprint).toBe(masterKey.fingerprint);
        const kek = randomBytes(32);
        expect(await token.unwrap(file.wrap(kek))).toEqual(kek);
        expect(await file.unwrap(token.wrap(kek))).toEqual(kek);
        expect(file.wrap(kek).length).toBe(token.wrap(kek).length);
        // The default file provider writes today's bytes and reads both forms.
        const today = createFileMasterKeyProvider(masterKey);
        expect(await today.unwrap(rsaOaepWrap(masterKey.publicKey, kek))).toEqual(kek);
        expect(await today.unwrap(token.wrap(kek))).toEqual(kek);
        expect(today.wrap(kek).length).toBe(384);
      } finally {
        await token.close();
      }
    } finally {
      fs.rmSync(keysDir, { recursive: true, force: true });
    }
  });

  it('when anyone tries to export the private key, then the token refuses every way', async () => {
    await generateTokenKey(config, 'checkpoint');
    const master = (context: { pkcs11: pkcs11js.PKCS11; session: pkcs11js.Handle }) =>
      findKeyPair(context, config.keyLabels.master, config.tokenLabel).privateKey;

    for (const secret of [pkcs11js.CKA_PRIVATE_EXPONENT, pkcs11js.CKA_PRIME_1]) {
      expect(
        await tokenAnswer((context) =>
          context.pkcs11.C_GetAttributeValue(context.session, master(context), [{ type: secret }]),
        ),
      ).toBe('CKR_ATTRIBUTE_SENSITIVE');
    }
    expect(
      await tokenAnswer((context) => {
        const checkpoint = findKeyPair(context, config.keyLabels.checkpoint, config.tokenLabel);
        context.pkcs11.C_GetAttributeValue(context.session, checkpoint.privateKey, [
          { type: pkcs11js.CKA_VALUE },
        ]);
      }),
    ).toBe('CKR_ATTRIBUTE_SENSITIVE');

    const flags = await tokenAnswer((context) => {
      const [extractable] = context.pkcs11.C_GetAttributeValue(context.session, master(context), [
        { type: pkcs11js.CKA_EXTRACTABLE },
      ]);
      if (extractable!.value[0] !== 0) throw new Error('CKA_EXTRACTABLE is true');
    });
    expect(flags).toBe('ok');
    // Turning the flag back on is refused: CKA_EXTRACTABLE may only go from true to false.
    expect(
      await tokenAnswer((context) =>
        context.pkcs11.C_SetAttributeValue(context.session, master(context), [
          { type: pkcs11js.CKA_EXTRACTABLE, value: true },
        ]),
      ),
    ).toBe('CKR_ATTRIBUTE_READ_ONLY');
    // Wrapping it out under a key the caller controls is refused too.
    expect(
      await tokenAnswer((context) => {
        const wrappingKey = context.pkcs11.C_GenerateKey(
          context.session,
          { mechanism: pkcs11js.CKM_AES_KEY_GEN },
          [
            { type: pkcs11js.CKA_TOKEN, value: false },
            { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
            { type: pkcs11js.CKA_WRAP, value: true },
          ],
        );
        context.pkcs11.C_WrapKey(
          context.session,
          { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD },
          wrappingKey,
          master(context),
          Buffer.alloc(4096),
        );
      }),
    ).toBe('CKR_KEY_UNEXTRACTABLE');
  });

  it('when a signing key signs in the token, then node:crypto verifies the signature with its public key', async () => {
    const disclosure = await generateTokenKey(config, 'disclosure');
    const certificate = new X509Certificate(disclosure.certificatePem!);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    const message = Buffer.from('checkpoint: stream s-1, seq 1000, head 9f86d081884c7d65');

    const checkpoint = await openPkcs11Signer(config, 'checkpoint');
    const payload = await openPkcs11Signer(config, 'disclosure');
    try {
      expect(checkpoint.algorithm).toBe('ed25519');
      const ed25519 = await checkpoint.sign(message);
      expect(ed25519.length).toBe(64);
      expect(verify(null, message, checkpoint.publicKey, ed25519)).toBe(true);
      expect(verify(null, Buffer.from('another message'), checkpoint.publicKey, ed25519)).toBe(
        false,
      );

      expect(payload.algorithm).toBe('rsa-pkcs1-sha256');
      const rsa = await payload.sign(message);
      expect(verify('sha256', message, payload.publicKey, rsa)).toBe(true);
      expect(verify('sha256', message, certificate.publicKey, rsa)).toBe(true);
      // The digest path (forge's CMS builder) gives the same PKCS#1 v1.5 signature, deterministic.
      const digest = createHash('sha256').update(message).digest();
      expect(await payload.signDigest(digest)).toEqual(rsa);
      await expect(checkpoint.signDigest(digest)).rejects.toThrow(
        'an Ed25519 key signs messages only',
      );

      // One session, many callers: operations queue instead of interleaving.
      const master = await openPkcs11MasterKeyProvider(config);
      try {
        const keks = Array.from({ length: 8 }, () => randomBytes(32));
        const results = await Promise.all([
          ...keks.map((kek) => master.unwrap(master.wrap(kek))),
          ...keks.map(() => checkpoint.sign(message)),
        ]);
        expect(results.slice(0, 8)).toEqual(keks);
        for (const signature of results.slice(8)) {
          expect(verify(null, message, checkpoint.publicKey, signature)).toBe(true);
        }
      } finally {
        await master.close();
      }
    } finally {
      await checkpoint.close();
      await payload.close();
    }
  });

  it("when a payload is signed with the token's disclosure key, then openssl cms -verify accepts it with the token's certificate", async () => {
    const signer = await openPkcs11Signer(config, 'disclosure');
    try {
      const certificatePem = new X509Certificate(
        (await readPkcs11Certificate(config, 'disclosure'))!,
      ).toString();
      const cms = createTokenCmsSigner(signer, certificatePem);
      const body = Buffer.from('{"declarationId":"d-1","orderNo":"ORD-1"}');
      const signature = await cms.sign(body);
      expect(verifyDetached(body, signature, certificatePem).status).toBe(0);
      expect(
        verifyDetached(Buffer.from('{"declarationId":"d-2"}'), signature, certificatePem).status,
      ).not.toBe(0);
      expect(cms.certificateFingerprint).toBe(
        createHash('sha256').update(new X509Certificate(certificatePem).raw).digest('hex'),
      );
    } finally {
      await signer.close();
    }
  });

  it('when a PEM key signs through the file signer, then it answers like the token signer', async () => {
    const message = Buffer.from('signed attributes');
    const rsaPair = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const rsa = createFileSigner(rsaPair.privateKey, rsaPair.publicKey);
    expect(rsa).toMatchObject({ kind: 'file', algorithm: 'rsa-pkcs1-sha256' });
    const signature = await rsa.sign(message);
    expect(verify('sha256', message, rsaPair.publicKey, signature)).toBe(true);
    expect(await rsa.signDigest(createHash('sha256').update(message).digest())).toEqual(signature);

    const edPair = generateKeyPairSync('ed25519');
    const ed25519 = createFileSigner(edPair.privateKey, edPair.publicKey);
    expect(ed25519.algorithm).toBe('ed25519');
    expect(verify(null, message, edPair.publicKey, await ed25519.sign(message))).toBe(true);
  });

  it('when the token is closed and opened again, then the same keys unwrap what was wrapped before', async () => {
    const reopened = await openPkcs11MasterKeyProvider(config);
    try {
      expect(reopened.fingerprint).toBe(masterFingerprint);
      expect(await reopened.unwrap(wrappedBeforeRestart.wrapped)).toEqual(wrappedBeforeRestart.kek);
    } finally {
      await reopened.close();
    }
    await expect(reopened.unwrap(wrappedBeforeRestart.wrapped)).rejects.toThrow(
      new HsmError('HSM_CLOSED', 'PKCS#11 session on "customs-test" is closed'),
    );
    // Another process (the operator's CLI) finds the same token and keys.
    const status = await keysCli(['hsm-status'], hsm.env);
    expect(status.stderr).toBe('');
    expect(status.stdout).toContain(`SHA-256 of public key: ${masterFingerprint}`);
    expect(status.stdout).toContain('master key unwraps RSA-OAEP with SHA1 (self-test passed)');
    expect((await tokenStatus(config)).keys.map((key) => key.purpose)).toEqual([
      'master',
      'disclosure',
      'checkpoint',
    ]);
  });

  it('when the PIN is wrong, then opening stops with one line naming the token, never the PIN', async () => {
    const wrongPin = `${hsm.pin}9`;
    const wrong = { ...config, pin: { from: 'env', variable: 'PKCS11_PIN' } } as const;
    const line = 'PKCS#11 login failed for token "customs-test": wrong PIN (CKR_PIN_INCORRECT)';
    await expect(openPkcs11MasterKeyProvider(wrong, { PKCS11_PIN: wrongPin })).rejects.toThrow(
      new HsmError('HSM_LOGIN_FAILED', line),
    );

    const cli = await keysCli(['hsm-status'], {
      ...hsm.env,
      PKCS11_PIN_FILE: '',
      PKCS11_PIN: wrongPin,
    });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toBe(`keys: HsmError: ${line}\n`);
    expect(cli.stdout + cli.stderr).not.toContain(wrongPin);
  });

  it('when the service starts with KEY_PROVIDER=pkcs11, then the token wraps its keyring and a restart reads what was written', async () => {
    const DB_NAME = freshDatabaseName();
    // Its own KEYS_DIR: the access log's files of this token, apart from the run's.
    const KEYS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'hsm-app-keys-'));
    const first = await createTestApp({ ...serviceEnv(), DB_NAME, KEYS_DIR });
    const who = randomPerson();
    let identityId: string;
    let checkout: string;
    try {
      checkout = (await first.clientKey('checkout')).apiKey;
      identityId = (
        await first
          .http()
          .post('/v1/identities')
          .set(auth(checkout))
          .send(registration(who))
          .expect(201)
      ).body.identityId;
      const entries = await first.connection.collection('keyring').find().toArray();
      expect(entries.length).toBeGreaterThan(0);
      for (const entry of entries) {
        expect(entry.masterKeyFingerprint).toBe(masterFingerprint);
        // SoftHSM2's OAEP is SHA-1: the tagged form, one modulus plus four bytes.
        expect(Buffer.from(entry.wrapped as string, 'base64')).toHaveLength(384 + 4);
      }
      expect(first.logs.join('')).toMatch(
        /"keyProvider":"pkcs11".*"oaepHash":"sha1".*"keys loaded"/,
      );
    } finally {
      // stop, not close: close drops the test database, and the restart reads it.
      await first.stop();
      await first.connection.close();
    }
    const second = await createTestApp({ ...serviceEnv(), DB_NAME, KEYS_DIR });
    try {
      const exported = await second
        .http()
        .get(`/v1/identities/${identityId}/export`)
        .set(auth(checkout))
        .expect(200);
      expect(exported.body.idNumber).toBe(who.idNumber);
    } finally {
      await second.close();
      fs.rmSync(KEYS_DIR, { recursive: true, force: true });
    }
  });

  it("when the service runs with KEY_PROVIDER=pkcs11, then checkpoints verify with the token's Ed25519 key and partners get the token key's certificate", async () => {
    const { keys } = await tokenStatus(config);
    const checkpointKey = keys.find((key) => key.purpose === 'checkpoint');
    const disclosureKey = keys.find((key) => key.purpose === 'disclosure');
    if (!checkpointKey || 'missing' in checkpointKey) throw new Error('no checkpoint key');
    if (!disclosureKey || 'missing' in disclosureKey) throw new Error('no disclosure key');
    const tokenPublicKey = createPublicKey(checkpointKey.publicKeyPem);
    const spki = tokenPublicKey.export({ type: 'spki', format: 'der' });
    const KEYS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'hsm-app-keys-'));
    const app = await createTestApp({ ...serviceEnv(), KEYS_DIR });
    try {
      const auditor = (await app.clientKey('auditor')).apiKey;
      const head = (await app.http().get('/v1/audit-events/head').set(auth(auditor)).expect(200))
        .body;
      expect(head).toMatchObject({
        alg: 'Ed25519',
        keyId: `cp-${createHash('sha256').update(spki).digest('hex').slice(0, 16)}`,
      });
      const { gseq, prev, kind, stream, seq, hash, at, keyId } = head;
      const payload = Buffer.from(
        JSON.stringify({ at, gseq, hash, keyId, kind, prev, seq, stream }),
      );
      const signature = Buffer.from(head.signature, 'base64');
      expect(verify(null, payload, tokenPublicKey, signature)).toBe(true);
      // The auditor's copy in KEYS_DIR is the token's key, not the development file key beside it.
      const published = fs.readFileSync(path.join(KEYS_DIR, CHECKPOINT_PUBLIC_KEY_FILE), 'utf8');
      expect(verify(null, payload, published, signature)).toBe(true);
      const fileKey = fs.readFileSync(path.join(KEYS_DIR, CHECKPOINT_KEY_FILE), 'utf8');
      expect(verify(null, payload, createPublicKey(fileKey), signature)).toBe(false);

      // CMS and XML-DSig: the certificate partners pin is the token key's; no file key was made.
      const carrier = (await app.clientKey('carrier', 'SF')).apiKey;
      const served = await app.http().get('/v1/signing-certificate').set(auth(carrier)).expect(200);
      expect(new X509Certificate(served.text).fingerprint256).toBe(
        new X509Certificate(disclosureKey.certificatePem!).fingerprint256,
      );
      expect(fs.existsSync(path.join(KEYS_DIR, 'disclosure-signing'))).toBe(false);
    } finally {
      await app.close();
      fs.rmSync(KEYS_DIR, { recursive: true, force: true });
    }
  });

  it('when KEY_PROVIDER=pkcs11 lacks its settings or names another provider, then the configuration says so', () => {
    const production = {
      NODE_ENV: 'production',
      MONGODB_URI: 'mongodb://db.internal:27017/customs',
      ADMIN_API_KEY: 'a'.repeat(40),
    };
    expect(() => loadConfig({ ...production, KEY_PROVIDER: 'pkcs11' })).toThrow(
      new ConfigError(
        'invalid configuration: KEY_PROVIDER pkcs11 requires PKCS11_MODULE, PKCS11_TOKEN_LABEL and PKCS11_PIN_FILE',
      ),
    );
    expect(() => loadConfig({ NODE_ENV: 'test', KEY_PROVIDER: 'kms' })).toThrow(ConfigError);
    expect(loadConfig({ NODE_ENV: 'test' }).keyProvider).toBe('file');
  });

  it('when the service starts with a wrong PIN, then the start stops with one line, and src/main.ts exits 1 printing only it', async () => {
    const line = 'PKCS#11 login failed for token "customs-test": wrong PIN (CKR_PIN_INCORRECT)';
    const PKCS11_PIN_FILE = wrongPinFile();
    await expect(createTestApp(serviceEnv({ PKCS11_PIN_FILE }))).rejects.toThrow(
      new HsmError('HSM_LOGIN_FAILED', line),
    );

    const started = await startMain(serviceEnv({ PKCS11_PIN_FILE }));
    expect(started.code).toBe(1);
    expect(started.stderr).toBe(`failed to start: HsmError: ${line}\n`);
    expect(started.stdout + started.stderr).not.toContain(`${hsm.pin}9`);
    expect(started.stdout).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('when the module, the token, the PIN file or the key is missing, then one line says what to do', async () => {
    await expect(
      openPkcs11MasterKeyProvider({ ...config, module: '/nonexistent/libvendor-pkcs11.so' }),
    ).rejects.toThrow(
      'PKCS#11 module not found: /nonexistent/libvendor-pkcs11.so: install the HSM vendor library (SoftHSM2: apt-get install -y softhsm2) or fix PKCS11_MODULE',
    );
    await expect(
      openPkcs11MasterKeyProvider({ ...config, tokenLabel: 'no-such-token' }),
    ).rejects.toThrow(
      `PKCS#11 token "no-such-token" not found in ${config.module}: initialise it (SoftHSM2: softhsm2-util --init-token --free --label no-such-token) or fix PKCS11_TOKEN_LABEL`,
    );
    await expect(
      openPkcs11MasterKeyProvider({ ...config, pin: { from: 'file', file: '/nonexistent/pin' } }),
    ).rejects.toThrow(
      'PKCS#11 PIN file cannot be read: /nonexistent/pin (PKCS11_PIN_FILE): mount the secret or fix the path',
    );
    await expect(
      openPkcs11MasterKeyProvider({
        ...config,
        keyLabels: { ...config.keyLabels, master: 'not-generated' },
      }),
    ).rejects.toThrow(
      'PKCS#11 key "not-generated" not found on token "customs-test": create it with "npm run keys -- hsm-generate" or fix the key label',
    );
    // The session of a failed open is closed: the token still opens afterwards.
    const provider = await openPkcs11MasterKeyProvider(config);
    await provider.close();
  });

  it('when PKCS11_* settings are incomplete, then the configuration names the variable', () => {
    const base = { NODE_ENV: 'test', PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so' };
    expect(() => loadConfig(base)).toThrow(
      new ConfigError('invalid configuration: PKCS11_TOKEN_LABEL is required with PKCS11_MODULE'),
    );
    expect(() => loadConfig({ ...base, PKCS11_TOKEN_LABEL: 'hsm' })).toThrow(
      new ConfigError(
        'invalid configuration: PKCS11_PIN_FILE (or PKCS11_PIN) is required with PKCS11_MODULE',
      ),
    );
    expect(() =>
      loadConfig({ ...base, PKCS11_TOKEN_LABEL: 'hsm', PKCS11_PIN: 'x', PKCS11_PIN_FILE: '/p' }),
    ).toThrow(
      new ConfigError(
        'invalid configuration: PKCS11_PIN and PKCS11_PIN_FILE are both set: keep one (the file)',
      ),
    );
    expect(() => loadConfig({ NODE_ENV: 'test', PKCS11_TOKEN_LABEL: 'hsm' })).toThrow(
      new ConfigError('invalid configuration: PKCS11_MODULE is required when PKCS11_* is set'),
    );
    expect(loadConfig({ NODE_ENV: 'test' }).pkcs11).toBeNull();
    expect(
      loadConfig({ ...base, PKCS11_TOKEN_LABEL: 'hsm', PKCS11_PIN_FILE: '/run/secrets/pin' })
        .pkcs11,
    ).toEqual({
      module: '/usr/lib/softhsm/libsofthsm2.so',
      tokenLabel: 'hsm',
      pin: { from: 'file', file: '/run/secrets/pin' },
      keyLabels: {
        master: 'customs-identity-master',
        checkpoint: 'customs-identity-checkpoint',
        disclosure: 'customs-identity-disclosure',
      },
    });
  });
});
