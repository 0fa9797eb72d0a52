import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Connection } from 'mongoose';
import { createApp, type BuiltApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { connectDatabase } from './db/connection';
import {
  EmbeddedDatabaseUnavailable,
  startEmbeddedDatabase,
  type EmbeddedDatabase,
} from './db/embedded-database';
import { projectRoot } from './db/project-root';
import { createLogger, type Logger } from './logger';

/** What has been started so far, stopped in reverse order on every way out. */
interface Started {
  embedded?: EmbeddedDatabase;
  connection?: Connection;
  app?: BuiltApp;
}

async function startEmbedded(config: Config, logger: Logger): Promise<EmbeddedDatabase> {
  const dataDir = path.join(config.dataDir, config.embeddedDb);
  logger.warn(
    { engine: config.embeddedDb, dataDir },
    'MONGODB_URI is unset: starting the embedded database (development only)',
  );
  const embedded = await startEmbeddedDatabase({
    engine: config.embeddedDb,
    projectRoot: projectRoot(),
    dataDir,
    log: (line) => logger.info(line),
  });
  logger.info({ engine: embedded.label, embeddedPort: embedded.port }, 'embedded database started');
  return embedded;
}

function exitWith(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

async function stopAll(started: Started): Promise<void> {
  await started.app?.stop().catch(() => undefined);
  await started.connection?.close().catch(() => undefined);
  await started.embedded?.stop();
}

async function serve(config: Config, logger: Logger, started: Started): Promise<Server> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  if (!config.mongodbUri) started.embedded = await startEmbedded(config, logger);
  const uri = config.mongodbUri ?? started.embedded!.uri;
  started.connection = await connectDatabase(uri, {
    timeoutMs: config.dbTimeoutMs,
    operationTimeoutMs: config.dbOperationTimeoutMs,
  });
  const built = createApp({
    config,
    connection: started.connection,
    logger,
    embeddedDatabase: started.embedded,
  });
  started.app = built;
  await built.start();
  const server: Server = built.app.listen(config.port, () => {
    const address = server.address();
    logger.info({ port: typeof address === 'object' ? address?.port : config.port }, 'listening');
  });
  return server;
}

function onSignals(config: Config, logger: Logger, server: Server, started: Started): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearTimeout(force);
    await stopAll(started);
    logger.info('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => void shutdown(signal));
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) exitWith(error.message);
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const started: Started = {};
  try {
    const server = await serve(config, logger, started);
    onSignals(config, logger, server, started);
  } catch (error) {
    // A failed start (bad key, database refused) must not leave the embedded engine running.
    await stopAll(started);
    throw error;
  }
}

main().catch((error: unknown) => {
  if (error instanceof EmbeddedDatabaseUnavailable) exitWith(error.message);
  const name =
    error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
  exitWith(`failed to start: ${name.split('\n')[0]}`);
});
