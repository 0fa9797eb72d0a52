import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Connection } from 'mongoose';
import { createApp, type BuiltApp } from '../src/app';
import { createClientsModule } from '../src/clients/clients-module';
import { loadConfig, type Config } from '../src/config';
import { connectDatabase } from '../src/db/connection';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/db/embedded-database';
import { projectRoot } from '../src/db/project-root';
import { missingForProduction } from '../src/disclosure/disclosure-config';
import { createLogger } from '../src/logger';
import { typedDemoApi, type DemoApiFor } from './demo-api';
import { DEMO_BULK_SUBJECTS_PER_HOUR, DEMO_CEB621_DEFAULTS } from './demo-data';
import { seedDemo, type DemoSeedResult } from './demo-seed';
import { createDemoStore } from './demo-store';

/**
 * Starts the service as `npm run dev` does (the embedded engine when
 * MONGODB_URI is unset), on a database of the demo's own, and seeds it
 * through the HTTP API. Refuses production, and a database that holds
 * anything the demo did not create, before writing anything.
 */

/** The database the demo uses unless told another: never the developer's dev data. */
export const DEMO_DATABASE = 'customs_identity_demo';

/** A refusal: one line says why; nothing was written. */
export class DemoRefused extends Error {}

export interface DemoOptions {
  dbName: string;
  /** Overrides PORT; 0 picks a free port. */
  port?: number;
  /** The calls the demo makes (default: the typed client against the started service). */
  api?: (baseUrl: string) => DemoApiFor;
  /** Told what is happening while the engine starts and the data is seeded. */
  progress?: (line: string) => void;
}

export interface RunningDemo {
  url: string;
  config: Config;
  /** Where the data is: the embedded engine's folder, or the configured server. */
  database: { name: string; embedded: { engine: string; dataDir: string } | null };
  result: DemoSeedResult;
  stop(): Promise<void>;
}

/**
 * The demo's own settings on top of the environment: the identity check
 * simulator (so buyers verify), keys under DATA_DIR/demo unless KEYS_DIR is
 * set, a BULK_ACCESS threshold a handful of buyers
 * can cross, sample CEB621 platform codes unless configured, quieter logs.
 */
export function demoEnvironment(environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const dataDir = environment.DATA_DIR ?? './.data';
  return {
    ...environment,
    // Keys of its own too: the demo's records are encrypted under them, and deleting
    // DATA_DIR/demo resets the whole demo without touching the developer's keys.
    KEYS_DIR: environment.KEYS_DIR ?? path.join(dataDir, 'demo', 'keys'),
    IDV_PROVIDER: 'simulator',
    ALERT_BULK_SUBJECTS_PER_HOUR: String(DEMO_BULK_SUBJECTS_PER_HOUR),
    CEB621_DEFAULTS: environment.CEB621_DEFAULTS ?? JSON.stringify(DEMO_CEB621_DEFAULTS),
    LOG_LEVEL: environment.LOG_LEVEL ?? 'warn',
  };
}

interface Started {
  embedded?: EmbeddedDatabase;
  connection?: Connection;
  app?: BuiltApp;
  server?: Server;
}

async function stopAll(started: Started): Promise<void> {
  if (started.server) {
    const server = started.server;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  await started.app?.stop().catch(() => undefined);
  await started.connection?.close().catch(() => undefined);
  await started.embedded?.stop();
}

export async function startDemo(
  environment: NodeJS.ProcessEnv,
  options: DemoOptions,
): Promise<RunningDemo> {
  if (environment.NODE_ENV === 'production') {
    throw new DemoRefused(
      'refusing to run with NODE_ENV=production: the demo fills a database with fictional people',
    );
  }
  const config = loadConfig(demoEnvironment(environment));
  const progress = options.progress ?? (() => undefined);
  const logger = createLogger(config.logLevel);
  const started: Started = {};
  const demoDir = path.join(config.dataDir, 'demo');
  try {
    let embedded: RunningDemo['database']['embedded'] = null;
    if (!config.mongodbUri) {
      // A folder of its own: the demo may run beside `npm run dev` without sharing an engine.
      const dataDir = path.join(demoDir, config.embeddedDb);
      progress(
        `starting the embedded ${config.embeddedDb} in ${dataDir} (fetched and built on first use)`,
      );
      started.embedded = await startEmbeddedDatabase({
        engine: config.embeddedDb,
        projectRoot: projectRoot(),
        dataDir,
        log: (line) => logger.info(line),
      });
      embedded = { engine: started.embedded.label, dataDir };
    }
    started.connection = await connectDatabase(config.mongodbUri ?? started.embedded!.uri, {
      dbName: options.dbName,
      timeoutMs: config.dbTimeoutMs,
      operationTimeoutMs: config.dbOperationTimeoutMs,
    });
    // Before the app starts: its start-up already writes (keyring, indexes, the log's stream).
    const store = createDemoStore(started.connection);
    const foreign = await store.foreignData();
    if (foreign.length > 0) {
      throw new DemoRefused(
        `refusing to seed database "${options.dbName}": it holds data the demo did not create ` +
          `(${foreign.join(', ')}); name another with --db`,
      );
    }
    started.app = createApp({
      config,
      connection: started.connection,
      logger,
      embeddedDatabase: started.embedded,
    });
    await started.app.start();
    started.server = await listen(started.app, options.port ?? config.port);
    const url = `http://localhost:${(started.server.address() as AddressInfo).port}`;
    await untilReady(url);
    progress(`service ready at ${url}; seeding database ${options.dbName} through the API`);
    const clients = createClientsModule({ connection: started.connection }, config);
    const result = await seedDemo({
      api: (options.api ?? typedDemoApi)(url),
      adminApiKey: config.adminApiKey,
      store,
      keyDirectory: demoDir,
      authenticate: (apiKey) => clients.authenticate(apiKey),
      ceb621: missingForProduction(config.disclosure.ceb621).length === 0,
    });
    return {
      url,
      config,
      database: { name: options.dbName, embedded },
      result,
      stop: () => stopAll(started),
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

function listen(app: BuiltApp, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.app.listen(port);
    server.once('listening', () => resolve(server));
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new DemoRefused(`port ${port} is in use (is \`npm run dev\` running?): set PORT`)
          : error,
      );
    });
  });
}

/** Waits for GET /readyz to answer 200, as a load balancer would. */
async function untilReady(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/readyz`)
      .then((response) => response.ok)
      .catch(() => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error('the service did not become ready within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
