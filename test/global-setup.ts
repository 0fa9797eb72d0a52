import path from 'node:path';
import { generateMasterKeyFiles } from '../src/crypto/master-key';
import { generateTokenKey } from '../src/crypto/pkcs11/pkcs11-ceremony';
import { startEmbeddedDatabase, type EmbeddedEngineName } from '../src/db/embedded-database';
import { createSoftHsmToken } from './helpers/softhsm';

/**
 * KEY_PROVIDER=pkcs11 (npm run test:hsm): one SoftHSM2 token for the whole
 * run, its master, checkpoint and disclosure key pairs generated inside it
 * as at the ceremony, handed to the tests through SOFTHSM2_CONF and the
 * PKCS11_* variables; every app the tests start then unwraps its keyring,
 * signs its access log's checkpoints and its partner payloads (CMS and
 * XML-DSig) in the token.
 */
async function startSoftHsm(): Promise<void> {
  const token = await createSoftHsmToken('customs-identity-test');
  await generateTokenKey(token.config, 'master');
  await generateTokenKey(token.config, 'checkpoint');
  await generateTokenKey(token.config, 'disclosure');
  Object.assign(process.env, token.env);
  process.env.TEST_SOFTHSM_DIR = token.dir;
  process.stderr.write(`tests use the keys in SoftHSM2 token "${token.config.tokenLabel}"\n`);
}

/**
 * Starts one embedded engine (EMBEDDED_DB, default mongo-java-server) for the
 * whole run unless MONGODB_URI points at a server already; every test file
 * then works in a database of its own.
 */
export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '..');
  // One master key pair for the whole run, handed to workers through KEYS_DIR;
  // a test that needs fresh keys makes its own directory.
  if (!process.env.KEYS_DIR) {
    const keysDir = path.join(root, '.data', `test-keys-${process.pid}`);
    generateMasterKeyFiles(keysDir, { force: true });
    process.env.KEYS_DIR = keysDir;
    process.env.TEST_KEYS_DIR = keysDir;
  }
  if (process.env.KEY_PROVIDER === 'pkcs11' && !process.env.PKCS11_MODULE) await startSoftHsm();
  if (process.env.MONGODB_URI) return;
  const engine = (process.env.EMBEDDED_DB ?? 'mongo-java-server') as EmbeddedEngineName;
  process.env.EMBEDDED_DB = engine;
  const dataDir = path.join(root, '.data', `test-${engine}-${process.pid}`);
  const database = await startEmbeddedDatabase({
    engine,
    projectRoot: root,
    dataDir,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stderr.write(`tests run on the embedded ${database.label}\n`);
  process.env.MONGODB_URI = database.uri;
  process.env.TEST_EMBEDDED_DATA_DIR = dataDir;
  (globalThis as { __embeddedDatabase__?: typeof database }).__embeddedDatabase__ = database;
}
