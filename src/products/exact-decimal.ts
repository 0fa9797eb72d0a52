/**
 * Exact decimals of the customs data: quantities and weights as CEB621
 * declares them (`xs:decimal`, fractionDigits 5, totalDigits 19). Floats
 * never hold them: they travel as text and are summed as scaled bigints.
 *
 * Canonical form: plain digits, no sign, no exponent, no leading zeros,
 * trailing fractional zeros removed (`"0.5"`, `"1.25"`, `"2"`).
 */
import Joi from 'joi';

/** CEB621's fractionDigits for qty1, qty2, netWeight and grossWeight. */
export const FRACTION_DIGITS = 5;
/**
 * 999,999.99999 at most: with at most 100 lines of 9,999 pieces a parcel's
 * sum stays within 13 integer digits, inside CEB621's totalDigits of 19.
 */
const INTEGER_DIGITS = 6;
const SCALE = 10n ** BigInt(FRACTION_DIGITS);
const DECIMAL_TEXT = new RegExp(`^(\\d{1,${INTEGER_DIGITS}})(?:\\.(\\d{1,${FRACTION_DIGITS}}))?$`);

/** The value in units of 10^-5, or null when `text` is not a decimal within the bounds. */
export function toScaled(text: string): bigint | null {
  const match = DECIMAL_TEXT.exec(text);
  if (!match) return null;
  const fraction = (match[2] ?? '').padEnd(FRACTION_DIGITS, '0');
  return BigInt(match[1]!) * SCALE + BigInt(fraction);
}

/** A non-negative scaled value (10^-5 units) in the canonical form. */
export function fromScaled(value: bigint): string {
  if (value < 0n) throw new RangeError('negative decimal');
  const whole = (value / SCALE).toString();
  const fraction = (value % SCALE).toString().padStart(FRACTION_DIGITS, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

const DECIMAL_MESSAGE = `must be a positive decimal with at most ${INTEGER_DIGITS} integer and ${FRACTION_DIGITS} fractional digits`;

/**
 * A JSON number's shortest decimal text is the text it was written as for
 * up to 15 significant digits; these have at most 11, so a number arrives
 * exactly. Exponent forms (`1e-7`) fail the pattern.
 */
function canonical(value: unknown, helpers: Joi.CustomHelpers): unknown {
  const text = typeof value === 'number' ? String(value) : value;
  const scaled = typeof text === 'string' ? toScaled(text) : null;
  if (scaled === null || scaled === 0n) {
    return helpers.error('any.invalid', { safeMessage: DECIMAL_MESSAGE });
  }
  return fromScaled(scaled);
}

/**
 * A positive exact decimal of a body (quantity per unit, weight in kg): a
 * decimal string or a JSON number, converted to the canonical string.
 */
export function positiveDecimal(): Joi.AlternativesSchema {
  return Joi.alternatives()
    .try(Joi.string().max(20), Joi.number())
    .custom(canonical)
    .description(
      `Positive decimal, up to ${FRACTION_DIGITS} decimal places, as a string ("0.5") or a JSON number; answered as a canonical string`,
    );
}
