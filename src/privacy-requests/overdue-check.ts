import { Gauge, type Metric } from 'prom-client';
import type { Logger } from '../logger';
import type { OverdueCheck, PrivacyRequestsStore } from './privacy-requests-types';

/** Alerts claimed per store read; a check reads again until none are left. */
const ALERT_PAGE = 200;

export interface OverdueChecker {
  /**
   * Counts OPEN and overdue requests at `now` into the gauges, and logs one
   * warning per request newly overdue (its id and kind, nothing else).
   */
  checkOverdue(now: Date): Promise<OverdueCheck>;
  /** `privacy_requests_open`, `_overdue` and `_checked_timestamp_seconds`, for the app's registry. */
  metrics: Metric[];
}

export function createOverdueChecker({
  store,
  logger,
}: {
  store: PrivacyRequestsStore;
  logger: Logger;
}): OverdueChecker {
  // Registered by the app on its own registry (one per app), not on prom-client's global one.
  const open = new Gauge({
    name: 'privacy_requests_open',
    help: "Privacy requests (a person's access, copy, correction, deletion, withdrawal) not yet answered",
    registers: [],
  });
  const overdue = new Gauge({
    name: 'privacy_requests_overdue',
    help: 'Privacy requests not answered by their due date (15 days); page on > 0',
    registers: [],
  });

  // A check that keeps failing leaves the two above stale: alert on this one's age as well.
  const checkedAt = new Gauge({
    name: 'privacy_requests_checked_timestamp_seconds',
    help: 'When the overdue check of privacy requests last succeeded (Unix time)',
    registers: [],
  });

  return {
    metrics: [open, overdue, checkedAt],
    async checkOverdue(now) {
      const newlyOverdue = await alertNewlyOverdue(store, logger, now);
      const counts = {
        open: await store.count({ status: 'OPEN' }),
        overdue: await store.count({ overdueAt: now }),
      };
      open.set(counts.open);
      overdue.set(counts.overdue);
      checkedAt.set(now.getTime() / 1000);
      return { ...counts, newlyOverdue };
    },
  };
}

/** One warning line per request that became overdue, claimed so that one instance logs it. */
async function alertNewlyOverdue(
  store: PrivacyRequestsStore,
  logger: Logger,
  now: Date,
): Promise<number> {
  let alerted = 0;
  for (;;) {
    const due = await store.findUnalertedOverdue(now, ALERT_PAGE);
    for (const { requestId, kind } of due) {
      if (!(await store.claimOverdueAlert(requestId, now))) continue;
      alerted += 1;
      logger.warn(
        { privacyRequestId: requestId, kind },
        'privacy request overdue: not answered within 15 days',
      );
    }
    if (due.length < ALERT_PAGE) return alerted;
  }
}

/**
 * Runs the check now and every `intervalMs`, one at a time; a failed check is
 * logged and the next one tries again. `stop` waits for a running check.
 */
export function createOverdueSchedule({
  checker,
  clock,
  logger,
  intervalMs,
}: {
  checker: Pick<OverdueChecker, 'checkOverdue'>;
  clock: () => Date;
  logger: Logger;
  intervalMs: number;
}): { start(): void; stop(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let checking: Promise<unknown> | null = null;
  const checkNow = () => {
    if (checking) return;
    checking = checker
      .checkOverdue(clock())
      .catch((error: unknown) =>
        logger.warn(
          { errorClass: (error as Error)?.constructor?.name },
          'privacy request overdue check failed',
        ),
      )
      .finally(() => {
        checking = null;
      });
  };
  return {
    start() {
      if (timer) return;
      timer = setInterval(checkNow, intervalMs);
      timer.unref();
      // The gauges are right from the start, not one interval later.
      checkNow();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await checking;
    },
  };
}
