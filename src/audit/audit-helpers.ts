import { AppError } from '../errors';
import type { AccessEventInput, AccessLog } from './audit-types';

/** An access event before its outcome is known. */
export type PlannedAccess = Omit<AccessEventInput, 'outcome'>;

/**
 * True for the failures that are themselves accesses worth recording: a 404 on
 * a resource (unknown, deleted, or another partner's) and a decryption failure
 * (a destroyed or wrong data key).
 */
export function isRecordedFailure(error: unknown): boolean {
  if (error instanceof AppError && error.status === 404) return true;
  const name = (error as { name?: unknown; code?: unknown } | null)?.name;
  const code = (error as { code?: unknown } | null)?.code;
  return name === 'DecryptionFailed' || code === 'DECRYPTION_FAILED';
}

/** Records a FAILED event (404 on a resource, decryption failure). Rejects with 503 when it cannot. */
export function recordFailure(log: AccessLog, access: PlannedAccess): Promise<void> {
  return log.record({ ...access, outcome: 'FAILED' });
}

/**
 * For reads of personal data. Loads, then records the outcome, then returns:
 * the data leaves only once its SUCCESS event is durable (fail closed). A 404
 * or decryption failure is recorded as FAILED and rethrown; if that record
 * itself fails, the 503 is thrown instead.
 */
export async function auditedRead<T>(
  log: AccessLog,
  access: PlannedAccess,
  load: () => Promise<T>,
  isFailure: (error: unknown) => boolean = isRecordedFailure,
): Promise<T> {
  let value: T;
  try {
    value = await load();
  } catch (error) {
    if (isFailure(error)) await recordFailure(log, access);
    throw error;
  }
  await log.record({ ...access, outcome: 'SUCCESS' });
  return value;
}

/**
 * For changes to personal data, without multi-document transactions: the
 * event is written first (so no change can exist without its event), then the
 * change runs; if the change fails, a compensating FAILED event with the same
 * requestId says it did not happen. Should that compensating write fail too,
 * the log over-reports (an access that did not complete), never under-reports.
 */
export async function auditedChange<T>(
  log: AccessLog,
  access: PlannedAccess,
  change: () => Promise<T>,
): Promise<T> {
  await log.record({ ...access, outcome: 'SUCCESS' });
  try {
    return await change();
  } catch (error) {
    await recordFailure(log, access).catch(() => undefined);
    throw error;
  }
}
