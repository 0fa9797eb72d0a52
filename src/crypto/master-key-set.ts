import {
  createFileMasterKeyProvider,
  type KeyProviderKind,
  type MasterKeyProvider,
} from './key-provider';
import { loadMasterKey, MasterKeyError } from './master-key';
import {
  createMasterKeyVersion,
  destroyMasterKeyVersion,
  listMasterKeyVersions,
  masterKeyVersionDir,
  type MasterKeyVersionStore,
} from './master-key-versions';

export interface MasterKeyVersion {
  version: number;
  provider: MasterKeyProvider;
}

/**
 * Every master key version the service can use. The newest wraps new keyring
 * entries; an entry is unwrapped by the version whose fingerprint it records,
 * so entries stay readable while a rotation moves them from one version to
 * the next (src/crypto/master-key-rotation.ts).
 */
export interface MasterKeySet {
  readonly kind: KeyProviderKind;
  /** The newest version: wraps every new keyring entry. */
  current(): MasterKeyProvider;
  versions(): readonly MasterKeyVersion[];
  /** The version with that fingerprint; looks again once (a rotation elsewhere) when unknown. */
  find(fingerprint: string): Promise<MasterKeyProvider | null>;
  /** Picks up versions created, and drops versions destroyed, since the last look. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/** A set that never changes (one provider): the `pkcs11` provider today, and tests. */
export function singleMasterKeySet(provider: MasterKeyProvider): MasterKeySet {
  const versions = [{ version: 1, provider }];
  return {
    kind: provider.kind,
    current: () => provider,
    versions: () => versions,
    find: async (fingerprint) => (fingerprint === provider.fingerprint ? provider : null),
    refresh: async () => {},
    close: () => provider.close(),
  };
}

/** The file versions in KEYS_DIR (master-key-versions.ts), each read once and kept. */
export function openFileMasterKeySet(keysDir: string): MasterKeySet {
  let loaded = new Map<number, MasterKeyProvider>();

  function scan(): void {
    const next = new Map<number, MasterKeyProvider>();
    for (const version of listMasterKeyVersions(keysDir)) {
      next.set(
        version,
        loaded.get(version) ??
          createFileMasterKeyProvider(loadMasterKey(masterKeyVersionDir(keysDir, version))),
      );
    }
    if (next.size === 0) throw new MasterKeyError('no master key in KEYS_DIR');
    loaded = next;
  }

  scan();
  return scannedMasterKeySet({
    kind: 'file',
    held: () => loaded,
    scan,
    async close() {
      loaded = new Map();
    },
  });
}

/**
 * A set kept in `held()` by `scan` (which reads every version the provider
 * holds now, in ascending order): the newest is current, and an unknown
 * fingerprint is looked for once more after a scan. Shared by the file and
 * the token sets.
 */
export function scannedMasterKeySet(source: {
  kind: KeyProviderKind;
  held(): ReadonlyMap<number, MasterKeyProvider>;
  scan(): void | Promise<void>;
  close(): Promise<void>;
}): MasterKeySet {
  const versions = (): MasterKeyVersion[] =>
    [...source.held()].map(([version, provider]) => ({ version, provider }));
  const byFingerprint = (fingerprint: string) =>
    [...source.held().values()].find((provider) => provider.fingerprint === fingerprint) ?? null;
  return {
    kind: source.kind,
    current: () => versions().at(-1)!.provider,
    versions,
    async find(fingerprint) {
      const held = byFingerprint(fingerprint);
      if (held) return held;
      await source.scan();
      return byFingerprint(fingerprint);
    },
    async refresh() {
      await source.scan();
    },
    close: () => source.close(),
  };
}

/** The file versions for the rotation: new pairs written, old ones deleted, in KEYS_DIR. */
export function fileMasterKeyVersions(keysDir: string): MasterKeyVersionStore {
  return {
    where: 'KEYS_DIR',
    list: async () => listMasterKeyVersions(keysDir),
    create: async () => createMasterKeyVersion(keysDir),
    open: async () => openFileMasterKeySet(keysDir),
    destroy: async (version) => destroyMasterKeyVersion(keysDir, version),
  };
}
