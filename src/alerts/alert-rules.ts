/**
 * The rules' parameters (data/alert-rules.json), read and checked once when
 * the module loads: a malformed file stops the start.
 */
import Joi from 'joi';
import { AUDIT_ACTIONS, type AuditAction } from '../audit/audit-types';
import type { Config } from '../config';
import rulesFile from './data/alert-rules.json';
import { ALERT_RULES, type AlertRule } from './alert-types';

export interface RuleParameters {
  description: string;
  /** Fixed window the rule counts in, aligned to the epoch. */
  windowMs: number;
  /** An alert is raised when the window's count exceeds this. */
  threshold: number;
}

export interface AlertRules {
  rules: Record<AlertRule, RuleParameters>;
  /** OFF_HOURS: the actions it watches. */
  offHoursActions: ReadonlySet<AuditAction>;
  /** OFF_HOURS: business hours in Beijing time, minutes after midnight, [start, end). */
  businessHours: Config['alerts']['businessHours'];
}

const rule = (extra: Record<string, Joi.Schema> = {}) =>
  Joi.object({
    description: Joi.string().min(1).max(500).required(),
    windowMinutes: Joi.number().integer().min(1).max(1440).required(),
    threshold: Joi.number().integer().min(0).required(),
    ...extra,
  });

const schema = Joi.object({
  comment: Joi.string(),
  rules: Joi.object({
    // Its threshold is configuration (ALERT_BULK_SUBJECTS_PER_HOUR), not data.
    BULK_ACCESS: rule().keys({ threshold: Joi.forbidden() }),
    REFUSAL_BURST: rule(),
    OFF_HOURS: rule({
      actions: Joi.array()
        .items(Joi.string().valid(...AUDIT_ACTIONS))
        .min(1)
        .required(),
    }),
    REVOKED_KEY: rule(),
    INTEGRITY_FAILURE: rule(),
  }).required(),
});

interface RulesFile {
  rules: Record<
    AlertRule,
    { description: string; windowMinutes: number; threshold?: number; actions?: AuditAction[] }
  >;
}

/** The rules of the data file, with the configured BULK_ACCESS threshold and business hours. */
export function loadAlertRules(config: Config['alerts'], raw: unknown = rulesFile): AlertRules {
  const { value, error } = schema.validate(raw, { abortEarly: true });
  if (error) throw new Error(`invalid alert rules: ${error.details[0]?.path.join('.')}`);
  const file = value as RulesFile;
  const rules = Object.fromEntries(
    ALERT_RULES.map((name) => {
      const { description, windowMinutes, threshold } = file.rules[name];
      return [
        name,
        {
          description,
          windowMs: windowMinutes * 60_000,
          threshold: name === 'BULK_ACCESS' ? config.bulkSubjectsPerHour : (threshold ?? 0),
        },
      ];
    }),
  ) as Record<AlertRule, RuleParameters>;
  return {
    rules,
    offHoursActions: new Set(file.rules.OFF_HOURS.actions ?? []),
    businessHours: config.businessHours,
  };
}
