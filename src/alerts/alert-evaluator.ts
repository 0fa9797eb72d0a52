import { createHash } from 'node:crypto';
import type { UnchainedEvent } from '../audit/audit-chain';
import type { Logger } from '../logger';
import type { AlertRules } from './alert-rules';
import type { AlertActor, AlertObservation, AlertRule, AlertsStore } from './alert-types';

/** Windows kept in memory at once; past it the oldest is forgotten (its alert, if any, stays). */
const MAX_WINDOWS = 10_000;
const DAY_MS = 86_400_000;
/** Beijing is UTC+8 all year (no daylight saving). */
const BEIJING_OFFSET_MS = 8 * 3_600_000;

/**
 * `_id` of the alert of a (rule, actor, window start): the same on every
 * instance. 22 base64url characters (132 bits): a long digit run that would
 * look like an id or phone number is vanishingly rare, unlike in hex.
 */
function alertIdOf(rule: AlertRule, actor: AlertActor, windowStart: Date): string {
  return createHash('sha256')
    .update(`${rule}\n${actor}\n${windowStart.toISOString()}`, 'utf8')
    .digest('base64url')
    .slice(0, 22);
}

interface Window {
  start: number;
  count: number;
  firstAt: Date;
  /** BULK_ACCESS only: distinct subjectRefs, at most threshold + 1. */
  subjects?: Set<string>;
}

/**
 * Evaluates the rules on each event as it is recorded, in memory: one window
 * per (rule, actor), counted here and nowhere else. A window past its
 * threshold becomes an alert document, written with the absolute count (the
 * store keeps the highest), never blocking the caller. Writes are coalesced
 * per alert: under a flood only the latest count of each is written.
 *
 * Windows are per instance: two instances behind a balancer each count the
 * events they recorded, and the stored count is the larger of theirs.
 */
export class AlertEvaluator {
  private readonly windows = new Map<string, Window>();
  private readonly dirty = new Map<string, AlertObservation>();
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly deps: {
      rules: AlertRules;
      store: Pick<AlertsStore, 'raise'>;
      logger: Logger;
      clock: () => Date;
    },
  ) {}

  /** An access-log event, once durably written. */
  observe(event: UnchainedEvent): void {
    const now = this.deps.clock();
    if (event.outcome === 'SUCCESS') {
      if (event.actor && event.subjectRef) {
        this.countSubject(event.actor.clientId, event.subjectRef, now);
      }
      if (event.actor && this.deps.rules.offHoursActions.has(event.action) && this.offHours(now)) {
        this.count('OFF_HOURS', event.actor.clientId, 1, now);
      }
      return;
    }
    // An event standing for aggregated refusals counts as many as it states.
    const refusals = event.repeat?.count ?? 1;
    this.count('REFUSAL_BURST', event.actor?.clientId ?? `ip:${event.sourceIp}`, refusals, now);
  }

  /** The key of a revoked client was presented (and refused). */
  revokedKeyPresented(clientId: string): void {
    this.count('REVOKED_KEY', clientId, 1, this.deps.clock());
  }

  /** A verification found the log not intact. */
  integrityFailed(): void {
    this.count('INTEGRITY_FAILURE', 'system', 1, this.deps.clock());
  }

  /** Resolves once every alert counted so far has been written (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private countSubject(actor: AlertActor, subjectRef: string, now: Date): void {
    const { threshold } = this.deps.rules.rules.BULK_ACCESS;
    const window = this.window('BULK_ACCESS', actor, now);
    window.subjects ??= new Set();
    if (window.subjects.has(subjectRef) || window.subjects.size > threshold) return;
    window.subjects.add(subjectRef);
    window.count = window.subjects.size;
    this.check('BULK_ACCESS', actor, window, now);
  }

  private count(rule: AlertRule, actor: AlertActor, by: number, now: Date): void {
    const window = this.window(rule, actor, now);
    window.count += by;
    this.check(rule, actor, window, now);
  }

  /** The current window of (rule, actor), a new one when the last has ended. */
  private window(rule: AlertRule, actor: AlertActor, now: Date): Window {
    const { windowMs } = this.deps.rules.rules[rule];
    const start = Math.floor(now.getTime() / windowMs) * windowMs;
    const key = `${rule}\n${actor}`;
    const current = this.windows.get(key);
    if (current && current.start === start) return current;
    this.windows.delete(key);
    if (this.windows.size >= MAX_WINDOWS) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
    const fresh: Window = { start, count: 0, firstAt: now };
    this.windows.set(key, fresh);
    return fresh;
  }

  private check(rule: AlertRule, actor: AlertActor, window: Window, now: Date): void {
    const { threshold, windowMs } = this.deps.rules.rules[rule];
    if (window.count <= threshold) return;
    const windowStart = new Date(window.start);
    const alertId = alertIdOf(rule, actor, windowStart);
    this.dirty.set(alertId, {
      alertId,
      rule,
      actor,
      count: window.count,
      windowStart,
      windowEnd: new Date(window.start + windowMs),
      firstAt: window.firstAt,
      lastAt: now,
    });
    this.flush();
  }

  private offHours(now: Date): boolean {
    const { startMinute, endMinute } = this.deps.rules.businessHours;
    const minute = Math.floor(
      ((((now.getTime() + BEIJING_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS) / 60_000,
    );
    return minute < startMinute || minute >= endMinute;
  }

  /** Writes the dirty alerts one at a time; a failed write is logged and dropped. */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = this.writeAll().finally(() => {
      this.flushing = null;
      if (this.dirty.size > 0) this.flush();
    });
  }

  private async writeAll(): Promise<void> {
    for (const [alertId, observation] of this.dirty) {
      this.dirty.delete(alertId);
      try {
        await this.deps.store.raise(observation);
      } catch (error) {
        // The window's next event writes its count again.
        this.deps.logger.warn(
          { errorClass: (error as Error)?.constructor?.name, rule: observation.rule },
          'security alert not written',
        );
      }
    }
  }
}
