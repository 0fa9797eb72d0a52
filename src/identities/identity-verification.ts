import { randomInt } from 'node:crypto';
import type { VerificationStatus } from './identity-directory';

/**
 * A licensed provider's two-factor check (name + id number) against the
 * national authority's data. `MATCH`/`MISMATCH` are the authority's answer;
 * anything else (timeout, error, provider down) is a throw.
 */
export interface IdentityVerificationProvider {
  readonly name: string;
  check(
    person: { name: string; idNumber: string },
    signal: AbortSignal,
  ): Promise<'MATCH' | 'MISMATCH'>;
}

class ProviderUnavailable extends Error {}

export interface SimulatorOptions {
  latencyMs: number;
  /** Share of calls (0..1) that fail as if the provider were down. */
  failureRate: number;
}

/**
 * Deterministic rules, so tests and demos can ask for each outcome:
 * sequence digits (positions 15-17 of the id number) `999` -> MISMATCH,
 * `998` -> provider unavailable; everything else MATCH. On top of that,
 * `latencyMs` delay and a random `failureRate`.
 */
const SIMULATOR_RULES = { mismatchSequence: '999', unavailableSequence: '998' } as const;

export function createSimulatorProvider(options: SimulatorOptions): IdentityVerificationProvider {
  return {
    name: 'simulator',
    async check({ idNumber }, signal) {
      if (options.latencyMs > 0) await delay(options.latencyMs, signal);
      if (signal.aborted) throw new ProviderUnavailable('aborted');
      const sequence = idNumber.slice(14, 17);
      if (sequence === SIMULATOR_RULES.unavailableSequence)
        throw new ProviderUnavailable('simulated outage');
      if (options.failureRate > 0 && randomInt(1_000_000) < options.failureRate * 1_000_000) {
        throw new ProviderUnavailable('simulated random failure');
      }
      return sequence === SIMULATOR_RULES.mismatchSequence ? 'MISMATCH' : 'MATCH';
    },
  };
}

/** No provider configured: every identity stays UNVERIFIED. */
export function createDisabledProvider(): IdentityVerificationProvider {
  return {
    name: 'disabled',
    async check() {
      throw new ProviderUnavailable('identity verification is disabled');
    },
  };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ProviderUnavailable('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface IdentityVerifier {
  verify(person: { name: string; idNumber: string }): Promise<VerificationStatus>;
}

/**
 * Calls the provider with a deadline: MATCH -> VERIFIED, MISMATCH ->
 * MISMATCH, and a timeout or any failure -> UNVERIFIED (never an error to
 * the caller: registration goes on, the status tells checkout).
 */
export function createIdentityVerifier(
  provider: IdentityVerificationProvider,
  { timeoutMs }: { timeoutMs: number },
): IdentityVerifier {
  return {
    async verify(person) {
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new ProviderUnavailable('timeout'));
        }, timeoutMs);
      });
      try {
        const answer = await Promise.race([provider.check(person, controller.signal), deadline]);
        return answer === 'MATCH' ? 'VERIFIED' : 'MISMATCH';
      } catch {
        return 'UNVERIFIED';
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
