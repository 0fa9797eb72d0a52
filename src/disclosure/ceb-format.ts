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
