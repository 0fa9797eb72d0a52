import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import type { Connection } from 'mongoose';
import { ConfigError, type Config } from '../config';
import { connectDatabase } from '../db/connection';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../db/embedded-database';
import { projectRoot } from '../db/project-root';

/** What the command-line tools share: argument parsing, output, the database. */

export function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new InvalidArgumentError('must be a positive integer');
  return number;
}

/**
 * Ctrl-C (or SIGTERM) during a resumable job: says `message` and makes
 * `checkpoint()` throw at the job's next step, so it stops between steps;
 * `dispose()` when the job ends.
 */
export function stopOnInterrupt(message: string): { checkpoint(): void; dispose(): void } {
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    say(`\ninterrupt: ${message}`);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    checkpoint() {
      if (interrupted) throw new Error('interrupted');
    },
    dispose() {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Connects to MONGODB_URI, or starts the embedded engine when it is unset (development). */
export async function withDatabase<T>(
  config: Config,
  work: (connection: Connection) => Promise<T>,
): Promise<T> {
  let embedded: EmbeddedDatabase | undefined;
  let uri = config.mongodbUri;
  if (!uri) {
    say(
      'MONGODB_URI is unset: starting the embedded database (development only; stop the dev server first)',
    );
    embedded = await startEmbeddedDatabase({
      engine: config.embeddedDb,
      projectRoot: projectRoot(),
      dataDir: path.join(config.dataDir, config.embeddedDb),
    });
    uri = embedded.uri;
  }
  const connection = await connectDatabase(uri, {
    timeoutMs: config.dbTimeoutMs,
    operationTimeoutMs: config.dbOperationTimeoutMs,
  });
  try {
    return await work(connection);
  } finally {
    await connection.close();
    await embedded?.stop();
  }
}

/** Runs a program when its file is the entry point: one line on stderr and exit 1 on failure. */
export function runProgram(name: string, program: Command): void {
  program.parseAsync(process.argv).catch((error: unknown) => {
    const message =
      error instanceof ConfigError || error instanceof Error
        ? `${error.constructor.name}: ${error.message}`
        : String(error);
    process.stderr.write(`${name}: ${message.split('\n')[0]}\n`);
    process.exit(1);
  });
}
