import { Presets, SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { createApp } from '../app';
import { loadConfig, type Config } from '../config';
import { createLogger } from '../logger';
import { positiveInteger, runProgram, say, withDatabase } from './cli-support';

/**
 * Quota maintenance: `migrate` gives identities registered before person
 * keys their key and moves their ledgers onto their person's (idempotent,
 * resumable); `status` says how many are left. `npm run quota -- <command>`.
 */

async function migrate(config: Config, options: { batchSize: number; progress: boolean }) {
  await withDatabase(config, async (connection) => {
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    const built = createApp({ config, connection, logger, maintenance: true });
    await built.start();
    const bar = new SingleBar(
      {
        format: 'person keys [{bar}] {percentage}% | {value}/{total} identities',
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    try {
      const total = await built.quotaMigration.pending();
      say(`${total} identit${total === 1 ? 'y' : 'ies'} without a person key`);
      if (options.progress && total > 0) bar.start(total, 0);
      const report = await built.quotaMigration.run({
        batchSize: options.batchSize,
        runId: randomUUID(),
        onIdentity: (done) => {
          if (options.progress) bar.update(done);
        },
      });
      if (options.progress && total > 0) bar.stop();
      say(
        `migrated: ${report.identities} identities; ${report.entries} ledger entries over ` +
          `${report.years} ledger-years and ${report.orders} orders moved onto person ledgers`,
      );
    } finally {
      bar.stop();
      await built.stop();
    }
  });
}

async function status(config: Config) {
  await withDatabase(config, async (connection) => {
    const logger = createLogger('warn');
    const built = createApp({ config, connection, logger, maintenance: true });
    await built.start();
    try {
      say(`identities without a person key: ${await built.quotaMigration.pending()}`);
    } finally {
      await built.stop();
    }
  });
}

export function buildProgram(): Command {
  const program = new Command('quota').description('Quota ledger maintenance');
  program.showHelpAfterError();
  program
    .command('migrate')
    .description(
      "Key every identity's quota by its person and move its own ledgers there (idempotent; run with the service stopped)",
    )
    .option('--batch-size <n>', 'identities per batch', positiveInteger, 200)
    .option('--no-progress', 'no progress bar')
    .action((options: { batchSize: number; progress: boolean }) => migrate(loadConfig(), options));
  program
    .command('status')
    .description('How many identities still have no person key')
    .action(() => status(loadConfig()));
  return program;
}

if (require.main === module) runProgram('quota', buildProgram());
