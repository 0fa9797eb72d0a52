import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import type { Keyring } from './keyring';
import type { KeyringReadersStore } from './keyring-readers-store';

export interface KeyringRefresher {
  /**
   * False once reloads have failed for three intervals: the instance may be
   * missing a key version others use (a profile move), so it stops taking
   * traffic until a reload succeeds (readiness).
   */
  isCurrent(): boolean;
  stop(): Promise<void>;
}

/**
 * Reloads the keyring every `refreshMs` (0: never), so new key versions made
 * by another process reach this instance, and reports after each reload what
 * it holds (keyring-readers-store.ts): `keys move-profile` waits on those
 * reports. The first report is made at start, also with `refreshMs` 0, so
 * the move can see an instance that would never learn of a new version.
 */
export async function startKeyringRefresher({
  keyring,
  readers,
  refreshMs,
  logger,
}: {
  keyring: Keyring;
  /** Null: reload without reporting (a maintenance tool). */
  readers: KeyringReadersStore | null;
  refreshMs: number;
  logger: Logger;
}): Promise<KeyringRefresher> {
  const instanceId = randomUUID();
  const report = async () => {
    await readers?.report({
      instanceId,
      refreshMs,
      heartbeatAt: new Date(),
      ...keyring.blindIndexState(),
    });
  };
  await report();
  let lastReload = Date.now();
  const timer = refreshMs
    ? setInterval(() => {
        // The keyring runs one load at a time (and shares it), so a tick never overlaps another.
        // A failed reload is reported too (what is held), so a move waits for this instance
        // rather than taking it for gone.
        keyring
          .reload()
          .then(() => {
            lastReload = Date.now();
          })
          .catch((error: unknown) => {
            logger.warn({ err: error }, 'keyring reload failed; the keys held stay in use');
          })
          .then(report)
          .catch((error: unknown) => {
            logger.warn({ err: error }, 'keyring report failed');
          });
      }, refreshMs)
    : null;
  timer?.unref();
  return {
    isCurrent: () => refreshMs === 0 || Date.now() - lastReload <= refreshMs * 3,
    async stop() {
      if (timer) clearInterval(timer);
      await readers?.remove(instanceId).catch(() => undefined);
    },
  };
}
