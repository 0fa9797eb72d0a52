import path from 'node:path';
import { generateMasterKeyFiles } from '../src/crypto/master-key';
import { startEmbeddedDatabase, type EmbeddedEngineName } from '../src/db/embedded-database';

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
