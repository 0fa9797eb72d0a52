import fs from 'node:fs';
import Joi from 'joi';
import { beijingDayStart } from '../beijing-time';
import bundledPolicy from './data/cbec-policy.json';
import { parseDecimal, type Fraction } from './money';

/**
 * The CBEC retail import policy as dated data: per-order and annual limits,
 * the within-limit tax share, the return window and tax rates per goods
 * category. Read and validated once at start-up; a bad file stops the start.
 */

export interface Limits {
  effectiveFrom: Date;
  perOrderFen: number;
  annualFen: number;
}

export interface CategoryRates {
  effectiveFrom: Date;
  vat: Fraction;
  consumption: Fraction;
  /** Applied only when an order is taxed in full (the single-item exception). */
  tariff: Fraction;
}

export interface CbecPolicy {
  defaultCategory: string;
  returnWindowDays: number;
  categoryNames(): string[];
  limitsAt(instant: Date): Limits;
  /** Share of VAT and consumption tax charged within the limits (0.7). */
  withinLimitShareAt(instant: Date): Fraction;
  ratesAt(category: string, instant: Date): CategoryRates;
}

export class PolicyError extends Error {}

const day = Joi.string()
  .pattern(/^\d{4}-\d{2}-\d{2}$/)
  .required();
const rate = Joi.string()
  .pattern(/^(0(\.\d{1,6})?|1)$/)
  .required();
const dated = (entry: Joi.ObjectSchema) =>
  Joi.array().items(entry).min(1).required().custom(ascendingDates, 'ascending effective dates');

const schema = Joi.object({
  comment: Joi.string(),
  limits: dated(
    Joi.object({
      effectiveFrom: day,
      perOrderFen: Joi.number().integer().min(1).required(),
      annualFen: Joi.number().integer().min(1).required(),
      source: Joi.string(),
    }),
  ),
  withinLimitTaxShare: dated(Joi.object({ effectiveFrom: day, share: rate, source: Joi.string() })),
  returnWindowDays: Joi.number().integer().min(1).max(365).required(),
  defaultCategory: Joi.string().required(),
  categories: Joi.object()
    .pattern(
      Joi.string().pattern(/^[a-z0-9-]{1,40}$/),
      dated(
        Joi.object({
          effectiveFrom: day,
          vat: rate,
          consumption: Joi.string()
            .pattern(/^0(\.\d{1,6})?$/)
            .required(),
          tariff: rate,
          source: Joi.string(),
        }),
      ),
    )
    .min(1)
    .required(),
});

function ascendingDates(entries: { effectiveFrom: string }[]) {
  for (let i = 1; i < entries.length; i += 1) {
    if (entries[i]!.effectiveFrom <= entries[i - 1]!.effectiveFrom) {
      throw new Error('effective dates must ascend');
    }
  }
  return entries;
}

interface RawPolicy {
  limits: { effectiveFrom: string; perOrderFen: number; annualFen: number }[];
  withinLimitTaxShare: { effectiveFrom: string; share: string }[];
  returnWindowDays: number;
  defaultCategory: string;
  categories: Record<
    string,
    { effectiveFrom: string; vat: string; consumption: string; tariff: string }[]
  >;
}

/** The entry in force at an instant: the last one that started at or before it. */
function inForce<T extends { effectiveFrom: Date }>(entries: T[], instant: Date, what: string): T {
  let found: T | undefined;
  for (const entry of entries) {
    if (entry.effectiveFrom.getTime() <= instant.getTime()) found = entry;
  }
  if (!found) throw new PolicyError(`no ${what} in force at that date`);
  return found;
}

export function buildPolicy(raw: unknown): CbecPolicy {
  const { value, error } = schema.validate(raw, { abortEarly: true });
  if (error) throw new PolicyError(`invalid CBEC policy data: ${error.details[0]?.path.join('.')}`);
  const data = value as RawPolicy;
  if (!data.categories[data.defaultCategory]) {
    throw new PolicyError('invalid CBEC policy data: defaultCategory has no rates');
  }
  const limits: Limits[] = data.limits.map((entry) => ({
    effectiveFrom: beijingDayStart(entry.effectiveFrom),
    perOrderFen: entry.perOrderFen,
    annualFen: entry.annualFen,
  }));
  const shares = data.withinLimitTaxShare.map((entry) => ({
    effectiveFrom: beijingDayStart(entry.effectiveFrom),
    share: parseDecimal(entry.share),
  }));
  const categories = new Map<string, CategoryRates[]>(
    Object.entries(data.categories).map(([name, entries]) => [
      name,
      entries.map((entry) => ({
        effectiveFrom: beijingDayStart(entry.effectiveFrom),
        vat: parseDecimal(entry.vat),
        consumption: parseDecimal(entry.consumption),
        tariff: parseDecimal(entry.tariff),
      })),
    ]),
  );
  return {
    defaultCategory: data.defaultCategory,
    returnWindowDays: data.returnWindowDays,
    categoryNames: () => [...categories.keys()],
    limitsAt: (instant) => inForce(limits, instant, 'limits'),
    withinLimitShareAt: (instant) => inForce(shares, instant, 'tax share').share,
    ratesAt(category, instant) {
      const entries = categories.get(category);
      if (!entries) throw new PolicyError('unknown goods category');
      return inForce(entries, instant, 'rates');
    },
  };
}

/** The bundled policy, or the JSON file at `file` (CBEC_POLICY_FILE) when given. */
export function loadPolicy(file?: string): CbecPolicy {
  if (!file) return buildPolicy(bundledPolicy);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new PolicyError('CBEC_POLICY_FILE cannot be read as JSON');
  }
  return buildPolicy(raw);
}
