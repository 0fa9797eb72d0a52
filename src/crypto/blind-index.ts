import { timingSafeEqual } from 'node:crypto';
import { macWith } from './cipher-suite';
import type { MacAlgorithm } from './crypto-profile';
import type { BlindIndexPurpose, Keyring, VersionedKey } from './keyring';

/**
 * Keyed blind indexes: HMAC-SHA-256 or HMAC-SM3 (the key version's recorded
 * algorithm) of an already normalised value, one key per purpose, so equal values can be found and compared without decrypting
 * and an index of one kind cannot be matched against another. The result is
 * `<key version>:<base64url>`; normalising is the caller's job (it is domain logic).
 *
 * New indexes are made with the active key version of their purpose. The
 * idNumber and name keys can move to a new version (and the profile's MAC):
 * `npm run keys -- move-profile` adds it as pending (lookups try every live
 * version), activates it, re-indexes every record and then retires the old
 * one (docs/cryptography.md). The person key is never re-keyed.
 */
/** The blind indexes a lookup finds records by; `person` is never re-keyed (see BlindIndex.person). */
export type RekeyedIndex = 'idNumber' | 'name';

export interface BlindIndex {
  idNumber(normalisedIdNumber: string): string;
  name(normalisedName: string): string;
  /**
   * The natural person behind an id number, for records kept about the
   * person rather than one registration (the quota ledger). Its own key:
   * it outlives the identity record, whose idNumber index is dropped on
   * erasure, and it never changes for a person.
   */
  person(normalisedIdNumber: string): string;
  /**
   * The value's index under every live key version, newest first: what a
   * lookup must try while a re-index (keys move-profile) is under way.
   */
  candidates(kind: RekeyedIndex, value: string): string[];
  /**
   * Whether `stored` is the value's index, computed with the key version
   * `stored` names (constant time in the index); false for an unknown version.
   */
  matches(kind: RekeyedIndex, stored: string | null, value: string): boolean;
  /** Whether `stored` was made with the version new indexes use. */
  isCurrent(kind: RekeyedIndex, stored: string): boolean;
  /**
   * Reloads the keyring once when `stored` names a version not held in
   * memory (another process added it since the last reload); nothing otherwise.
   */
  loadVersionOf(kind: RekeyedIndex, stored: string | null): Promise<void>;
}

const purposeOf = (kind: RekeyedIndex | 'person'): BlindIndexPurpose => `blind-index:${kind}`;

function requireValue(value: string): void {
  if (typeof value !== 'string' || value.length === 0)
    throw new TypeError('value must be a non-empty string');
}

const indexWith = ({ version, key, algorithm }: VersionedKey<MacAlgorithm>, value: string) =>
  `${version}:${macWith(algorithm, key, value)}`;

/** The key version an index names (`<version>:<mac>`); NaN for `deleted:<id>`. */
const versionOf = (stored: string) => Number(stored.slice(0, stored.indexOf(':')));

const UNKNOWN_VERSION_RELOAD_MS = 1000;

export function createBlindIndex(keyring: Keyring): BlindIndex {
  let lastUnknownReload = 0;
  const heldKeyOf = (kind: RekeyedIndex, stored: string) =>
    keyring.blindIndexKeys(purposeOf(kind)).find((key) => key.version === versionOf(stored));
  const compute = (kind: RekeyedIndex | 'person', value: string) => {
    requireValue(value);
    return indexWith(keyring.blindIndexKey(purposeOf(kind)), value);
  };
  return {
    idNumber: (value) => compute('idNumber', value),
    name: (value) => compute('name', value),
    person: (value) => compute('person', value),
    candidates(kind, value) {
      requireValue(value);
      return keyring.blindIndexKeys(purposeOf(kind)).map((key) => indexWith(key, value));
    },
    matches(kind, stored, value) {
      requireValue(value);
      if (stored === null) return false;
      const key = heldKeyOf(kind, stored);
      if (!key) return false;
      const expected = Buffer.from(indexWith(key, value));
      const given = Buffer.from(stored);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
    isCurrent(kind, stored) {
      return stored.startsWith(`${keyring.blindIndexKey(purposeOf(kind)).version}:`);
    },
    async loadVersionOf(kind, stored) {
      // `deleted:<id>` and null name no version: nothing to load.
      if (stored === null || !/^\d+:/.test(stored) || heldKeyOf(kind, stored)) return;
      // A version the keyring knows but does not hold was retired: reloading cannot bring it back.
      if (keyring.blindIndexVersionKnown(purposeOf(kind), versionOf(stored))) return;
      // At most one reload a second for unknown versions, whoever asks (a partner picks the
      // identity), and never a failed request for it: the timer's reload logs its failures.
      if (Date.now() - lastUnknownReload < UNKNOWN_VERSION_RELOAD_MS) return;
      lastUnknownReload = Date.now();
      await keyring.reload().catch(() => undefined);
    },
  };
}
