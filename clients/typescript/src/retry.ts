/** How a retry-safe call waits and gives up. */
export interface RetryOptions {
  /** Attempts after the first (default 4). */
  retries?: number;
  /** The first backoff; each next one doubles, with full jitter (default 200 ms). */
  minDelayMs?: number;
  /** The longest wait, also for a server's `Retry-After` (default 10 s). */
  maxDelayMs?: number;
  /** Replaces the timer (tests, or an application's own scheduler). */
  sleep?: (ms: number) => Promise<void>;
}

/** Statuses worth trying again: overloaded, rate limited, or a failure on the way. */
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/**
 * A failure to get any answer (connection refused or reset, DNS, TLS): fetch
 * rejects with a TypeError. An abort is the caller's decision, not a failure.
 */
export function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter, or the server's Retry-After when it gave one. */
function delayBefore(attempt: number, retryAfter: string | null, options: RetryOptions): number {
  const max = options.maxDelayMs ?? 10_000;
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, max);
  const ceiling = Math.min((options.minDelayMs ?? 200) * 2 ** attempt, max);
  return Math.random() * ceiling;
}

/**
 * Runs `call` until it answers with a status that is not retryable, the
 * attempts are spent, or it fails with an error that is not a network error.
 * Only for calls that are safe to repeat: the same request must mean the
 * same thing the second time.
 */
export async function withRetries<T extends { response: Response }>(
  call: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const retries = options.retries ?? 4;
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt++) {
    let retryAfter: string | null = null;
    try {
      const result = await call();
      if (!isRetryableStatus(result.response.status) || attempt >= retries) return result;
      retryAfter = result.response.headers.get('retry-after');
    } catch (error) {
      if (!isNetworkError(error) || attempt >= retries) throw error;
    }
    await sleep(delayBefore(attempt, retryAfter, options));
  }
}
