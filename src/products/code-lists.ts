/**
 * The customs code lists a product's units and origin are checked against,
 * as data files with their source (data/*.json). Read and validated once,
 * when the module is loaded: a malformed file stops the start.
 */
import Joi from 'joi';
import countriesFile from './data/customs-countries.json';
import unitsFile from './data/customs-units.json';

export interface CodeList {
  comment?: string;
  source: string;
  retrieved: string;
  /** code -> Chinese name, e.g. `035` -> 千克. */
  codes: Readonly<Record<string, string>>;
}

const codeListSchema = Joi.object<CodeList>({
  comment: Joi.string(),
  source: Joi.string().min(1).required(),
  retrieved: Joi.string()
    .pattern(/^\d{4}-\d{2}-\d{2}$/)
    .required(),
  codes: Joi.object()
    .pattern(Joi.string().pattern(/^\d{3}$/), Joi.string().min(1).max(40))
    .min(1)
    .required(),
});

export class CodeListError extends Error {}

export function buildCodeList(raw: unknown, what: string): CodeList {
  const { value, error } = codeListSchema.validate(raw, { abortEarly: true });
  if (error)
    throw new CodeListError(`invalid ${what} code list: ${error.details[0]?.path.join('.')}`);
  return value;
}

/** Customs measurement units (计量单位代码): CEB621 unit, unit1, unit2. */
export const CUSTOMS_UNITS: CodeList = buildCodeList(unitsFile, 'customs unit');
/** Customs 3-digit countries and regions (国别(地区)代码): CEB621 country. */
export const CUSTOMS_COUNTRIES: CodeList = buildCodeList(countriesFile, 'customs country');
