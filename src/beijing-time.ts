/**
 * China Standard Time is UTC+8 with no daylight saving since 1991, so a fixed
 * offset is exact for every date this service handles (CBEC policy starts in
 * 2016) and avoids depending on the host's time-zone database.
 */
const OFFSET_MS = 8 * 60 * 60 * 1000;

/** The calendar year in Asia/Shanghai of an instant: 2026-12-31T16:30Z is 2027. */
export function beijingYear(instant: Date): number {
  return new Date(instant.getTime() + OFFSET_MS).getUTCFullYear();
}

/** 00:00 Asia/Shanghai of a calendar day given as YYYY-MM-DD. */
export function beijingDayStart(day: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) throw new RangeError('not a YYYY-MM-DD day');
  const utc = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  const date = new Date(utc - OFFSET_MS);
  if (new Date(utc).toISOString().slice(0, 10) !== day) throw new RangeError('not a calendar day');
  return date;
}

/** The calendar day in Asia/Shanghai of an instant. */
export function beijingCalendarDate(instant: Date): { year: number; month: number; day: number } {
  const shifted = new Date(instant.getTime() + OFFSET_MS);
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
  };
}

/** First and last instant of a Beijing calendar year. */
export function beijingYearBounds(year: number): { start: Date; end: Date } {
  const start = new Date(Date.UTC(year, 0, 1) - OFFSET_MS);
  const end = new Date(Date.UTC(year + 1, 0, 1) - OFFSET_MS - 1);
  return { start, end };
}
