import { applyChange, type LedgerState } from '../../src/quota/ledger';
import type { LedgerStore } from '../../src/quota/ledger-store';

/**
 * An in-memory LedgerStore for unit tests: the same versioned-insert contract
 * as the real one (a commit of a version someone else took returns null),
 * without a database.
 */
export interface FakeLedgerStore extends LedgerStore {
  /** Every committed version of a buyer's year, oldest first. */
  versions(personKey: string, year: number): LedgerState[];
  /** Runs before the next commit only, e.g. to let a rival writer take its version, or to fail it. */
  beforeNextCommit(hook: () => Promise<void>): void;
}

export function createFakeLedgerStore(): FakeLedgerStore {
  const journal = new Map<string, LedgerState[]>();
  let hook: (() => Promise<void>) | null = null;
  const key = (state: { personKey: string; year: number }) => `${state.personKey}:${state.year}`;

  function newest(state: LedgerState): LedgerState {
    return journal.get(key(state))?.at(-1) ?? state;
  }

  return {
    versions: (personKey, year) => [...(journal.get(`${personKey}:${year}`) ?? [])],
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
    async yearsOf(personKey) {
      const ledgers = [...journal.values()].map((versions) => versions[0]!);
      return ledgers.filter((ledger) => ledger.personKey === personKey).map((l) => l.year);
    },
    async ensureIndexes() {},
  };
}
