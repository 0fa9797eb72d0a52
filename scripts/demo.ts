import { Command, InvalidArgumentError } from 'commander';
import { runProgram, say } from '../src/cli/cli-support';
import { demoReport } from './demo-report';
import { DEMO_DATABASE, startDemo, type RunningDemo } from './demo-service';

/**
 * `npm run demo`: the service as `npm run dev` starts it, on a database of
 * its own, seeded through the HTTP API with fictional buyers, orders,
 * partner pulls, a return and an alert; prints the keys and the console
 * address and serves until Ctrl-C. docs/development.md, "Demo".
 */

function port(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535) {
    throw new InvalidArgumentError('must be a port number (0: any free port)');
  }
  return number;
}

function databaseName(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(value)) {
    throw new InvalidArgumentError('must be 1-63 letters, digits, _ or -');
  }
  return value;
}

function stopOnSignals(demo: RunningDemo): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping the demo service');
    await demo.stop();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void stop());
  }
}

export function buildProgram(): Command {
  return new Command('demo')
    .description(
      'Start the service on a demo database, seed it with fictional data through the API, print the keys',
    )
    .option(
      '--db <name>',
      'database name (never your dev data by default)',
      databaseName,
      DEMO_DATABASE,
    )
    .option('--port <n>', 'HTTP port (default: PORT, else 8080)', port)
    .option('--no-serve', 'seed, print, and stop instead of serving until Ctrl-C')
    .showHelpAfterError()
    .action(async (options: { db: string; port?: number; serve: boolean }) => {
      const demo = await startDemo(process.env, {
        dbName: options.db,
        port: options.port,
        progress: say,
      });
      for (const line of demoReport(demo)) say(line);
      if (!options.serve) {
        await demo.stop();
        return;
      }
      stopOnSignals(demo);
      say('Serving until Ctrl-C.');
    });
}

if (require.main === module) runProgram('demo', buildProgram());
