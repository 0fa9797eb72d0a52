import { Presets, SingleBar } from 'cli-progress';
import { Command } from 'commander';
import type { Connection } from 'mongoose';
import { loadConfig, type Config } from '../config';
import { createCryptoModule } from '../crypto/crypto-module';
import { rotateKeyEncryptionKey } from '../crypto/key-rotation';
import { createKeyringStore } from '../crypto/keyring-store';
import {
  DEFAULT_MASTER_KEY_BITS,
  generateMasterKeyFiles,
  MIN_MASTER_KEY_BITS,
} from '../crypto/master-key';
import { createLogger } from '../logger';
import { positiveInteger, runProgram, say, withDatabase } from './cli-support';

/**
 * Key management: `generate` writes a development master key pair,
 * `rotate` moves every data key to a new key-encryption key version,
 * `status` shows the keyring. Run with `npm run keys -- <command>`.
 */

function openCrypto(config: Config, connection: Connection) {
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  return createCryptoModule({ connection, logger }, config);
}

async function rotate(
  config: Config,
  options: { batchSize: number; progress: boolean },
): Promise<void> {
  await withDatabase(config, async (connection) => {
    const crypto = openCrypto(config, connection);
    await crypto.ensureIndexes();
    await crypto.start();
    let interrupted = false;
    const onSignal = () => {
      interrupted = true;
      say('\ninterrupt: stopping after this batch; run rotate again to resume');
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
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
            if (interrupted) throw new Error('interrupted');
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
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      await crypto.stop();
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
          `${entry.purpose} v${entry.version}: ${entry.status} (created ${entry.createdAt.toISOString()})`,
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
    .command('status')
    .description('Show keyring versions and how many data keys a rotation has left')
    .action(() => status(loadConfig()));
  return program;
}

if (require.main === module) runProgram('keys', buildProgram());
