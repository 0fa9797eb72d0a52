import { beijingCalendarDate, beijingDayStart } from '../beijing-time';

/** The privacy policy's promise: an answer within 15 days (我们将在15天内做出答复). */
const ANSWER_PERIOD_DAYS = 15;

/**
 * The last instant of the answer period of a request received at `receivedAt`:
 * 23:59:59.999 Beijing time of the 15th calendar day after the day of receipt.
 * As the Civil Code counts periods in days (arts. 201, 203), the day of
 * receipt does not count and the last day ends at 24:00. No holiday calendar
 * is applied (art. 203 would move a last day falling on a holiday), so the
 * date is never later than the law's.
 */
export function dueDate(receivedAt: Date): Date {
  const { year, month, day } = beijingCalendarDate(receivedAt);
  // Date.UTC rolls a day past the month's end over into the next month.
  const dayAfterLast = new Date(Date.UTC(year, month - 1, day + ANSWER_PERIOD_DAYS + 1));
  return new Date(beijingDayStart(dayAfterLast.toISOString().slice(0, 10)).getTime() - 1);
}
