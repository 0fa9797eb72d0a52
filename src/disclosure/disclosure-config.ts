import Joi from 'joi';
import {
  BASE_TRANSFER,
  CEB_BASE_TRANSFER_FIELDS,
  CEB621_HEAD_CONFIGURABLE,
  cebText,
  facetProblem,
  INVENTORY_HEAD,
  type Ceb621Defaults,
  type CebElementRule,
} from './ceb621-xml';

export interface DisclosureConfig {
  ceb621: Ceb621Defaults;
}

function only(fields: readonly string[]) {
  return Joi.object(Object.fromEntries(fields.map((field) => [field, Joi.string()]))).unknown(
    false,
  );
}

const defaultsSchema = Joi.object<Ceb621Defaults>({
  head: only(CEB621_HEAD_CONFIGURABLE).default({}),
  baseTransfer: only(CEB_BASE_TRANSFER_FIELDS).default({}),
}).unknown(false);

export type DisclosureConfigResult =
  { ok: true; value: DisclosureConfig } | { ok: false; variable: string; problem: string };

const VARIABLE = 'CEB621_DEFAULTS';

/** The configurable fields with their XSD rules, as `head.portCode` / `baseTransfer.dxpId`. */
const CONFIGURABLE: readonly { part: keyof Ceb621Defaults; rule: CebElementRule }[] = [
  ...INVENTORY_HEAD.filter((rule) =>
    (CEB621_HEAD_CONFIGURABLE as readonly string[]).includes(rule.name),
  ).map((rule) => ({ part: 'head' as const, rule })),
  // dxpMode has a default (DXP), so it is never missing.
  ...BASE_TRANSFER.filter((rule) =>
    (CEB_BASE_TRANSFER_FIELDS as readonly string[]).includes(rule.name),
  ).map((rule) => ({ part: 'baseTransfer' as const, rule })),
];

const valueOf = (defaults: Ceb621Defaults, part: keyof Ceb621Defaults, name: string) =>
  (defaults[part] as Record<string, string | undefined>)[name];

/** The first configured value the schema would refuse, as `head.portCode (must be ...)`. */
function facetViolation(defaults: Ceb621Defaults): string | null {
  for (const { part, rule } of CONFIGURABLE) {
    const value = valueOf(defaults, part, rule.name);
    if (value === undefined || value === '') continue;
    // Refused rather than silently cleaned: configuration is fixed before start.
    if (cebText(value) !== value) return `${part}.${rule.name} (characters XML cannot carry)`;
    const problem = facetProblem(value, rule.facet);
    if (problem) return `${part}.${rule.name} (${problem})`;
  }
  return null;
}

/**
 * The fields every CEB621 message needs from configuration that `defaults`
 * leaves empty, as `head.ebpName`. Production refuses to start while any is
 * missing (createDisclosureModule); elsewhere a message lacking one is refused
 * when built (Ceb621Incomplete), so development starts without the codes.
 */
export function missingForProduction(defaults: Ceb621Defaults): string[] {
  return CONFIGURABLE.filter(
    ({ part, rule }) =>
      rule.required && rule.name !== 'dxpMode' && !valueOf(defaults, part, rule.name),
  ).map(({ part, rule }) => `${part}.${rule.name}`);
}

/**
 * `CEB621_DEFAULTS`: JSON with the global part of every CEB621 message
 * (platform and enterprise codes and names, customs office, port, trade mode,
 * traffic, assure code, country of departure...) and the BaseTransfer identity:
 * `{"head": {"portCode": "..."}, "baseTransfer": {"copCode": "..."}}`. Each value
 * is checked against the XSD facets of its element. Per-item data (HS code,
 * specification, origin, units) comes from the products, weights from the parcel.
 */
export function parseDisclosureConfig(environment: NodeJS.ProcessEnv): DisclosureConfigResult {
  const raw = environment.CEB621_DEFAULTS;
  let parsed: unknown = {};
  if (raw !== undefined && raw.trim() !== '') {
    try {
      parsed = JSON.parse(raw);
    } catch {
      return { ok: false, variable: VARIABLE, problem: 'is not valid JSON' };
    }
  }
  if (typeof parsed === 'object' && parsed !== null && 'list' in parsed) {
    return {
      ok: false,
      variable: VARIABLE,
      problem: 'has a "list" part: per-item fields now come from the product data, remove it',
    };
  }
  const { value, error } = defaultsSchema.validate(parsed, { abortEarly: true });
  if (error) {
    return {
      ok: false,
      variable: VARIABLE,
      problem: `has an invalid or unknown field at ${error.details[0]?.path.join('.') || 'top level'}`,
    };
  }
  const violation = facetViolation(value);
  if (violation) {
    return { ok: false, variable: VARIABLE, problem: `has an invalid value at ${violation}` };
  }
  return { ok: true, value: { ceb621: value } };
}
