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
  /** The ad valorem consumption-tax rate. */
  consumption: Fraction;
  /**
   * The per-volume part of a composite consumption tax, in fen per litre
   * (spirits: 0.5 yuan per 500 ml = 100); zero for ad valorem categories.
   */
  specificFenPerLitre: Fraction;
  /**
   * Applied only when an order is taxed in full (the single-item exception).
   * A per-category placeholder until products carry an HS code, whose MFN
   * tariff then replaces it.
   */
  tariff: Fraction;
  /**
   * A category defined by price (high-end watches: 10,000 yuan or more a
   * piece): a piece priced below `minUnitPriceFen` is taxed as `belowThreshold`.
   */
  threshold: { minUnitPriceFen: number; belowThreshold: string } | null;
}

export interface CbecPolicy {
  defaultCategory: string;
  returnWindowDays: number;
  categoryNames(): string[];
  limitsAt(instant: Date): Limits;
  /** Share of VAT and consumption tax charged within the limits (0.7). */
  withinLimitShareAt(instant: Date): Fraction;
  ratesAt(category: string, instant: Date): CategoryRates;
  /**
   * The category whose rates apply to one piece of `category` at `unitPriceFen`:
   * the category itself, or its below-threshold category for a piece priced
   * under the threshold.
   */
  taxCategoryOf(category: string, unitPriceFen: number, instant: Date): string;
  /** Categories with a per-volume part in any entry: their items must carry `volumeMl`. */
  volumeTaxedCategories(): string[];
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
          specificFenPerLitre: Joi.string().pattern(/^\d{1,6}(\.\d{1,6})?$/),
          tariff: rate,
          minUnitPriceFen: Joi.number().integer().min(1),
          belowThreshold: Joi.string(),
          source: Joi.string(),
        }).and('minUnitPriceFen', 'belowThreshold'),
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

interface RawRates {
  effectiveFrom: string;
  vat: string;
  consumption: string;
  specificFenPerLitre?: string;
  tariff: string;
  minUnitPriceFen?: number;
  belowThreshold?: string;
}

interface RawPolicy {
  limits: { effectiveFrom: string; perOrderFen: number; annualFen: number }[];
  withinLimitTaxShare: { effectiveFrom: string; share: string }[];
  returnWindowDays: number;
  defaultCategory: string;
  categories: Record<string, RawRates[]>;
}

/**
 * A below-threshold category must exist and have no threshold of its own, so
 * a piece is reclassified at most once (no chains, no cycles).
 */
function checkThresholds(categories: Record<string, RawRates[]>): void {
  for (const entries of Object.values(categories)) {
    for (const { belowThreshold } of entries) {
      if (belowThreshold === undefined) continue;
      const fallback = categories[belowThreshold];
      if (!fallback || fallback.some((entry) => entry.minUnitPriceFen !== undefined)) {
        throw new PolicyError(
          'invalid CBEC policy data: belowThreshold must name a category without a threshold',
        );
      }
    }
  }
}

function toRates(entry: RawRates): CategoryRates {
  return {
    effectiveFrom: beijingDayStart(entry.effectiveFrom),
    vat: parseDecimal(entry.vat),
    consumption: parseDecimal(entry.consumption),
    specificFenPerLitre: parseDecimal(entry.specificFenPerLitre ?? '0'),
    tariff: parseDecimal(entry.tariff),
    threshold:
      entry.minUnitPriceFen !== undefined && entry.belowThreshold !== undefined
        ? { minUnitPriceFen: entry.minUnitPriceFen, belowThreshold: entry.belowThreshold }
        : null,
  };
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
  checkThresholds(data.categories);
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
    Object.entries(data.categories).map(([name, entries]) => [name, entries.map(toRates)]),
  );
  const volumeTaxed = [...categories]
    .filter(([, entries]) => entries.some((entry) => entry.specificFenPerLitre.n > 0n))
    .map(([name]) => name);
  const ratesAt = (category: string, instant: Date): CategoryRates => {
    const entries = categories.get(category);
    if (!entries) throw new PolicyError('unknown goods category');
    return inForce(entries, instant, 'rates');
  };
  return {
    defaultCategory: data.defaultCategory,
    returnWindowDays: data.returnWindowDays,
    categoryNames: () => [...categories.keys()],
    limitsAt: (instant) => inForce(limits, instant, 'limits'),
    withinLimitShareAt: (instant) => inForce(shares, instant, 'tax share').share,
    ratesAt,
    taxCategoryOf(category, unitPriceFen, instant) {
      const { threshold } = ratesAt(category, instant);
      return threshold && unitPriceFen < threshold.minUnitPriceFen
        ? threshold.belowThreshold
        : category;
    },
    volumeTaxedCategories: () => [...volumeTaxed],
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
