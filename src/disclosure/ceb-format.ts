/**
 * Value formats of the customs (CEB) messages: yuan amounts with two decimals
 * and Beijing-time stamps. Pure functions, no floats.
 */

/** Integer fen to yuan with exactly two decimals, by string arithmetic: 123456 -> "1234.56". */
export function fenToYuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError('fen must be a safe integer');
  const sign = fen < 0 ? '-' : '';
  const digits = String(Math.abs(fen)).padStart(3, '0');
  return `${sign}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** China Standard Time has had no daylight saving since 1991: a fixed UTC+8 offset. */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

function beijingIso(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new RangeError('invalid date');
  return new Date(at.getTime() + BEIJING_OFFSET_MS).toISOString();
}

/** `YYYYMMDDhhmmss` in Beijing time, the CEB time-stamp format. */
export function beijingTimestamp(at: Date): string {
  const iso = beijingIso(at);
  return iso.slice(0, 19).replace(/[-T:]/g, '');
}

/** `YYYYMMDD` in Beijing time, the CEB date format (declTime, ieDate). */
export function beijingDate(at: Date): string {
  return beijingTimestamp(at).slice(0, 8);
}

/**
 * CEB decimals (`xs:decimal`, fractionDigits 5, totalDigits 19): plain
 * non-negative notation, no sign, no exponent, at most 14 integer and 5
 * fraction digits, so every accepted string is within both facets.
 */
const CEB_DECIMAL = /^(0|[1-9]\d{0,13})(\.\d{1,5})?$/;

/** Whether `value` is a decimal string a CEB decimal element can carry exactly. */
export function isCebDecimal(value: string): boolean {
  return CEB_DECIMAL.test(value);
}

const SCALE = 5;

/** A CEB decimal string as an integer count of 10^-5 units (exact). */
function toScaled(value: string): bigint {
  const [whole, fraction = ''] = value.split('.');
  return BigInt(`${whole}${fraction.padEnd(SCALE, '0')}`);
}

/** Integer 10^-5 units back to the shortest decimal string: 180000n -> "1.8". */
function fromScaled(scaled: bigint): string {
  const digits = scaled.toString().padStart(SCALE + 1, '0');
  const whole = digits.slice(0, -SCALE);
  const fraction = digits.slice(-SCALE).replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

/** Compares two CEB decimal strings exactly: negative, zero or positive like a sort comparator. */
export function compareCebDecimals(a: string, b: string): number {
  if (!isCebDecimal(a) || !isCebDecimal(b)) throw new RangeError('not a CEB decimal');
  const difference = toScaled(a) - toScaled(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

/**
 * The legal quantity (`qty1`, or `qty2` with the second legal unit) of a
 * goods line: `qty` declared units times the product's legal quantity per
 * unit, exactly (integer arithmetic on 10^-5 units, never floats), as the
 * shortest decimal string: `legalQuantity(3, '0.9')` -> `"2.7"`.
 * Throws RangeError when `qty` is not a positive safe integer, the per-unit
 * figure is not a CEB decimal, or the product overflows the CEB facets.
 */
export function legalQuantity(qty: number, legalQtyPerUnit: string): string {
  if (!Number.isSafeInteger(qty) || qty < 1) {
    throw new RangeError('qty must be a positive safe integer');
  }
  if (!isCebDecimal(legalQtyPerUnit)) {
    throw new RangeError('legalQtyPerUnit must be a CEB decimal (at most 5 fraction digits)');
  }
  const result = fromScaled(toScaled(legalQtyPerUnit) * BigInt(qty));
  if (!isCebDecimal(result)) throw new RangeError('legal quantity exceeds 19 digits');
  return result;
}
