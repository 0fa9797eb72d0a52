import fs from 'node:fs';
import path from 'node:path';
import { startEmbeddedDatabase, type EmbeddedEngineName } from '../src/db/embedded-database';
import { projectRoot } from '../src/db/project-root';

/**
 * The database a benchmark runs against: MONGODB_URI when set, else a fresh
 * embedded engine (EMBEDDED_DB, default mongo-java-server) whose data is
 * removed again on stop.
 */
export async function openBenchDatabase(name: string): Promise<{
  uri: string;
  label: string;
  /** The embedded engine's process, for CPU accounting; undefined with MONGODB_URI. */
  enginePid(): number | undefined;
  stop(): Promise<void>;
}> {
  const uri = process.env.MONGODB_URI;
  if (uri) {
    return { uri, label: 'MONGODB_URI', enginePid: () => undefined, stop: async () => undefined };
  }
  const engine = (process.env.EMBEDDED_DB ?? 'mongo-java-server') as EmbeddedEngineName;
  const dataDir = path.join(projectRoot(), '.data', `bench-${name}-${engine}-${process.pid}`);
  const database = await startEmbeddedDatabase({ engine, projectRoot: projectRoot(), dataDir });
  return {
    uri: database.uri,
    label: `embedded ${database.label}`,
    enginePid: () => database.pid(),
    async stop() {
      await database.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
