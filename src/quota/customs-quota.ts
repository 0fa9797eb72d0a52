/**
 * The Single Window's personal quota query ("used this year / left this
 * year" by name and id number), behind an interface: a real connector goes
 * through a licensed customs data exchange; tests and development use the
 * simulator. Customs sees every platform's declared purchases, the local
 * ledger sees this platform's reservations: checkout trusts the smaller.
 */

export interface CustomsQuotaFigures {
  year: number;
  usedFen: number;
  remainingFen: number;
}

export interface CustomsQuotaQuery {
  readonly name: string;
  /** Rejects on any failure; must stop work when `signal` aborts. */
  query(
    person: { name: string; idNumber: string; year: number },
    signal: AbortSignal,
  ): Promise<CustomsQuotaFigures>;
}

type SimulatedFailure = 'none' | 'error' | 'hang';

export interface CustomsSimulatorOptions {
  /** Annual limit customs applies (the simulator's own copy of the policy). */
  annualLimitFen: (year: number) => number;
  /** What customs has on record as used this year for every person (other platforms' purchases). */
  usedFen: number;
  latencyMs: number;
  failure: SimulatedFailure;
}

export function createCustomsQuotaSimulator(options: CustomsSimulatorOptions): CustomsQuotaQuery {
  return {
    name: 'simulator',
    async query({ year }, signal) {
      if (options.failure === 'hang') await waitForAbort(signal);
      if (options.latencyMs > 0) await delay(options.latencyMs, signal);
      if (options.failure === 'error') throw new Error('simulated customs outage');
      const limit = options.annualLimitFen(year);
      return { year, usedFen: options.usedFen, remainingFen: Math.max(0, limit - options.usedFen) };
    },
  };
}

/**
 * Asks customs with a deadline. Null on timeout, error or a malformed answer:
 * the caller then decides on the local ledger alone (quotaSource LOCAL).
 */
export async function askCustoms(
  adapter: CustomsQuotaQuery,
  person: { name: string; idNumber: string; year: number },
  timeoutMs: number,
): Promise<CustomsQuotaFigures | null> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const answer = await Promise.race([
      adapter.query(person, controller.signal),
      waitForAbort(controller.signal),
    ]);
    if (
      !answer ||
      answer.year !== person.year ||
      !Number.isSafeInteger(answer.remainingFen) ||
      answer.remainingFen < 0
    ) {
      return null;
    }
    return answer;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      },
      { once: true },
    );
  });
}
