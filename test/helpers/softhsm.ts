import { spawnSync } from 'node:child_process';
import { randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';
import type { Pkcs11Config } from '../../src/crypto/pkcs11/pkcs11-config';
import { DEFAULT_PKCS11_KEY_LABELS } from '../../src/crypto/pkcs11/pkcs11-config';
import { openPkcs11Token } from '../../src/crypto/pkcs11/pkcs11-token';

/** Debian's path; SOFTHSM2_MODULE overrides it on other systems. */
export const SOFTHSM2_MODULE = process.env.SOFTHSM2_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  /** The provider's configuration for this token, the PIN given as PKCS11_PIN_FILE. */
  config: Pkcs11Config;
  pin: string;
  /** Environment for a child process (the CLI): SOFTHSM2_CONF and the PKCS11_* variables. */
  env: NodeJS.ProcessEnv;
  /** The temporary directory (configuration, token files, PIN file). */
  dir: string;
  /** Deletes the token and gives SOFTHSM2_CONF back its earlier value (the run's own token). */
  remove(): Promise<void>;
}

/** Fails (never skips) when SoftHSM2 is not installed, saying how to install it. */
function requireSoftHsm(): void {
  const util = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' });
  if (util.error || util.status !== 0 || !fs.existsSync(SOFTHSM2_MODULE)) {
    throw new Error(
      `SoftHSM2 is missing (softhsm2-util or ${SOFTHSM2_MODULE}): install it with "apt-get install -y softhsm2"`,
    );
  }
}

/**
 * Sets a variable in the process's real environment. jest gives each test
 * file a copy of process.env, but the SoftHSM2 library reads the real one
 * (getenv("SOFTHSM2_CONF") at C_Initialize); a worker sharing the environment
 * (SHARE_ENV) writes through to it.
 */
async function setRealEnvironment(name: string, value: string): Promise<void> {
  const worker = new Worker(
    'process.env[require("worker_threads").workerData.name] = require("worker_threads").workerData.value',
    {
      eval: true,
      env: SHARE_ENV,
      workerData: { name, value },
    },
  );
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
}

/**
 * A fresh SoftHSM2 token in a temporary directory: its own softhsm2.conf
 * (tokendir inside the directory), pointed at by SOFTHSM2_CONF in this
 * process's real environment and in `env` (for a child process), so nothing
 * depends on the machine's tokens.
 */
export async function createSoftHsmToken(tokenLabel = 'customs-test'): Promise<SoftHsmToken> {
  requireSoftHsm();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'softhsm-'));
  const tokenDir = path.join(dir, 'tokens');
  fs.mkdirSync(tokenDir);
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(
    conf,
    `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  const pin = randomBytes(6).toString('hex');
  const soPin = randomBytes(6).toString('hex');
  const init = spawnSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', tokenLabel, '--so-pin', soPin, '--pin', pin],
    { env: { ...process.env, SOFTHSM2_CONF: conf }, encoding: 'utf8' },
  );
  if (init.status !== 0) throw new Error(`softhsm2-util --init-token failed: ${init.stderr}`);
  const pinFile = path.join(dir, 'pin');
  fs.writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  const earlierConf = process.env.SOFTHSM2_CONF;
  await setRealEnvironment('SOFTHSM2_CONF', conf);
  return {
    config: {
      module: SOFTHSM2_MODULE,
      tokenLabel,
      pin: { from: 'file', file: pinFile },
      keyLabels: { ...DEFAULT_PKCS11_KEY_LABELS },
    },
    pin,
    env: {
      SOFTHSM2_CONF: conf,
      PKCS11_MODULE: SOFTHSM2_MODULE,
      PKCS11_TOKEN_LABEL: tokenLabel,
      PKCS11_PIN_FILE: pinFile,
    },
    dir,
    async remove() {
      fs.rmSync(dir, { recursive: true, force: true });
      if (earlierConf) await setRealEnvironment('SOFTHSM2_CONF', earlierConf);
    },
  };
}

/**
 * Imports an existing RSA key pair into the token as a sensitive,
 * non-extractable pair under `label`: how a file master key would move into
 * an HSM, used here to show the same key wraps and unwraps across providers.
 */
export async function importRsaKeyPair(
  config: Pkcs11Config,
  label: string,
  privateKey: KeyObject,
): Promise<void> {
  const jwk = privateKey.export({ format: 'jwk' });
  const bytes = (value: string | undefined) => Buffer.from(value!, 'base64url');
  const id = randomBytes(16);
  const common = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
    { type: pkcs11js.CKA_MODULUS, value: bytes(jwk.n) },
    { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: bytes(jwk.e) },
  ];
  const token = openPkcs11Token(config);
  try {
    await token.run(({ pkcs11, session }) => {
      pkcs11.C_CreateObject(session, [
        ...common,
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
      ]);
      pkcs11.C_CreateObject(session, [
        ...common,
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_PRIVATE_EXPONENT, value: bytes(jwk.d) },
        { type: pkcs11js.CKA_PRIME_1, value: bytes(jwk.p) },
        { type: pkcs11js.CKA_PRIME_2, value: bytes(jwk.q) },
        { type: pkcs11js.CKA_EXPONENT_1, value: bytes(jwk.dp) },
        { type: pkcs11js.CKA_EXPONENT_2, value: bytes(jwk.dq) },
        { type: pkcs11js.CKA_COEFFICIENT, value: bytes(jwk.qi) },
      ]);
    });
  } finally {
    await token.close();
  }
}
