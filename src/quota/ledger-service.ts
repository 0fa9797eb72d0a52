import { ServiceUnavailable } from '../errors';
import { beijingYearBounds } from '../beijing-time';
import {
  balances,
  emptyLedger,
  type Balances,
  type LedgerChange,
  type LedgerState,
} from './ledger';
import type { LedgerStore } from './ledger-store';
import type { CbecPolicy } from './policy';

/** What a decision asks the ledger to record; the limit fields are filled in here. */
export type RequestedChange = Omit<LedgerChange, 'limitFen' | 'limitFrom'>;

/** A decision on one ledger state: the change to commit (none: change nothing) and the caller's result. */
export interface LedgerDecision<R> {
  change?: RequestedChange;
  result: R;
}

export interface LedgerService {
  /**
   * Runs `decide` on the newest state and commits its change atomically;
   * when another writer got there first, reads again and decides again.
   * `at` is the instant whose limit applies (the order time).
   */
  update<R>(
    personKey: string,
    year: number,
    at: Date,
    decide: (state: LedgerState, balances: Balances) => LedgerDecision<R>,
  ): Promise<{ result: R; state: LedgerState }>;
  /** The newest state of a person's year, as of `now`. */
  read(personKey: string, year: number, now: Date): Promise<LedgerState>;
}

/** Beyond this many lost races in a row the request gives up with a 503 (never seen in practice). */
const MAX_ATTEMPTS = 500;

export function createLedgerService({
  ledgerStore,
  policy,
}: {
  ledgerStore: LedgerStore;
  policy: CbecPolicy;
}): LedgerService {
  /**
   * The annual limit in force at `at`, applied when it is newer than the one
   * the ledger has (a mid-year policy change applies from its effective date;
   * an older-dated order never winds it back).
   */
  function withLimitAt(state: LedgerState, at: Date): LedgerState {
    const limits = policy.limitsAt(at);
    if (limits.effectiveFrom.getTime() <= state.limitFrom.getTime()) return state;
    return { ...state, limitFen: limits.annualFen, limitFrom: limits.effectiveFrom };
  }

  function genesis(personKey: string, year: number, at: Date): LedgerState {
    return emptyLedger(personKey, year, policy.limitsAt(at));
  }

  return {
    async update(personKey, year, at, decide) {
      let state = await ledgerStore.read(genesis(personKey, year, at), { fresh: false });
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
        const current = withLimitAt(state, at);
        const { change, result } = decide(current, balances(current));
        if (!change) {
          // A decision to change nothing must rest on the newest version.
          const newest = await ledgerStore.catchUp(state);
          if (newest.seq === state.seq) return { result, state: current };
          state = newest;
          continue;
        }
        const committed = await ledgerStore.commit(current, {
          ...change,
          limitFen: current.limitFen,
          limitFrom: current.limitFrom,
        });
        if (committed) return { result, state: committed };
        state = await ledgerStore.catchUp(state);
      }
      throw new ServiceUnavailable('The quota ledger is busy; retry.');
    },

    async read(personKey, year, now) {
      const { start, end } = beijingYearBounds(year);
      const at = new Date(Math.min(Math.max(now.getTime(), start.getTime()), end.getTime()));
      const state = await ledgerStore.read(genesis(personKey, year, at), { fresh: true });
      return withLimitAt(state, at);
    },
  };
}
