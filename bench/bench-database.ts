import fs from 'node:fs';
import path from 'node:path';
import { projectRoot, startEmbeddedFerretdb } from '../src/db/embedded-ferretdb';

/**
 * The database a benchmark runs against: MONGODB_URI when set, else a fresh
 * embedded FerretDB whose data is removed again on stop.
 */
export async function openBenchDatabase(
  name: string,
): Promise<{ uri: string; label: string; stop(): Promise<void> }> {
  const uri = process.env.MONGODB_URI;
  if (uri) return { uri, label: 'MONGODB_URI', stop: async () => undefined };
  const dataDir = path.join(projectRoot(), '.data', `bench-${name}-ferretdb-${process.pid}`);
  const database = await startEmbeddedFerretdb({ projectRoot: projectRoot(), dataDir });
  return {
    uri: database.uri,
    label: 'embedded FerretDB 1.24 (SQLite backend)',
    async stop() {
      await database.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
