import { wipe } from './aead';
import { unwrapDataKey, wrapDataKey, wrappingKekVersion } from './data-key-wrap';
import type { CipherAlgorithm } from './crypto-profile';
import type { Keyring, VersionedKey } from './keyring';
import type { SubjectKeyEntry, SubjectKeyStore } from './subject-key-store';

export interface RotationOptions {
  batchSize: number;
  /** Called once the target version and the work left are known. */
  onStart?(info: {
    toVersion: number;
    fromVersions: number[];
    total: number;
    resumed: boolean;
  }): void;
  /** Called after every batch; a throw stops the rotation there (it resumes on the next run). */
  onBatch?(progress: { done: number; total: number }): void | Promise<void>;
}

export interface RotationResult {
  toVersion: number;
  retiredVersions: number[];
  rewrapped: number;
  resumed: boolean;
}

export class RotationError extends Error {}

/**
 * Rotates the key-encryption key: creates KEK version N+1 (with the keyring
 * profile's algorithm: a rotation under CRYPTO_PROFILE=gm moves the data keys
 * from `dk1` AES-256-GCM to `dg1` SM4 wrapping, and back), re-wraps every
 * live data key still wrapped by an older version, batch by batch, then
 * retires the old versions (their wrapped material is deleted). Field
 * ciphertext is not touched: the data keys themselves stay the same.
 *
 * All state is in the database (KEK statuses, each data key's KEK version),
 * so an interrupted run is resumed by running it again: it finds the older
 * live versions, keeps the current target, and re-wraps only what is left.
 */
export async function rotateKeyEncryptionKey(
  { keyring, subjectKeys }: { keyring: Keyring; subjectKeys: SubjectKeyStore },
  options: RotationOptions,
): Promise<RotationResult> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new RotationError('batch size must be a positive integer');
  }
  await keyring.reload();
  const resumed = keyring.retiringKekVersions().length > 0;
  if (!resumed) await keyring.addKekVersion();
  const target = keyring.currentKek();
  const fromVersions = keyring.retiringKekVersions();
  const total = await subjectKeys.countWrappedBefore(target.version);
  options.onStart?.({ toVersion: target.version, fromVersions, total, resumed });

  let done = 0;
  let stalled = 0;
  for (;;) {
    const batch = await subjectKeys.listWrappedBefore(target.version, options.batchSize);
    if (batch.length === 0) break;
    let moved = 0;
    for (const entry of batch) {
      const kek = await keyring.kek(wrappingKekVersion(entry.wrappedKey!));
      if (!kek)
        throw new RotationError('a data key is wrapped by a KEK that is no longer available');
      if (await rewrap(entry, kek, target, subjectKeys)) moved += 1;
    }
    done += batch.length;
    // Compare-and-set misses (a concurrent destroy or re-wrap) leave the set anyway; guard a loop.
    stalled = moved === 0 ? stalled + 1 : 0;
    if (stalled >= 3) throw new RotationError('re-wrapping makes no progress; run rotate again');
    await options.onBatch?.({ done: Math.min(done, total), total });
  }

  for (const version of fromVersions) {
    const held = await keyring.kek(version);
    const oldKey = held ? { ...held, key: Buffer.from(held.key) } : null;
    try {
      await keyring.retireKek(version);
      // A process that had not seen the new version yet may have wrapped a key with this one
      // just before it was retired; it checks after writing, and this pass catches the rest.
      if (oldKey) {
        for (;;) {
          const stragglers = await subjectKeys.listWrappedWith(version, options.batchSize);
          if (stragglers.length === 0) break;
          for (const entry of stragglers) await rewrap(entry, oldKey, target, subjectKeys);
        }
      }
    } finally {
      wipe(oldKey?.key);
    }
  }
  return { toVersion: target.version, retiredVersions: fromVersions, rewrapped: done, resumed };
}

async function rewrap(
  entry: SubjectKeyEntry,
  oldKek: VersionedKey<CipherAlgorithm>,
  target: VersionedKey<CipherAlgorithm>,
  subjectKeys: SubjectKeyStore,
): Promise<boolean> {
  let dataKey: Buffer;
  try {
    dataKey = unwrapDataKey(oldKek, entry.wrappedKey!, entry.subjectId, entry.dataKeyVersion);
  } catch {
    throw new RotationError('a data key cannot be unwrapped (altered or wrapped by another key)');
  }
  try {
    const wrapped = wrapDataKey(target, entry.subjectId, entry.dataKeyVersion, dataKey);
    return await subjectKeys.rewrap(entry.subjectId, entry.wrappedKey!, wrapped, target.version);
  } finally {
    wipe(dataKey);
  }
}
