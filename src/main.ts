import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { createApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { connectDatabase } from './db/connection';
import { projectRoot, startEmbeddedFerretdb, type EmbeddedDatabase } from './db/embedded-ferretdb';
import { EmbeddedDatabaseUnavailable } from './db/ferretdb-build';
import { createLogger, type Logger } from './logger';

async function databaseUri(
  config: Config,
  logger: Logger,
): Promise<{ uri: string; embedded?: EmbeddedDatabase }> {
  if (config.mongodbUri) return { uri: config.mongodbUri };
  const dataDir = path.join(config.dataDir, 'ferretdb');
  logger.warn(
    { dataDir },
    'MONGODB_URI is unset: starting the embedded FerretDB (development only)',
  );
  const embedded = await startEmbeddedFerretdb({
    projectRoot: projectRoot(),
    dataDir,
    log: (line) => logger.info(line),
  });
  logger.info({ embeddedPort: embedded.port }, 'embedded FerretDB started');
  return { uri: embedded.uri, embedded };
}

function exitWith(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
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
  fs.mkdirSync(config.dataDir, { recursive: true });
  const { uri, embedded } = await databaseUri(config, logger);
  const connection = await connectDatabase(uri, { timeoutMs: config.dbTimeoutMs });
  const built = createApp({ config, connection, logger });
  await built.start();
  const server: Server = built.app.listen(config.port, () => {
    const address = server.address();
    logger.info({ port: typeof address === 'object' ? address?.port : config.port }, 'listening');
  });

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
    await built.stop();
    await connection.close();
    await embedded?.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof EmbeddedDatabaseUnavailable) exitWith(error.message);
  const name =
    error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
  exitWith(`failed to start: ${name.split('\n')[0]}`);
});
