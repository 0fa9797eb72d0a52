import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  startEmbeddedDatabase,
  type EmbeddedDatabase,
  type EmbeddedEngineName,
} from '../../src/db/embedded-database';
import { projectRoot } from '../../src/db/project-root';

/** The engine this run tests on (global setup sets EMBEDDED_DB). */
export function engineUnderTest(): EmbeddedEngineName {
  return (process.env.EMBEDDED_DB ?? 'mongo-java-server') as EmbeddedEngineName;
}

/** A supervised engine of the test's own, to pause, kill or stop without touching the others. */
export async function startOwnEngine(): Promise<{
  database: EmbeddedDatabase;
  dataDir: string;
  remove(): Promise<void>;
}> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-'));
  const database = await startEmbeddedDatabase({
    engine: engineUnderTest(),
    projectRoot: projectRoot(),
    dataDir,
  });
  return {
    database,
    dataDir,
    async remove() {
      await database.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until the check holds: the driver and the supervisor react asynchronously. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
