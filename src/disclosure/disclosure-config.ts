import Joi from 'joi';
import {
  CEB_BASE_TRANSFER_FIELDS,
  CEB621_HEAD_CONFIGURABLE,
  CEB621_LIST_CONFIGURABLE,
  type Ceb621Defaults,
} from './ceb621-xml';

export interface DisclosureConfig {
  ceb621: Ceb621Defaults;
}

/** A CEB field value: short, printable, no markup characters. */
const cebValue = Joi.string()
  .max(255)
  // eslint-disable-next-line no-control-regex
  .pattern(/^[^<>&\u0000-\u001f]*$/);

function only(fields: readonly string[]) {
  return Joi.object(Object.fromEntries(fields.map((field) => [field, cebValue]))).unknown(false);
}

const defaultsSchema = Joi.object<Ceb621Defaults>({
  head: only(CEB621_HEAD_CONFIGURABLE).default({}),
  list: only(CEB621_LIST_CONFIGURABLE).default({}),
  baseTransfer: only(CEB_BASE_TRANSFER_FIELDS).default({}),
}).unknown(false);

export type DisclosureConfigResult =
  { ok: true; value: DisclosureConfig } | { ok: false; variable: string; problem: string };

/**
 * `CEB621_DEFAULTS`: JSON with the CEB621 fields the service cannot know
 * (platform and enterprise codes, customs office, port, trade mode...):
 * `{"head": {"portCode": "..."}, "list": {"unit": "011"}, "baseTransfer": {"copCode": "..."}}`.
 * Unset: those fields are sent empty.
 */
export function parseDisclosureConfig(environment: NodeJS.ProcessEnv): DisclosureConfigResult {
  const raw = environment.CEB621_DEFAULTS;
  let parsed: unknown = {};
  if (raw !== undefined && raw.trim() !== '') {
    try {
      parsed = JSON.parse(raw);
    } catch {
      return { ok: false, variable: 'CEB621_DEFAULTS', problem: 'is not valid JSON' };
    }
  }
  const { value, error } = defaultsSchema.validate(parsed, { abortEarly: true });
  if (error) {
    return {
      ok: false,
      variable: 'CEB621_DEFAULTS',
      problem: `has an invalid or unknown field at ${error.details[0]?.path.join('.') || 'top level'}`,
    };
  }
  return { ok: true, value: { ceb621: value } };
}
