import { Presets, SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { createApp } from '../app';
import { loadConfig, type Config } from '../config';
import { createLogger } from '../logger';
import { positiveInteger, runProgram, say, withDatabase } from './cli-support';

/**
 * `npm run retention -- --dry-run|--apply`: one pass of the retention job
 * (docs/privacy-lifecycle.md). A dry run (the default) counts what would be
 * erased, destroyed and anonymised and changes nothing. Idempotent and
 * resumable: an interrupted pass is finished by running it again.
 */

interface RetentionOptions {
  apply: boolean;
  dryRun: boolean;
  batchSize: number;
  progress: boolean;
}

async function run(config: Config, options: RetentionOptions) {
  if (options.apply && options.dryRun) throw new Error('choose --dry-run or --apply, not both');
  const dryRun = !options.apply;
  await withDatabase(config, async (connection) => {
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    const built = createApp({ config, connection, logger, maintenance: true });
    await built.start();
    const bar = new SingleBar(
      { format: 'retention [{bar}] {percentage}% | {value}/{total} examined', hideCursor: true },
      Presets.shades_classic,
    );
    let started = false;
    try {
      say(dryRun ? 'dry run: nothing is changed' : 'applying retention');
      const report = await built.retention.runRetention({
        dryRun,
        now: new Date(),
        batchSize: options.batchSize,
        onProgress: (done, total) => {
          if (!options.progress) return;
          if (!started) bar.start(total, 0);
          started = true;
          bar.setTotal(total);
          bar.update(done);
        },
      });
      if (started) bar.stop();
      say(
        `${dryRun ? 'would erase' : 'erased'}: ${report.identitiesErased} identities; ` +
          `holds destroyed: ${report.holdsDestroyed}; orders anonymised: ${report.recordsAnonymised} ` +
          `(${report.examined} examined)`,
      );
    } finally {
      bar.stop();
      await built.stop();
    }
  });
}

export function buildProgram(): Command {
  const program = new Command('retention')
    .description(
      'Erase inactive identities and end legal holds past their period (dry run by default)',
    )
    .option('--dry-run', 'count only, change nothing (the default)', false)
    .option('--apply', 'erase, destroy and anonymise', false)
    .option('--batch-size <n>', 'identities or holds per batch', positiveInteger, 200)
    .option('--no-progress', 'no progress bar')
    .showHelpAfterError()
    .action((options: RetentionOptions) => run(loadConfig(), options));
  return program;
}

if (require.main === module) runProgram('retention', buildProgram());
