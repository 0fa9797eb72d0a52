import { Presets, SingleBar } from 'cli-progress';
import { randomUUID } from 'node:crypto';
import { createApp } from '../app';
import type { Config } from '../config';
import type { ProfileMoveStep } from '../crypto/profile-move';
import { createLogger } from '../logger';
import { say, stopOnInterrupt, withDatabase } from './cli-support';

export interface MoveProfileOptions {
  batchSize: number;
  /** No instance runs: no wait after a keyring change. Otherwise twice KEYRING_REFRESH_MS. */
  serviceStopped: boolean;
  progress: boolean;
}

/** Each step as one structured log line (JSON, stdout), beside the access events of the reads. */
function logStep(logger: ReturnType<typeof createLogger>, step: ProfileMoveStep): void {
  logger.info({ event: `profile-move.${step.step}`, ...step }, 'profile move step');
}

/**
 * `npm run keys -- move-profile`: stored fields re-sealed and blind indexes
 * re-keyed under CRYPTO_PROFILE, with the service running (src/crypto/profile-move.ts).
 */
export async function moveProfile(config: Config, options: MoveProfileOptions): Promise<void> {
  await withDatabase(config, async (connection) => {
    const logger = createLogger(config.logLevel);
    const built = createApp({ config, connection, logger, maintenance: true });
    await built.start();
    const interrupt = stopOnInterrupt(
      'stopping after this record; run move-profile again to resume',
    );
    const bar = new SingleBar(
      { format: '{source} [{bar}] {percentage}% | {value}/{total}', hideCursor: true },
      Presets.shades_classic,
    );
    try {
      say(`moving stored data to the ${config.cryptoProfile} profile`);
      const report = await built.profileMove.run({
        runId: randomUUID(),
        batchSize: options.batchSize,
        // Running instances report what they hold; this bounds requests already under way.
        settleMs: options.serviceStopped ? 0 : Math.max(config.keyringRefreshMs, 1000) * 2,
        onStep: (step) => logStep(logger, step),
        onSource(source, total) {
          if (!options.progress) return;
          bar.stop();
          bar.start(total, 0, { source });
        },
        onRecord(_source, scanned) {
          if (options.progress) bar.update(scanned);
          interrupt.checkpoint();
        },
      });
      bar.stop();
      for (const r of report.reports) {
        say(
          `${r.label}: ${r.scanned} scanned, ${r.moved} moved, ${r.erased} erased (left sealed), ` +
            `${r.unreadable} unreadable, ${r.changed} changed meanwhile, ${r.conflicts} refused by a unique index`,
        );
        // Two active registrations of one person by one user: ids only (docs/cryptography.md).
        if (r.conflictIds.length > 0) say(`  refused: ${r.conflictIds.join(', ')}`);
        if (r.unreadableIds.length > 0) say(`  unreadable: ${r.unreadableIds.join(', ')}`);
      }
      if (report.left > 0) {
        say(`${report.left} record(s) not moved yet: run move-profile again`);
        process.exitCode = 1;
        return;
      }
      const retired = Object.entries(report.retired)
        .filter(([, versions]) => versions.length > 0)
        .map(([purpose, versions]) => `${purpose} v${versions.join(', v')}`);
      say(
        `done: everything stored is in the ${config.cryptoProfile} profile; retired ${retired.join('; ') || 'nothing'}`,
      );
    } finally {
      bar.stop();
      interrupt.dispose();
      await built.stop();
    }
  });
}
