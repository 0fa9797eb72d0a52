import { wipe } from './aead';
import type { KeyringEntry, KeyringRewrapStore, KeyringStore } from './keyring-store';
import { UnwrapError } from './key-provider';
import type { MasterKeySet } from './master-key-set';
import type { MasterKeyVersionStore } from './master-key-versions';

/** One step of a rotation, for the operator's record (the CLI logs each as a structured line). */
export type MasterKeyRotationStep =
  | { step: 'version-created'; version: number; fingerprint: string }
  | { step: 'rotation-resumed'; version: number; fingerprint: string }
  | {
      step: 'entry-rewrapped';
      purpose: string;
      keyVersion: number;
      fromFingerprint: string;
      toFingerprint: string;
    }
  | { step: 'verified'; version: number; fingerprint: string; entries: number }
  | { step: 'version-destroyed'; version: number; fingerprint: string };

export interface MasterKeyRotationOptions {
  /** Called once the target version and the work left are known. */
  onStart?(info: {
    toVersion: number;
    fromVersions: number[];
    total: number;
    resumed: boolean;
  }): void;
  /** After every re-wrapped entry; a throw stops the rotation there (the next run resumes). */
  onProgress?(progress: { done: number; total: number }): void | Promise<void>;
  onStep?(step: MasterKeyRotationStep): void;
}

export interface MasterKeyRotationResult {
  toVersion: number;
  fingerprint: string;
  destroyedVersions: number[];
  rewrapped: number;
  verified: number;
  resumed: boolean;
}

export class MasterKeyRotationError extends Error {}

/** Rounds of re-wrap and verify before giving up on entries another process keeps writing. */
const MAX_ROUNDS = 3;

const live = (entry: KeyringEntry) => entry.status !== 'retired' && entry.wrapped !== null;

/**
 * Rotates the master key: makes version N+1 (files in KEYS_DIR, or a pair
 * generated in the token), re-wraps every live keyring entry under it
 * (compare-and-set, entry by entry), then a verification pass unwraps every
 * entry with the new version, and only then destroys the older versions
 * (files deleted; C_DestroyObject in the token).
 *
 * The state is where a reader needs it: the versions present (KEYS_DIR or
 * token) and the fingerprint each keyring entry records. More than one version present
 * means a rotation is under way, so a second run resumes it (re-wraps what is
 * left) instead of starting another. Every entry stays readable throughout:
 * the service unwraps each with the version its fingerprint names, and finds a
 * version created by another process when it first meets its fingerprint.
 */
export async function rotateMasterKey(
  {
    versions: home,
    store,
  }: { versions: MasterKeyVersionStore; store: KeyringStore & KeyringRewrapStore },
  options: MasterKeyRotationOptions = {},
): Promise<MasterKeyRotationResult> {
  const before = await home.list();
  if (before.length === 0) {
    throw new MasterKeyRotationError(`no master key in ${home.where} to rotate`);
  }
  const resumed = before.length > 1;
  if (!resumed) {
    const created = await home.create();
    options.onStep?.({ step: 'version-created', ...created });
  }
  const set = await home.open();
  try {
    const target = set.versions().at(-1)!;
    const fromVersions = set
      .versions()
      .slice(0, -1)
      .map((held) => held.version);
    const { fingerprint } = target.provider;
    if (resumed)
      options.onStep?.({ step: 'rotation-resumed', version: target.version, fingerprint });

    const pending = (await store.list()).filter(
      (entry) => live(entry) && entry.masterKeyFingerprint !== fingerprint,
    );
    options.onStart?.({ toVersion: target.version, fromVersions, total: pending.length, resumed });
    let rewrapped = 0;
    let verified = 0;
    for (let round = 1; ; round += 1) {
      rewrapped += await rewrapAll(
        round === 1 ? pending : await stillPending(store, fingerprint),
        set,
        store,
        options,
        pending.length,
      );
      const outcome = await verify(store, set);
      if (outcome.pending === 0) {
        verified = outcome.verified;
        break;
      }
      // Another process wrapped a new entry with an older version meanwhile: move it too.
      if (round === MAX_ROUNDS) {
        throw new MasterKeyRotationError(
          'entries keep appearing under an older master key; stop KEK rotations and run rotate-master again',
        );
      }
    }
    options.onStep?.({ step: 'verified', version: target.version, fingerprint, entries: verified });

    for (const old of set.versions().slice(0, -1)) {
      await home.destroy(old.version);
      options.onStep?.({
        step: 'version-destroyed',
        version: old.version,
        fingerprint: old.provider.fingerprint,
      });
    }
    return {
      toVersion: target.version,
      fingerprint,
      destroyedVersions: fromVersions,
      rewrapped,
      verified,
      resumed,
    };
  } finally {
    await set.close();
  }
}

async function stillPending(store: KeyringStore, fingerprint: string): Promise<KeyringEntry[]> {
  return (await store.list()).filter(
    (entry) => live(entry) && entry.masterKeyFingerprint !== fingerprint,
  );
}

async function rewrapAll(
  entries: KeyringEntry[],
  set: MasterKeySet,
  store: KeyringRewrapStore,
  options: MasterKeyRotationOptions,
  total: number,
): Promise<number> {
  const target = set.current();
  let done = 0;
  for (const entry of entries) {
    const from = await set.find(entry.masterKeyFingerprint);
    if (!from) {
      throw new MasterKeyRotationError(
        `keyring entry ${entry.purpose} v${entry.version} is wrapped by a master key not found (${entry.masterKeyFingerprint.slice(0, 16)}...)`,
      );
    }
    const key = await unwrapOrFail(from.unwrap.bind(from), entry);
    try {
      await store.rewrap(entry.purpose, entry.version, entry.wrapped!, {
        wrapped: target.wrap(key).toString('base64'),
        masterKeyFingerprint: target.fingerprint,
      });
    } finally {
      wipe(key);
    }
    done += 1;
    options.onStep?.({
      step: 'entry-rewrapped',
      purpose: entry.purpose,
      keyVersion: entry.version,
      fromFingerprint: entry.masterKeyFingerprint,
      toFingerprint: target.fingerprint,
    });
    await options.onProgress?.({ done, total: Math.max(total, done) });
  }
  return done;
}

/**
 * The verification pass: every live entry must name the new version and
 * unwrap with it to a 32-byte key. An entry that does not unwrap stops the
 * rotation before anything is destroyed.
 */
async function verify(
  store: KeyringStore,
  set: MasterKeySet,
): Promise<{ verified: number; pending: number }> {
  const target = set.current();
  let verified = 0;
  let pending = 0;
  for (const entry of await store.list()) {
    if (!live(entry)) continue;
    if (entry.masterKeyFingerprint !== target.fingerprint) {
      pending += 1;
      continue;
    }
    wipe(await unwrapOrFail(target.unwrap.bind(target), entry));
    verified += 1;
  }
  return { verified, pending };
}

async function unwrapOrFail(
  unwrap: (wrapped: Buffer) => Promise<Buffer>,
  entry: KeyringEntry,
): Promise<Buffer> {
  let key: Buffer | null = null;
  try {
    key = await unwrap(Buffer.from(entry.wrapped!, 'base64'));
  } catch (error) {
    if (!(error instanceof UnwrapError)) throw error;
  }
  if (key?.length !== 32) {
    wipe(key ?? undefined);
    throw new MasterKeyRotationError(
      `keyring entry ${entry.purpose} v${entry.version} does not unwrap: nothing was destroyed`,
    );
  }
  return key;
}
