/** The rules the evaluator knows; their parameters live in data/alert-rules.json. */
export const ALERT_RULES = [
  'BULK_ACCESS',
  'REFUSAL_BURST',
  'OFF_HOURS',
  'REVOKED_KEY',
  'INTEGRITY_FAILURE',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export const ALERT_STATUSES = ['OPEN', 'ACKNOWLEDGED'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/**
 * Who an alert is about: a client id; `ip:<address>` for refusals of
 * requests no client was authenticated for; `system` for the log itself.
 */
export type AlertActor = string;

/** One alert: a rule's count for one actor in one fixed window, and its review state. */
export interface Alert {
  alertId: string;
  rule: AlertRule;
  actor: AlertActor;
  /** What the rule counts: distinct subjects (BULK_ACCESS), refusals, accesses, presentations. */
  count: number;
  windowStart: Date;
  windowEnd: Date;
  /** When the window's first counted event was seen, and its latest one. */
  firstAt: Date;
  lastAt: Date;
  status: AlertStatus;
  /** Client id of the auditor who acknowledged it, when, and why. */
  acknowledgedBy: string | null;
  acknowledgedAt: Date | null;
  reason: string | null;
}

/** What the evaluator hands the store: the latest count of a window past its threshold. */
export type AlertObservation = Pick<
  Alert,
  'alertId' | 'rule' | 'actor' | 'count' | 'windowStart' | 'windowEnd' | 'firstAt' | 'lastAt'
>;

export interface AlertFilter {
  /** Alerts whose window ends after `from` and starts before `to`. */
  from?: Date;
  to?: Date;
  status?: AlertStatus;
  limit: number;
}

export interface Acknowledgement {
  by: string;
  at: Date;
  reason: string;
}

/** Persistence of alerts (`audit_alerts`): plain values in, plain values out. */
export interface AlertsStore {
  ensureIndexes(): Promise<void>;
  /**
   * Creates the alert, or raises its count and last time. Monotonic: a write
   * with a lower (count, lastAt) than the stored one changes nothing, so
   * writes arriving out of order never lower a count. Never touches the state.
   */
  raise(observation: AlertObservation): Promise<void>;
  find(alertId: string): Promise<Alert | null>;
  /** Oldest window first. */
  list(filter: AlertFilter): Promise<Alert[]>;
  /** OPEN -> ACKNOWLEDGED; false when the alert was not OPEN (or is gone). */
  acknowledge(alertId: string, acknowledgement: Acknowledgement): Promise<boolean>;
  countOpen(rule: AlertRule): Promise<number>;
}
