/**
 * The legal basis the export states for each disclosure (data file with its
 * sources: data/disclosure-legal-bases.json). Read and checked once, when
 * the module loads: a purpose without a basis stops the start.
 */
import Joi from 'joi';
import { CROSS_BORDER_BASES, type CrossBorderBasis } from '../cross-border/jurisdiction';
import basesFile from './data/disclosure-legal-bases.json';

/** The purposes a disclosure receipt carries (disclosure-policy.ts). */
export const DISCLOSURE_PURPOSES = ['customs-clearance', 'delivery'] as const;
export type DisclosurePurpose = (typeof DISCLOSURE_PURPOSES)[number];

interface LegalBases {
  purposes: Record<DisclosurePurpose, string>;
  crossBorderBases: Record<CrossBorderBasis, string>;
}

const text = Joi.string().min(1).max(400).required();
const schema = Joi.object({
  comment: Joi.string(),
  sources: Joi.array().items(Joi.string().min(1)).min(1).required(),
  retrieved: Joi.string()
    .pattern(/^\d{4}-\d{2}-\d{2}$/)
    .required(),
  checked: Joi.string(),
  purposes: Joi.object(Object.fromEntries(DISCLOSURE_PURPOSES.map((p) => [p, text]))).required(),
  crossBorderBases: Joi.object(
    Object.fromEntries(CROSS_BORDER_BASES.map((b) => [b, text])),
  ).required(),
});

function load(raw: unknown): LegalBases {
  const { value, error } = schema.validate(raw, { abortEarly: true });
  if (error) throw new Error(`invalid legal bases: ${error.details[0]?.path.join('.')}`);
  return value as LegalBases;
}

const BASES = load(basesFile);

/** The basis of a disclosure made for `purpose`; null for a purpose no disclosure has. */
export function legalBasisOf(purpose: string): string | null {
  return (DISCLOSURE_PURPOSES as readonly string[]).includes(purpose)
    ? BASES.purposes[purpose as DisclosurePurpose]
    : null;
}

/** What a cross-border basis means, with its article. */
export function crossBorderBasisText(basis: CrossBorderBasis): string {
  return BASES.crossBorderBases[basis];
}
