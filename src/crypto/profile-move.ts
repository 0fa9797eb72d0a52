import type { BlindIndex, RekeyedIndex } from './blind-index';
import { cipherOf, macOf, type CryptoProfile } from './crypto-profile';
import type { FieldCipher } from './field-cipher-types';
import { slot, type Keyring } from './keyring';
import type { KeyringReader, KeyringReadersStore } from './keyring-readers-store';
import {
  moveStoredData,
  type MoveOptions,
  type SealedRecordSource,
  type SourceReport,
} from './stored-data-move';

/**
 * `npm run keys -- move-profile`: after `keys:rotate` moved the KEKs, moves
 * what is stored to the current profile without downtime.
 *
 * 1. A new idNumber and name blind-index key version with the profile's MAC,
 *    added as pending: every instance reloads its keyring within
 *    KEYRING_REFRESH_MS and from then on looks records up under both
 *    versions. The move waits until every live instance reports holding it
 *    (keyring-readers-store.ts).
 * 2. Then the new version is activated, and the move waits until every
 *    instance reports writing with it, and `settleMs` more.
 * 3. Every record is re-sealed and re-indexed (compare-and-set per record;
 *    an access event before each read).
 * 4. A check pass counts what is left; when nothing is, a second one after
 *    `settleMs` confirms it, and the old blind-index versions (and any
 *    pending one an abandoned run left) are retired. Otherwise run again (it
 *    resumes). Records of erased subjects are left sealed and do not count.
 *
 * The person key (quota ledger) is not moved: docs/cryptography.md says why.
 */

const REKEYED: readonly RekeyedIndex[] = ['idNumber', 'name'];

export type ProfileMoveStep =
  | { step: 'blind-index-pending'; purpose: string; version: number; algorithm: string }
  | { step: 'blind-index-activated'; purpose: string; version: number }
  | { step: 'settling'; ms: number }
  | { step: 'pass-done'; reports: SourceReport[] }
  | { step: 'check-done'; left: number }
  | { step: 'blind-index-retired'; purpose: string; versions: number[] };

export interface ProfileMoveReport {
  profile: CryptoProfile;
  reports: SourceReport[];
  /** Records still not in the profile's form after the pass (0: the move is complete). */
  left: number;
  retired: Record<string, number[]>;
}

export class ProfileMoveError extends Error {}

export interface ProfileMoveDeps {
  keyring: Keyring;
  /** What each running instance reports it holds of the keyring. */
  readers: Pick<KeyringReadersStore, 'list'>;
  fieldCipher: FieldCipher;
  blindIndex: BlindIndex;
  sources: SealedRecordSource[];
  profile: CryptoProfile;
  sleep(ms: number): Promise<void>;
}

export interface ProfileMoveOptions extends Omit<MoveOptions, 'checkOnly'> {
  /**
   * 0: no instance runs (nothing is waited for). Otherwise how long requests
   * already under way may still write an old index after their instance
   * reloaded (2 × KEYRING_REFRESH_MS); waits for instances are bounded by 5×.
   */
  settleMs: number;
  /** Awaited: a step waits for it (tests look at the service between steps). */
  onStep?(step: ProfileMoveStep): void | Promise<void>;
}

const ACK_POLL_MS = 200;
const MIN_ACK_WAIT_MS = 5000;

/** Instances whose last report is recent enough to count (a crashed one stops reporting). */
async function liveInstances(deps: ProfileMoveDeps): Promise<KeyringReader[]> {
  const now = Date.now();
  return (await deps.readers.list()).filter(
    (reader) =>
      reader.refreshMs === 0 || now - reader.heartbeatAt.getTime() <= reader.refreshMs * 3,
  );
}

/** Refuses to run beside an instance that never reloads: it would never learn of a new version. */
async function refuseNeverReloading(deps: ProfileMoveDeps): Promise<void> {
  const never = (await liveInstances(deps)).filter((reader) => reader.refreshMs === 0);
  if (never.length === 0) return;
  throw new ProfileMoveError(
    `${never.length} running instance(s) never reload the keyring (KEYRING_REFRESH_MS=0: ` +
      `${never.map((reader) => reader.instanceId.slice(0, 8)).join(', ')}): ` +
      'restart them with a refresh interval, or stop every instance and pass --service-stopped',
  );
}

/** Waits until every live instance reports `has`; a ProfileMoveError naming the late ones after a bound. */
async function untilEveryInstance(
  deps: ProfileMoveDeps,
  options: ProfileMoveOptions,
  what: string,
  has: (reader: KeyringReader) => boolean,
): Promise<void> {
  const deadline = Date.now() + Math.max(options.settleMs * 5, MIN_ACK_WAIT_MS);
  for (;;) {
    const late = (await liveInstances(deps)).filter((reader) => !has(reader));
    if (late.length === 0) return;
    if (Date.now() > deadline) {
      throw new ProfileMoveError(
        `${late.length} running instance(s) have not loaded ${what} ` +
          `(${late.map((reader) => reader.instanceId.slice(0, 8)).join(', ')}): ` +
          'check their keyring reloads (log "keyring reload failed"), then run again',
      );
    }
    await deps.sleep(ACK_POLL_MS);
  }
}

/** Steps 1 and 2: the blind-index keys of the profile, pending then active. */
async function moveBlindIndexKeys(
  deps: ProfileMoveDeps,
  options: ProfileMoveOptions,
): Promise<void> {
  const mac = macOf(deps.profile);
  const moving: { purpose: `blind-index:${RekeyedIndex}`; version: number }[] = [];
  for (const kind of REKEYED) {
    const purpose = `blind-index:${kind}` as const;
    if (deps.keyring.blindIndexKey(purpose).algorithm === mac) continue;
    const version = await deps.keyring.addBlindIndexVersion(purpose);
    await options.onStep?.({ step: 'blind-index-pending', purpose, version, algorithm: mac });
    moving.push({ purpose, version });
  }
  if (moving.length === 0) return;
  const serviceRuns = options.settleMs > 0;
  // Every instance looks records up under the new version before any record carries it.
  if (serviceRuns) {
    for (const { purpose, version } of moving) {
      await untilEveryInstance(deps, options, `${purpose} v${version}`, (reader) =>
        reader.holds.includes(slot(purpose, version)),
      );
    }
  }
  for (const { purpose, version } of moving) {
    await deps.keyring.activateBlindIndexKey(purpose, version);
    await options.onStep?.({ step: 'blind-index-activated', purpose, version });
  }
  if (!serviceRuns) return;
  for (const { purpose, version } of moving) {
    await untilEveryInstance(deps, options, `${purpose} v${version} as active`, (reader) =>
      reader.writes.includes(slot(purpose, version)),
    );
  }
  // Requests that made an index before their instance reloaded may still be writing it.
  await options.onStep?.({ step: 'settling', ms: options.settleMs });
  await deps.sleep(options.settleMs);
}

/** A check pass: what is still not in the profile's form (nothing read, recorded or written). */
async function leftToMove(deps: ProfileMoveDeps, options: ProfileMoveOptions): Promise<number> {
  const check = await moveStoredData(deps, deps.sources, { ...options, checkOnly: true });
  // In a check pass every stale record with a key is `changed`; one without a key is `unreadable`.
  const left = check.reduce((sum, report) => sum + report.changed + report.unreadable, 0);
  await options.onStep?.({ step: 'check-done', left });
  return left;
}

export async function moveToProfile(
  deps: ProfileMoveDeps,
  options: ProfileMoveOptions,
): Promise<ProfileMoveReport> {
  await deps.keyring.reload();
  const kek = deps.keyring.currentKek();
  if (kek.algorithm !== cipherOf(deps.profile)) {
    throw new ProfileMoveError(
      `the current KEK (v${kek.version}) is ${kek.algorithm}: run \`npm run keys:rotate\` under ` +
        `CRYPTO_PROFILE=${deps.profile} first`,
    );
  }
  if (options.settleMs > 0) await refuseNeverReloading(deps);
  await moveBlindIndexKeys(deps, options);
  const reports = await moveStoredData(deps, deps.sources, options);
  await options.onStep?.({ step: 'pass-done', reports });
  let left = await leftToMove(deps, options);
  if (left === 0 && options.settleMs > 0) {
    // Once more after a settle: an instance that had not reloaded yet may have written the old form.
    await options.onStep?.({ step: 'settling', ms: options.settleMs });
    await deps.sleep(options.settleMs);
    left = await leftToMove(deps, options);
  }
  const retired: Record<string, number[]> = {};
  if (left === 0) {
    for (const kind of REKEYED) {
      const purpose = `blind-index:${kind}` as const;
      const versions = await deps.keyring.retireOlderBlindIndexKeys(purpose);
      retired[purpose] = versions;
      if (versions.length > 0)
        await options.onStep?.({ step: 'blind-index-retired', purpose, versions });
    }
  }
  return { profile: deps.profile, reports, left, retired };
}
