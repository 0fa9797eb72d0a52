import {
  EMBEDDED_ENGINES,
  prepareEmbeddedEngine,
  type EmbeddedEngineName,
} from './embedded-database';
import { projectRoot } from './project-root';

/**
 * `npm run db:build [engine...]`: fetches or builds the embedded engines ahead
 * of time (default: EMBEDDED_DB, else mongo-java-server; `all` for both).
 */
function engines(args: string[]): EmbeddedEngineName[] {
  if (args.includes('all')) return [...EMBEDDED_ENGINES];
  const named = args.length > 0 ? args : [process.env.EMBEDDED_DB ?? 'mongo-java-server'];
  for (const name of named) {
    if (!(EMBEDDED_ENGINES as readonly string[]).includes(name)) {
      process.stderr.write(`unknown engine ${name}: one of ${EMBEDDED_ENGINES.join(', ')}, all\n`);
      process.exit(2);
    }
  }
  return named as EmbeddedEngineName[];
}

for (const name of engines(process.argv.slice(2))) {
  const engine = prepareEmbeddedEngine(name, projectRoot(), (line) =>
    process.stderr.write(`${line}\n`),
  );
  process.stdout.write(`${engine.label}: ready\n`);
}
