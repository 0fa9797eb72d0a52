import type { Connection } from 'mongoose';
import type { Logger } from '../logger';
import { createBlindIndex, type BlindIndex } from './blind-index';
import { cipherOf, type CryptoProfile } from './crypto-profile';
import { createFieldCipher, type ManagedFieldCipher } from './field-cipher';
import type { KeyProviderKind } from './key-provider';
import { createKeyring, type Keyring } from './keyring';
import { createKeyringReadersStore, type KeyringReadersStore } from './keyring-readers-store';
import { startKeyringRefresher, type KeyringRefresher } from './keyring-refresher';
import { createKeyringStore } from './keyring-store';
import {
  generateMasterKeyFiles,
  loadMasterKey,
  masterKeyIsPrivate,
  MasterKeyError,
  type MasterKey,
} from './master-key';
import { openFileMasterKeySet, type MasterKeySet } from './master-key-set';
import { listMasterKeyVersions, masterKeyVersionDir } from './master-key-versions';
import type { Pkcs11Config } from './pkcs11/pkcs11-config';
import { openPkcs11MasterKeySet } from './pkcs11/pkcs11-master-key-versions';
import { createSubjectKeyStore, type SubjectKeyStore } from './subject-key-store';

export interface CryptoConfig {
  env: 'development' | 'test' | 'production';
  keysDir: string;
  dataKeyCacheMs: number;
  /** Reloads the keyring this often while running (0: never; see Config.keyringRefreshMs). */
  keyringRefreshMs?: number;
  /**
   * Whether this process reports what it holds of the keyring (default true):
   * a serving instance does; a maintenance tool (keys, quota CLIs) does not,
   * so a move does not wait on or refuse because of itself.
   */
  reportsKeyring?: boolean;
  /** Algorithms of new keys and ciphertexts (default intl); stored data is read whatever it says. */
  cryptoProfile?: CryptoProfile;
  /** Where the master key lives (default file: KEYS_DIR). */
  keyProvider?: KeyProviderKind;
  /** Required with keyProvider pkcs11 (loadConfig checks it). */
  pkcs11?: Pkcs11Config | null;
}

export interface CryptoModule {
  fieldCipher: ManagedFieldCipher;
  blindIndex: BlindIndex;
  keyring: Keyring;
  subjectKeys: SubjectKeyStore;
  /** What each running instance holds of the keyring (keys move-profile waits on it). */
  readers: KeyringReadersStore;
  ensureIndexes(): Promise<void>;
  /**
   * Opens the master key provider (file: development creates a key when
   * absent; pkcs11: logs in to the token) and unwraps the keyring.
   */
  start(): Promise<void>;
  /** The master key versions in use; null before start and after stop. */
  masterKeys(): MasterKeySet | null;
  isReady(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Outside production a missing master key is generated (with a warning), so
 * a fresh clone starts with no setup; production refuses to start without
 * one, since a new key would silently make every stored record unreadable.
 */
export function ensureMasterKey(
  config: CryptoConfig,
  logger: Logger,
  options: { databaseHoldsKeys?: boolean } = {},
): MasterKey {
  const versions = ensureMasterKeyFiles(config, logger, options);
  return loadMasterKey(masterKeyVersionDir(config.keysDir, versions.at(-1)!));
}

/** ensureMasterKey's checks over every version in KEYS_DIR (master-key-versions.ts); returns them. */
function ensureMasterKeyFiles(
  config: CryptoConfig,
  logger: Logger,
  { databaseHoldsKeys = false }: { databaseHoldsKeys?: boolean } = {},
): number[] {
  if (listMasterKeyVersions(config.keysDir).length === 0) {
    if (config.env === 'production') {
      throw new MasterKeyError(
        'no master key in KEYS_DIR: production will not start without one (see "npm run keys:generate")',
      );
    }
    // A new key would not open the keys already stored, and its files would
    // sit in KEYS_DIR beside a database it cannot read: write nothing.
    if (databaseHoldsKeys) {
      throw new MasterKeyError(
        'no master key in KEYS_DIR, but the database holds keys wrapped by one: restore KEYS_DIR (no key was generated)',
      );
    }
    const { fingerprint } = generateMasterKeyFiles(config.keysDir);
    logger.warn(
      { keysDir: config.keysDir, fingerprint },
      'no master key found: generated a development master key pair (never use it in production)',
    );
  }
  const versions = listMasterKeyVersions(config.keysDir);
  for (const version of versions) {
    refuseReadableByOthers(config, masterKeyVersionDir(config.keysDir, version), logger);
  }
  return versions;
}

/** The private key file must be readable by its owner alone (mode 0600 or stricter). */
function refuseReadableByOthers(config: CryptoConfig, dir: string, logger: Logger): void {
  if (masterKeyIsPrivate(dir)) return;
  if (config.env === 'production') {
    throw new MasterKeyError(
      'the master key file is readable by group or others: chmod 600 it before starting',
    );
  }
  logger.warn(
    { keysDir: config.keysDir },
    'the master key file is readable by group or others: chmod 600 it (production refuses to start)',
  );
}

export function createCryptoModule(
  { connection, logger }: { connection: Connection; logger: Logger },
  config: CryptoConfig,
): CryptoModule {
  const keyringStore = createKeyringStore(connection);
  const subjectKeys = createSubjectKeyStore(connection);
  let master: MasterKeySet | null = null;
  const profile = config.cryptoProfile ?? 'intl';
  const readers = createKeyringReadersStore(connection);
  let refresher: KeyringRefresher | null = null;

  async function openMasterKeys(): Promise<MasterKeySet> {
    if (config.keyProvider === 'pkcs11') {
      if (!config.pkcs11) throw new MasterKeyError('KEY_PROVIDER pkcs11 needs PKCS11_* settings');
      return openPkcs11MasterKeySet(config.pkcs11);
    }
    const databaseHoldsKeys =
      listMasterKeyVersions(config.keysDir).length === 0 && (await keyringStore.list()).length > 0;
    ensureMasterKeyFiles(config, logger, { databaseHoldsKeys });
    return openFileMasterKeySet(config.keysDir);
  }

  const keyring = createKeyring(
    keyringStore,
    () => {
      if (!master) throw new MasterKeyError('the master key is not loaded');
      return master;
    },
    { profile },
  );
  const fieldCipher = createFieldCipher(
    { keyring, subjectKeys },
    { cacheMs: config.dataKeyCacheMs, maxCachedKeys: 1000, algorithm: cipherOf(profile) },
  );
  return {
    fieldCipher,
    blindIndex: createBlindIndex(keyring),
    keyring,
    subjectKeys,
    readers,
    async ensureIndexes() {
      await keyringStore.ensureIndexes();
      await subjectKeys.ensureIndexes();
      await readers.ensureIndexes();
    },
    async start() {
      master = await openMasterKeys();
      try {
        await keyring.open();
      } catch (error) {
        await master.close();
        master = null;
        throw error;
      }
      const current = master.current();
      logger.info(
        {
          keyProvider: current.kind,
          masterKey: current.fingerprint.slice(0, 16),
          masterKeyVersions: master.versions().map((held) => held.version),
          bits: current.bits,
          oaepHash: current.oaepHash,
          cryptoProfile: profile,
        },
        'keys loaded',
      );
      refresher = await startKeyringRefresher({
        keyring,
        readers: config.reportsKeyring === false ? null : readers,
        refreshMs: config.keyringRefreshMs ?? 0,
        logger,
      });
    },
    masterKeys: () => master,
    async isReady() {
      return keyring.isOpen() && (refresher?.isCurrent() ?? false);
    },
    async stop() {
      await refresher?.stop();
      refresher = null;
      fieldCipher.clearCache();
      keyring.close();
      const held = master;
      master = null;
      await held?.close();
    },
  };
}
