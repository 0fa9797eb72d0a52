import type { Connection } from 'mongoose';
import type { Logger } from '../logger';
import { createBlindIndex, type BlindIndex } from './blind-index';
import { cipherOf, type CryptoProfile } from './crypto-profile';
import { createFieldCipher, type ManagedFieldCipher } from './field-cipher';
import { createKeyring, type Keyring } from './keyring';
import { createKeyringStore } from './keyring-store';
import {
  generateMasterKeyFiles,
  loadMasterKey,
  masterKeyExists,
  masterKeyIsPrivate,
  MasterKeyError,
  type MasterKey,
} from './master-key';
import { createSubjectKeyStore, type SubjectKeyStore } from './subject-key-store';

export interface CryptoConfig {
  env: 'development' | 'test' | 'production';
  keysDir: string;
  dataKeyCacheMs: number;
  /** Algorithms of new keys and ciphertexts (default intl); stored data is read whatever it says. */
  cryptoProfile?: CryptoProfile;
}

export interface CryptoModule {
  fieldCipher: ManagedFieldCipher;
  blindIndex: BlindIndex;
  keyring: Keyring;
  subjectKeys: SubjectKeyStore;
  ensureIndexes(): Promise<void>;
  /** Loads the master key (development: creates it when absent) and unwraps the keyring. */
  start(): Promise<void>;
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
  { databaseHoldsKeys = false }: { databaseHoldsKeys?: boolean } = {},
): MasterKey {
  if (!masterKeyExists(config.keysDir)) {
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
  refuseReadableByOthers(config, logger);
  return loadMasterKey(config.keysDir);
}

/** The private key file must be readable by its owner alone (mode 0600 or stricter). */
function refuseReadableByOthers(config: CryptoConfig, logger: Logger): void {
  if (masterKeyIsPrivate(config.keysDir)) return;
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
  let master: MasterKey | null = null;
  const profile = config.cryptoProfile ?? 'intl';
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
    async ensureIndexes() {
      await keyringStore.ensureIndexes();
      await subjectKeys.ensureIndexes();
    },
    async start() {
      const databaseHoldsKeys =
        !masterKeyExists(config.keysDir) && (await keyringStore.list()).length > 0;
      master = ensureMasterKey(config, logger, { databaseHoldsKeys });
      await keyring.open();
      logger.info(
        { masterKey: master.fingerprint.slice(0, 16), bits: master.bits, cryptoProfile: profile },
        'keys loaded',
      );
    },
    async isReady() {
      return keyring.isOpen();
    },
    async stop() {
      fieldCipher.clearCache();
      keyring.close();
    },
  };
}
