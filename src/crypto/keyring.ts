import { ServiceUnavailable } from '../errors';
import { randomKey, wipe } from './aead';
import {
  cipherOf,
  CIPHER_ALGORITHMS,
  macOf,
  MAC_ALGORITHMS,
  type CipherAlgorithm,
  type CryptoProfile,
  type KeyAlgorithm,
  type MacAlgorithm,
} from './crypto-profile';
import type { KeyPurpose, KeyringEntry, KeyringStore } from './keyring-store';
import { createFileMasterKeyProvider, UnwrapError } from './key-provider';
import type { MasterKey } from './master-key';
import { singleMasterKeySet, type MasterKeySet } from './master-key-set';

export type BlindIndexPurpose = Extract<KeyPurpose, `blind-index:${string}`>;
const BLIND_INDEX_PURPOSES: readonly BlindIndexPurpose[] = [
  'blind-index:idNumber',
  'blind-index:name',
  'blind-index:person',
];

export interface VersionedKey<A extends KeyAlgorithm = KeyAlgorithm> {
  version: number;
  key: Buffer;
  /** What this version is used with (its keyring entry's algorithm). */
  algorithm: A;
}

/**
 * The algorithm of a keyring entry. Entries from before profiles carry none:
 * they were all made for the intl algorithms.
 */
export function algorithmOf(entry: Pick<KeyringEntry, 'purpose' | 'algorithm'>): KeyAlgorithm {
  if (entry.algorithm) return entry.algorithm;
  return entry.purpose.startsWith('blind-index:') ? 'hmac-sha256' : 'aes-256-gcm';
}

/**
 * The algorithm a new version of `purpose` gets under `profile`. Legal-hold
 * sealing (src/retention/) calls aead.ts directly, so its key stays AES-256-GCM
 * under both profiles (docs/cryptography.md, "Not covered yet").
 */
export function algorithmFor(purpose: KeyPurpose, profile: CryptoProfile): KeyAlgorithm {
  if (purpose === 'kek') return cipherOf(profile);
  if (purpose.startsWith('blind-index:')) return macOf(profile);
  return 'aes-256-gcm';
}

const CIPHERS = new Set<string>(CIPHER_ALGORITHMS);
const MACS = new Set<string>(MAC_ALGORITHMS);

/** A key's algorithm must be one its purpose can use: a MAC key never encrypts, and the reverse. */
function fitsPurpose(purpose: KeyPurpose, algorithm: KeyAlgorithm): boolean {
  return purpose.startsWith('blind-index:') ? MACS.has(algorithm) : CIPHERS.has(algorithm);
}

/**
 * The symmetric keys of the hierarchy, unwrapped with the master key (the
 * version each entry records, in a file or in an HSM: master-key-set.ts) when
 * opened and then held only in memory: versioned key-encryption keys
 * (KEKs) and the blind-index keys.
 */
export interface Keyring {
  /** Loads (and on a fresh database creates) the keys. Throws KeyringError when they cannot be unwrapped. */
  open(): Promise<void>;
  isOpen(): boolean;
  /** The KEK that wraps new data keys: the highest active version. */
  currentKek(): VersionedKey<CipherAlgorithm>;
  /** A KEK by version; reloads once for a version not seen yet; null when unknown or retired. */
  kek(version: number): Promise<VersionedKey<CipherAlgorithm> | null>;
  /** The version new indexes are made with: the highest active one. */
  blindIndexKey(purpose: BlindIndexPurpose): VersionedKey<MacAlgorithm>;
  /** What this instance holds and writes of the blind-index keys (`<purpose>#<version>`). */
  blindIndexState(): { holds: string[]; writes: string[] };
  /** Whether the keyring held an entry of this version at its last load, in any status (retired too). */
  blindIndexVersionKnown(purpose: BlindIndexPurpose, version: number): boolean;
  /** Every live version of a blind-index key (pending, active, retiring), newest first: lookups try each. */
  blindIndexKeys(purpose: BlindIndexPurpose): VersionedKey<MacAlgorithm>[];
  /**
   * Adds version max+1 of a blind-index key as `pending`, with the profile's
   * MAC (docs/cryptography.md, "Moving stored data"), or answers the pending
   * one an earlier run added; `activateBlindIndexKey` then makes it the one
   * new indexes use.
   */
  addBlindIndexVersion(purpose: BlindIndexPurpose): Promise<number>;
  /** Makes a pending version active and every older live version retiring. */
  activateBlindIndexKey(purpose: BlindIndexPurpose, version: number): Promise<void>;
  /** Retires every version below the active one (no stored index names them any more) and any pending one. */
  retireOlderBlindIndexKeys(purpose: BlindIndexPurpose): Promise<number[]>;
  /** The key that seals legal holds (and only them): the newest version. */
  retentionKey(): VersionedKey;
  /** A legal-retention key by version; null when unknown or retired. */
  retentionKeyVersion(version: number): Buffer | null;
  /** Asks the database (not memory): a rotation in another process may have retired it. */
  isKekRetired(version: number): Promise<boolean>;
  reload(): Promise<void>;
  /**
   * Creates KEK version max+1 as the current one, with the algorithm of the
   * keyring's profile, and marks all older live versions retiring.
   */
  addKekVersion(): Promise<number>;
  /** Live KEK versions below the current one (a rotation has yet to finish them). */
  retiringKekVersions(): number[];
  /** Retires a KEK version: its wrapped material is deleted from the database. */
  retireKek(version: number): Promise<void>;
  /** Wipes every key held in memory. */
  close(): void;
}

export class KeyringError extends Error {}

/** `<purpose>#<version>`: a key's name in memory and in the instances' reports (keyring_readers). */
export const slot = (purpose: KeyPurpose, version: number) => `${purpose}#${version}`;

/**
 * Longer than 60 lines for a reason: the unwrapped KEKs and blind-index keys
 * live in this closure, so nothing outside it can reach them; each method is
 * short.
 */
export function createKeyring(
  store: KeyringStore,
  masterKeys: () => MasterKeySet | MasterKey,
  { profile = 'intl' }: { profile?: CryptoProfile } = {},
): Keyring {
  let master: MasterKeySet | null = null;
  let entries: KeyringEntry[] = [];
  const keys = new Map<string, Buffer>();

  function requireOpen(): MasterKeySet {
    if (!master) throw new ServiceUnavailable('The keys are not loaded yet.');
    return master;
  }

  async function unwrapEntry(entry: KeyringEntry, set: MasterKeySet): Promise<Buffer> {
    if (!fitsPurpose(entry.purpose, algorithmOf(entry))) {
      throw new KeyringError(
        `keyring entry ${entry.purpose} v${entry.version} records an algorithm its purpose cannot use`,
      );
    }
    const provider = await set.find(entry.masterKeyFingerprint);
    if (!provider) {
      throw new KeyringError(
        `keyring entry ${entry.purpose} v${entry.version} was wrapped by another master key ` +
          `(${entry.masterKeyFingerprint.slice(0, 16)}..., the ${set.kind} provider has ` +
          `${set.current().fingerprint.slice(0, 16)}...)`,
      );
    }
    let key: Buffer;
    try {
      key = await provider.unwrap(Buffer.from(entry.wrapped!, 'base64'));
    } catch (error) {
      // A token that is gone (HsmError) is the operator's problem, not this entry's: keep it.
      if (!(error instanceof UnwrapError)) throw error;
      key = Buffer.alloc(0);
    }
    if (key.length !== 32) {
      wipe(key);
      throw new KeyringError(
        `keyring entry ${entry.purpose} v${entry.version} cannot be unwrapped`,
      );
    }
    return key;
  }

  async function load(current: MasterKeySet): Promise<void> {
    const listed = await store.list();
    const live = new Set<string>();
    for (const entry of listed) {
      if (entry.status === 'retired' || !entry.wrapped) continue;
      const name = slot(entry.purpose, entry.version);
      live.add(name);
      // Loads run one at a time (loadLatest): nothing sets a slot between this check and the set.
      if (!keys.has(name)) keys.set(name, await unwrapEntry(entry, current));
    }
    for (const [name, key] of keys) {
      if (!live.has(name)) {
        wipe(key);
        keys.delete(name);
      }
    }
    entries = listed;
  }

  let loading: Promise<void> | null = null;
  let queued: Promise<void> | null = null;

  /**
   * One load at a time, and the last one applied is the newest snapshot: a
   * caller arriving while a load runs (which may have listed before the
   * caller's change) shares one more load after it.
   */
  function loadLatest(current: MasterKeySet): Promise<void> {
    if (!loading) {
      loading = load(current).finally(() => {
        loading = null;
      });
      return loading;
    }
    queued ??= loading
      .catch(() => undefined)
      .then(() => {
        queued = null;
        return loadLatest(current);
      });
    return queued;
  }

  async function createEntry(
    purpose: KeyPurpose,
    version: number,
    set: MasterKeySet,
    status: 'active' | 'pending' = 'active',
  ): Promise<boolean> {
    // A rotation in another process may have made a newer master key version: wrap with it.
    await set.refresh();
    const current = set.current();
    const key = randomKey();
    const inserted = await store.insert({
      purpose,
      version,
      status,
      algorithm: algorithmFor(purpose, profile),
      wrapped: current.wrap(key).toString('base64'),
      masterKeyFingerprint: current.fingerprint,
      createdAt: new Date(),
      retiredAt: null,
    });
    wipe(key);
    return inserted;
  }

  function liveVersions(purpose: KeyPurpose): KeyringEntry[] {
    return entries
      .filter((entry) => entry.purpose === purpose && entry.status !== 'retired' && entry.wrapped)
      .sort((a, b) => a.version - b.version);
  }

  function newest<A extends KeyAlgorithm>(purpose: KeyPurpose): VersionedKey<A> {
    // A pending version is for lookups only until it is activated.
    const live = liveVersions(purpose).filter((entry) => entry.status !== 'pending');
    const chosen = [...live].reverse().find((entry) => entry.status === 'active') ?? live.at(-1);
    const key = chosen ? keys.get(slot(purpose, chosen.version)) : undefined;
    if (!chosen || !key) throw new ServiceUnavailable('The keys are not loaded yet.');
    return { version: chosen.version, key, algorithm: algorithmOf(chosen) as A };
  }

  /** A live KEK version held in memory, with its algorithm; null when unknown or retired. */
  function heldKek(version: number): VersionedKey<CipherAlgorithm> | null {
    const key = keys.get(slot('kek', version));
    const entry = entries.find((e) => e.purpose === 'kek' && e.version === version);
    if (!key || !entry) return null;
    return { version, key, algorithm: algorithmOf(entry) as CipherAlgorithm };
  }

  return {
    async open() {
      const given = masterKeys();
      // A bare MasterKey (bench/crypto.ts, keys in memory) is one file version.
      const current =
        'privateKey' in given ? singleMasterKeySet(createFileMasterKeyProvider(given)) : given;
      await loadLatest(current);
      // A fresh database gets version 1 of each key; a lost race just reloads.
      let created = false;
      for (const purpose of ['kek', ...BLIND_INDEX_PURPOSES, 'legal-retention'] as const) {
        if (!entries.some((entry) => entry.purpose === purpose)) {
          await createEntry(purpose, 1, current);
          created = true;
        }
      }
      if (created) await loadLatest(current);
      master = current;
    },

    isOpen: () => master !== null,

    currentKek() {
      requireOpen();
      return newest<CipherAlgorithm>('kek');
    },

    async kek(version) {
      const current = requireOpen();
      const held = heldKek(version);
      if (held) return held;
      await loadLatest(current);
      return heldKek(version);
    },

    blindIndexKey(purpose) {
      requireOpen();
      return newest<MacAlgorithm>(purpose);
    },

    blindIndexKeys(purpose) {
      requireOpen();
      return liveVersions(purpose)
        .reverse()
        .flatMap((entry) => {
          const key = keys.get(slot(purpose, entry.version));
          return key
            ? [{ version: entry.version, key, algorithm: algorithmOf(entry) as MacAlgorithm }]
            : [];
        });
    },

    blindIndexState() {
      requireOpen();
      return {
        holds: BLIND_INDEX_PURPOSES.flatMap((purpose) =>
          liveVersions(purpose).map((entry) => slot(purpose, entry.version)),
        ),
        writes: BLIND_INDEX_PURPOSES.map((purpose) => slot(purpose, newest(purpose).version)),
      };
    },

    blindIndexVersionKnown(purpose, version) {
      return entries.some((entry) => entry.purpose === purpose && entry.version === version);
    },

    async addBlindIndexVersion(purpose) {
      const current = requireOpen();
      await loadLatest(current);
      // Resuming: the pending version an earlier run added (with this profile's MAC) is the one.
      const pending = liveVersions(purpose).find(
        (entry) =>
          entry.status === 'pending' && algorithmOf(entry) === algorithmFor(purpose, profile),
      );
      if (pending) return pending.version;
      const version =
        1 + Math.max(0, ...entries.filter((e) => e.purpose === purpose).map((e) => e.version));
      if (!(await createEntry(purpose, version, current, 'pending'))) {
        throw new KeyringError(`another process created ${purpose} v${version}; run again`);
      }
      await loadLatest(current);
      return version;
    },

    async activateBlindIndexKey(purpose, version) {
      const current = requireOpen();
      await store.activate(purpose, version);
      for (const entry of liveVersions(purpose)) {
        if (entry.version < version) await store.markRetiring(purpose, entry.version);
      }
      await loadLatest(current);
    },

    async retireOlderBlindIndexKeys(purpose) {
      const current = requireOpen();
      await loadLatest(current);
      const active = newest(purpose).version;
      // A pending version left by an abandoned move would otherwise be computed by every lookup.
      const older = liveVersions(purpose).filter(
        (entry) => entry.version < active || entry.status === 'pending',
      );
      for (const entry of older) await store.retire(purpose, entry.version, new Date());
      await loadLatest(current);
      return older.map((entry) => entry.version);
    },

    retentionKey() {
      requireOpen();
      return newest('legal-retention');
    },

    retentionKeyVersion(version) {
      requireOpen();
      return keys.get(slot('legal-retention', version)) ?? null;
    },

    async isKekRetired(version) {
      return (await store.status('kek', version)) === 'retired';
    },

    async reload() {
      await loadLatest(requireOpen());
    },

    async addKekVersion() {
      const current = requireOpen();
      await loadLatest(current);
      const highest = Math.max(
        0,
        ...entries.filter((e) => e.purpose === 'kek').map((e) => e.version),
      );
      const version = highest + 1;
      if (!(await createEntry('kek', version, current))) {
        throw new KeyringError('another rotation created the same KEK version; run rotate again');
      }
      for (const entry of liveVersions('kek')) {
        if (entry.version < version) await store.markRetiring('kek', entry.version);
      }
      await loadLatest(current);
      return version;
    },

    retiringKekVersions() {
      requireOpen();
      const current = newest('kek').version;
      return liveVersions('kek')
        .map((entry) => entry.version)
        .filter((version) => version < current);
    },

    async retireKek(version) {
      const current = requireOpen();
      if (version >= newest('kek').version) throw new KeyringError('cannot retire the current KEK');
      await store.retire('kek', version, new Date());
      await loadLatest(current);
    },

    close() {
      for (const key of keys.values()) wipe(key);
      keys.clear();
      entries = [];
      master = null;
    },
  };
}
