import { Presets, SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import type { Connection } from 'mongoose';
import { loadConfig, type Config } from '../config';
import { createCryptoModule } from '../crypto/crypto-module';
import { rotateKeyEncryptionKey } from '../crypto/key-rotation';
import { algorithmOf } from '../crypto/keyring';
import { createKeyringStore } from '../crypto/keyring-store';
import { rotateMasterKey, type MasterKeyRotationStep } from '../crypto/master-key-rotation';
import { fileMasterKeyVersions } from '../crypto/master-key-set';
import { tokenMasterKeyVersions } from '../crypto/pkcs11/pkcs11-master-key-versions';
import {
  DEFAULT_MASTER_KEY_BITS,
  generateMasterKeyFiles,
  MIN_MASTER_KEY_BITS,
} from '../crypto/master-key';
import { DEFAULT_PKCS11_KEY_LABELS, type Pkcs11KeyPurpose } from '../crypto/pkcs11/pkcs11-config';
import {
  generateTokenKey,
  tokenStatus,
  type TokenKeyReport,
} from '../crypto/pkcs11/pkcs11-ceremony';
import { createLogger } from '../logger';
import { moveProfile, type MoveProfileOptions } from './keys-move-profile';
import { positiveInteger, runProgram, say, stopOnInterrupt, withDatabase } from './cli-support';

/**
 * Key management: `generate` writes a development master key pair,
 * `rotate` moves every data key to a new key-encryption key version,
 * `rotate-master` moves the keyring to a new master key version and destroys
 * the old one, `move-profile` moves stored fields and blind indexes to the
 * current CRYPTO_PROFILE, `status` shows the keyring, `hsm-generate` / `hsm-status` are
 * the HSM key ceremony (docs/key-management.md). Run with `npm run keys -- <command>`.
 */

function openCrypto(config: Config, connection: Connection) {
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  return createCryptoModule({ connection, logger }, { ...config, reportsKeyring: false });
}

async function rotate(
  config: Config,
  options: { batchSize: number; progress: boolean },
): Promise<void> {
  await withDatabase(config, async (connection) => {
    const crypto = openCrypto(config, connection);
    await crypto.ensureIndexes();
    await crypto.start();
    const interrupt = stopOnInterrupt('stopping after this batch; run rotate again to resume');
    const bar = new SingleBar(
      { format: 're-wrapping data keys [{bar}] {percentage}% | {value}/{total}', hideCursor: true },
      Presets.shades_classic,
    );
    try {
      const result = await rotateKeyEncryptionKey(
        { keyring: crypto.keyring, subjectKeys: crypto.subjectKeys },
        {
          batchSize: options.batchSize,
          onStart({ toVersion, fromVersions, total, resumed }) {
            say(
              `${resumed ? 'resuming' : 'starting'} rotation: KEK v${fromVersions.join(', v') || '-'} -> v${toVersion}, ` +
                `${total} data key(s) to re-wrap`,
            );
            if (options.progress) bar.start(total, 0);
          },
          onBatch({ done }) {
            if (options.progress) bar.update(done);
            interrupt.checkpoint();
          },
        },
      );
      if (options.progress) bar.stop();
      say(
        `rotated: ${result.rewrapped} data key(s) now under KEK v${result.toVersion}; ` +
          `retired v${result.retiredVersions.join(', v') || '-'}`,
      );
    } catch (error) {
      if (options.progress) bar.stop();
      throw error;
    } finally {
      interrupt.dispose();
      await crypto.stop();
    }
  });
}

/** Each step as one structured log line (JSON, stdout): the CLI has no access log at hand. */
function logStep(logger: ReturnType<typeof createLogger>, step: MasterKeyRotationStep): void {
  if (step.step === 'entry-rewrapped') {
    logger.debug({ event: `master-key.${step.step}`, ...step }, 'master key rotation step');
  } else {
    logger.info({ event: `master-key.${step.step}`, ...step }, 'master key rotation step');
  }
}

async function rotateMaster(config: Config, options: { progress: boolean }): Promise<void> {
  const versions =
    config.keyProvider === 'pkcs11'
      ? tokenMasterKeyVersions(requirePkcs11(config))
      : fileMasterKeyVersions(config.keysDir);
  await withDatabase(config, async (connection) => {
    const store = createKeyringStore(connection);
    await store.ensureIndexes();
    const logger = createLogger(config.logLevel);
    const interrupt = stopOnInterrupt(
      'stopping after this entry; run rotate-master again to resume',
    );
    const bar = new SingleBar(
      {
        format: 're-wrapping keyring entries [{bar}] {percentage}% | {value}/{total}',
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    try {
      const result = await rotateMasterKey(
        { versions, store },
        {
          onStep: (step) => logStep(logger, step),
          onStart({ toVersion, fromVersions, total, resumed }) {
            say(
              `${resumed ? 'resuming' : 'starting'} master key rotation: v${fromVersions.join(', v')} -> v${toVersion}, ` +
                `${total} keyring entr${total === 1 ? 'y' : 'ies'} to re-wrap`,
            );
            if (options.progress) bar.start(total, 0);
          },
          onProgress({ done }) {
            if (options.progress) bar.update(done);
            interrupt.checkpoint();
          },
        },
      );
      if (options.progress) bar.stop();
      say(
        `rotated: ${result.verified} keyring entr${result.verified === 1 ? 'y' : 'ies'} verified under master key v${result.toVersion} ` +
          `(SHA-256 of public key ${result.fingerprint}); destroyed v${result.destroyedVersions.join(', v')}`,
      );
      say('restart every instance so none keeps the destroyed key in memory');
    } catch (error) {
      if (options.progress) bar.stop();
      throw error;
    } finally {
      interrupt.dispose();
    }
  });
}

async function status(config: Config): Promise<void> {
  await withDatabase(config, async (connection) => {
    const crypto = openCrypto(config, connection);
    await crypto.ensureIndexes();
    await crypto.start();
    try {
      for (const entry of await createKeyringStore(connection).list()) {
        say(
          `${entry.purpose} v${entry.version}: ${entry.status} ${algorithmOf(entry)} (created ${entry.createdAt.toISOString()}, ` +
            `master key ${entry.masterKeyFingerprint.slice(0, 16)}...)`,
        );
      }
      const current = crypto.keyring.currentKek().version;
      say(
        `data keys still under an older KEK than v${current}: ${await crypto.subjectKeys.countWrappedBefore(current)}`,
      );
    } finally {
      await crypto.stop();
    }
  });
}

function requirePkcs11(config: Config) {
  if (!config.pkcs11) {
    throw new Error(
      'PKCS11_MODULE is not set: set PKCS11_MODULE, PKCS11_TOKEN_LABEL and PKCS11_PIN_FILE (docs/key-management.md)',
    );
  }
  return config.pkcs11;
}

function keyPurpose(value: string): Pkcs11KeyPurpose {
  if (!Object.hasOwn(DEFAULT_PKCS11_KEY_LABELS, value)) {
    throw new InvalidArgumentError(`one of ${Object.keys(DEFAULT_PKCS11_KEY_LABELS).join(', ')}`);
  }
  return value as Pkcs11KeyPurpose;
}

const ALGORITHM_NAMES: Record<TokenKeyReport['algorithm'], string> = {
  'rsa-oaep': 'RSA-3072, RSA-OAEP key wrapping',
  'rsa-pkcs1-sha256': 'RSA-3072, RSASSA-PKCS1-v1_5 SHA-256 signatures',
  ed25519: 'Ed25519 signatures',
};

function sayKey(key: TokenKeyReport): void {
  const { protection } = key;
  say(`${key.purpose} key "${key.label}": ${ALGORITHM_NAMES[key.algorithm]}`);
  say(`  SHA-256 of public key: ${key.fingerprint}`);
  say(
    `  CKA_SENSITIVE ${protection.sensitive}, CKA_EXTRACTABLE ${protection.extractable}, ` +
      `CKA_NEVER_EXTRACTABLE ${protection.neverExtractable}, CKA_LOCAL (generated in the token) ${protection.local}`,
  );
}

async function hsmGenerate(config: Config, purpose: Pkcs11KeyPurpose): Promise<void> {
  const pkcs11 = requirePkcs11(config);
  const key = await generateTokenKey(pkcs11, purpose);
  say(`generated in token "${pkcs11.tokenLabel}" (the private key never leaves it):`);
  sayKey(key);
  process.stdout.write(key.publicKeyPem);
  if (key.certificatePem) process.stdout.write(key.certificatePem);
}

async function hsmStatus(config: Config): Promise<void> {
  const pkcs11 = requirePkcs11(config);
  const status = await tokenStatus(pkcs11);
  const { token } = status;
  say(`token "${token.label}": ${token.manufacturer} ${token.model}, serial ${token.serialNumber}`);
  for (const key of status.keys) {
    if ('missing' in key)
      say(`${key.purpose} key "${key.label}": missing (hsm-generate --key ${key.purpose})`);
    else sayKey(key);
  }
  if (status.masterOaepHash) {
    say(
      `master key unwraps RSA-OAEP with ${status.masterOaepHash.toUpperCase()} (self-test passed)`,
    );
  }
}

export function buildProgram(): Command {
  const program = new Command('keys').description(
    'Key management for the customs identity service',
  );
  program.showHelpAfterError();
  program
    .command('generate')
    .description(
      'Write a master RSA key pair (PKCS#8 PEM) and a self-signed certificate into KEYS_DIR',
    )
    .option(
      '--bits <n>',
      `RSA modulus size (>= ${MIN_MASTER_KEY_BITS})`,
      positiveInteger,
      DEFAULT_MASTER_KEY_BITS,
    )
    .option(
      '--force',
      'overwrite an existing master key (makes data wrapped by it unreadable)',
      false,
    )
    .action((options: { bits: number; force: boolean }) => {
      const config = loadConfig();
      const { fingerprint, files } = generateMasterKeyFiles(config.keysDir, options);
      say(`master key written (SHA-256 of public key ${fingerprint}):`);
      for (const file of files) say(`  ${file}`);
      if (config.env === 'production')
        say('production: keep the private key file readable by the service only');
    });
  program
    .command('rotate')
    .description(
      'Create a new KEK version, re-wrap every data key under it, retire the old version (resumable)',
    )
    .option('--batch-size <n>', 'data keys per batch', positiveInteger, 500)
    .option('--no-progress', 'no progress bar')
    .action((options: { batchSize: number; progress: boolean }) => rotate(loadConfig(), options));
  program
    .command('rotate-master')
    .description(
      'Create a new master key version, re-wrap every keyring entry under it, verify, then destroy the old version (resumable)',
    )
    .option('--no-progress', 'no progress bar')
    .action((options: { progress: boolean }) => rotateMaster(loadConfig(), options));
  program
    .command('move-profile')
    .description(
      'After rotate: re-seal every stored field and re-key the blind indexes under CRYPTO_PROFILE, with the service running (resumable)',
    )
    .option('--batch-size <n>', 'records per batch', positiveInteger, 200)
    .option(
      '--service-stopped',
      'no instance is running: do not wait 2 x KEYRING_REFRESH_MS after each keyring change',
      false,
    )
    .option('--no-progress', 'no progress bar')
    .action((options: MoveProfileOptions) => moveProfile(loadConfig(), options));
  program
    .command('status')
    .description('Show keyring versions and how many data keys a rotation has left')
    .action(() => status(loadConfig()));
  program
    .command('hsm-generate')
    .description(
      'Generate a key pair inside the PKCS#11 token (non-extractable) and print its fingerprint, public key and certificate',
    )
    .option('--key <purpose>', 'master, checkpoint or disclosure', keyPurpose, 'master')
    .action((options: { key: Pkcs11KeyPurpose }) => hsmGenerate(loadConfig(), options.key));
  program
    .command('hsm-status')
    .description("Show the token, the service's keys in it and how they are protected")
    .action(() => hsmStatus(loadConfig()));
  return program;
}

if (require.main === module) runProgram('keys', buildProgram());
