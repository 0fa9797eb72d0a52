/**
 * The driver's and mongoose's ways of saying "the database did not answer":
 * no server selectable, a connection lost or timed out, no connection free in
 * time, a command buffered too long while disconnected, or the server's own
 * maxTimeMS limit. Kept here so that no capability matches driver error names.
 */
const UNREACHABLE_ERROR_NAMES = new Set([
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoWaitQueueTimeoutError',
  'MongoOperationTimeoutError',
]);
/** MongoDB's MaxTimeMSExpired. */
const MAX_TIME_EXPIRED = 50;
const BUFFERING_TIMED_OUT = /buffering timed out after \d+ms$/;

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (UNREACHABLE_ERROR_NAMES.has(error.name)) return true;
  if ((error as { code?: unknown }).code === MAX_TIME_EXPIRED) return true;
  return error.name === 'MongooseError' && BUFFERING_TIMED_OUT.test(error.message);
}
