import { isKnownDivisionCode, PROVINCE_PREFIXES } from './region-codes';
import { beijingCalendarDate } from '../beijing-time';

/** A calendar date with no time zone. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** A resident identity number that passed every check, normalised (upper-case X). */
export interface ParsedIdNumber {
  value: string;
  birthDate: CalendarDate;
  divisionCode: string;
  /** False when the six-digit division code is in no known list: flagged, not rejected. */
  divisionCodeKnown: boolean;
}

export type IdNumberResult = { ok: true; id: ParsedIdNumber } | { ok: false; message: string };

/** ISO 7064 MOD 11-2 weights for the first 17 digits (GB 11643-1999). */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/** Sum mod 11 -> check character. */
const CHECK_CHARACTERS = '10X98765432';
const EARLIEST_BIRTH_YEAR = 1880;

/** The MOD 11-2 check character of the first 17 digits. */
export function checkCharacter(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new TypeError('expected 17 digits');
  let sum = 0;
  for (let index = 0; index < 17; index += 1) sum += Number(first17[index]) * WEIGHTS[index]!;
  return CHECK_CHARACTERS[sum % 11]!;
}

/**
 * Today's date in China (Asia/Shanghai), which is what age and "future" are
 * measured against. A fixed offset, not Intl: every checkout asks, and
 * formatToParts cost more than the rest of the id-number check together.
 */
export function todayInShanghai(now: Date = new Date()): CalendarDate {
  return beijingCalendarDate(now);
}

function compareDates(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

function isRealDate({ year, month, day }: CalendarDate): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= days;
}

/**
 * Completed years of age on `today`. Someone born on 29 February comes of
 * age on 1 March in a common year (the (month, day) comparison does that).
 */
export function ageOn(birth: CalendarDate, today: CalendarDate): number {
  const age = today.year - birth.year;
  return today.month > birth.month || (today.month === birth.month && today.day >= birth.day)
    ? age
    : age - 1;
}

/** The birth date encoded in a (normalised, already validated) identity number. */
export function birthDateOf(idNumber: string): CalendarDate {
  return {
    year: Number(idNumber.slice(6, 10)),
    month: Number(idNumber.slice(10, 12)),
    day: Number(idNumber.slice(12, 14)),
  };
}

/** Trims and upper-cases the check character (a lower-case x is accepted, stored as X). */
function normaliseIdNumber(raw: string): string {
  return raw.trim().toUpperCase();
}

/**
 * Numbers issued before GB 11643-1999 have 15 digits: a two-digit birth year
 * and no check character. Customs takes only the 18-digit form, so the
 * message says how to get it, never the number.
 */
const FIFTEEN_DIGITS = /^\d{15}$/;
const UPGRADE_FIFTEEN_DIGITS =
  'is a 15-digit number from before 1999; customs takes the 18-digit form: insert 19 before ' +
  'the two-digit birth year and append the MOD 11-2 check character';

/** The upgrade hint for a pre-1999 15-digit number, else null; never quotes the value. */
export function fifteenDigitProblem(raw: string): string | null {
  return FIFTEEN_DIGITS.test(raw) ? UPGRADE_FIFTEEN_DIGITS : null;
}

/**
 * Validates an 18-character PRC resident identity number (GB 11643-1999):
 * format, MOD 11-2 check character, a real birth date from 1880 up to today
 * (Beijing time), and a province-level prefix. Messages never quote the value.
 */
export function parseIdNumber(raw: string, now: Date = new Date()): IdNumberResult {
  const value = normaliseIdNumber(raw);
  if (FIFTEEN_DIGITS.test(value)) return { ok: false, message: UPGRADE_FIFTEEN_DIGITS };
  if (value.length !== 18) return { ok: false, message: 'must have 18 characters' };
  if (!/^\d{17}[\dX]$/.test(value)) {
    return { ok: false, message: 'must be 17 digits followed by a digit or X' };
  }
  if (!PROVINCE_PREFIXES.has(value.slice(0, 2))) {
    return { ok: false, message: 'has an unknown region prefix' };
  }
  const birthDate = birthDateOf(value);
  if (!isRealDate(birthDate)) return { ok: false, message: 'has an impossible birth date' };
  if (birthDate.year < EARLIEST_BIRTH_YEAR) {
    return { ok: false, message: 'has a birth date before 1880' };
  }
  if (compareDates(birthDate, todayInShanghai(now)) > 0) {
    return { ok: false, message: 'has a birth date in the future' };
  }
  if (checkCharacter(value.slice(0, 17)) !== value[17]) {
    return { ok: false, message: 'has a wrong check character' };
  }
  const divisionCode = value.slice(0, 6);
  return {
    ok: true,
    id: { value, birthDate, divisionCode, divisionCodeKnown: isKnownDivisionCode(divisionCode) },
  };
}
