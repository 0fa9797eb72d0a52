import { applyChange, type LedgerState } from '../../src/quota/ledger';
import type { LedgerStore } from '../../src/quota/ledger-store';

/**
 * An in-memory LedgerStore for unit tests: the same versioned-insert contract
 * as the real one (a commit of a version someone else took returns null),
 * without a database.
 */
export interface FakeLedgerStore extends LedgerStore {
  /** Every committed version of a buyer's year, oldest first. */
  versions(identityId: string, year: number): LedgerState[];
  /** Runs before the next commit only, e.g. to let a rival writer take its version, or to fail it. */
  beforeNextCommit(hook: () => Promise<void>): void;
}

export function createFakeLedgerStore(): FakeLedgerStore {
  const journal = new Map<string, LedgerState[]>();
  let hook: (() => Promise<void>) | null = null;
  const key = (state: { identityId: string; year: number }) => `${state.identityId}:${state.year}`;

  function newest(state: LedgerState): LedgerState {
    return journal.get(key(state))?.at(-1) ?? state;
  }

  return {
    versions: (identityId, year) => [...(journal.get(`${identityId}:${year}`) ?? [])],
    beforeNextCommit(next) {
      hook = next;
    },
    async read(genesis) {
      return newest(genesis);
    },
    async catchUp(state) {
      const latest = newest(state);
      return latest.seq > state.seq ? latest : state;
    },
    async commit(state, change) {
      const run = hook;
      hook = null;
      await run?.();
      const versions = journal.get(key(state)) ?? [];
      if (versions.length !== state.seq) return null;
      const next = applyChange(state, change);
      journal.set(key(state), [...versions, next]);
      return next;
    },
    async ensureIndexes() {},
  };
}
