import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EmbeddedDatabaseUnavailable, type EmbeddedEngine } from './engine';

/**
 * mongo-java-server on its H2 MVStore backend: the embedded default. Updates
 * of one document are atomic and `_id` and unique-index lookups are indexed.
 *
 * Its jars come from Maven Central through the pom kept beside the launcher
 * (`mvn dependency:copy-dependencies`), and the launcher is compiled with
 * javac, both into `.tools/` on first run. The folder's name carries a hash of
 * the pom and the launcher, so a change to either rebuilds it.
 */
export const MONGO_JAVA_SERVER_VERSION = '1.47.0';
const LAUNCHER_CLASS = 'EmbeddedMongoServer';
/**
 * The engine keeps its whole working set on the Java heap, and a 400 MB page cache
 * (EmbeddedMongoServer.CACHE_MB) so that collection scans stay in memory: 1 GB at most, used
 * only as the data grows.
 */
const JAVA_HEAP = '-Xmx1g';

function sourceDir(projectRoot: string): string {
  return path.join(projectRoot, 'src', 'db', 'mongo-java-server');
}

function sourceFiles(projectRoot: string): { pom: string; launcher: string } {
  return {
    pom: path.join(sourceDir(projectRoot), 'pom.xml'),
    launcher: path.join(sourceDir(projectRoot), `${LAUNCHER_CLASS}.java`),
  };
}

/** `.tools/mongo-java-server-<version>-<hash of pom and launcher>`. */
export function mongoJavaServerHome(projectRoot: string): string {
  const { pom, launcher } = sourceFiles(projectRoot);
  const hash = createHash('sha256')
    .update(fs.readFileSync(pom))
    .update(fs.readFileSync(launcher))
    .digest('hex')
    .slice(0, 12);
  return path.join(projectRoot, '.tools', `mongo-java-server-${MONGO_JAVA_SERVER_VERSION}-${hash}`);
}

function isInstalled(home: string): boolean {
  return fs.existsSync(path.join(home, 'classes', `${LAUNCHER_CLASS}.class`));
}

function hasCommand(command: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  const result = spawnSync(command, args, { env, stdio: 'ignore' });
  return result.status === 0;
}

function requireCommand(command: string, env: NodeJS.ProcessEnv): void {
  if (hasCommand(command, ['-version'], env)) return;
  throw new EmbeddedDatabaseUnavailable(
    `no database: set MONGODB_URI to a MongoDB server, or install Java 17+ and Maven so the embedded mongo-java-server can be fetched (${command} is missing)`,
  );
}

/** Fetches the jars and compiles the launcher into `home` (first run only). */
export function ensureMongoJavaServer(
  projectRoot: string,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): string {
  requireCommand('java', env);
  const home = mongoJavaServerHome(projectRoot);
  if (isInstalled(home)) return home;
  requireCommand('javac', env);
  requireCommand('mvn', env);
  log(
    `fetching embedded mongo-java-server ${MONGO_JAVA_SERVER_VERSION} with Maven (first run only)`,
  );
  const partial = `${home}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  const { pom, launcher } = sourceFiles(projectRoot);
  run(env, 'mvn', [
    '-q',
    '-B',
    '-Dstyle.color=never',
    '-f',
    pom,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${path.join(partial, 'lib')}`,
  ]);
  run(env, 'javac', [
    '-d',
    path.join(partial, 'classes'),
    '-cp',
    path.join(partial, 'lib', '*'),
    launcher,
  ]);
  // Another process may have finished the same build meanwhile: either copy is good.
  if (isInstalled(home)) fs.rmSync(partial, { recursive: true, force: true });
  else fs.renameSync(partial, home);
  return home;
}

/**
 * Runs a build tool quietly: Maven writes terminal escape codes to stderr even
 * with -q, so its output is shown only when it fails.
 */
function run(env: NodeJS.ProcessEnv, command: string, args: string[]): void {
  try {
    execFileSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const output = error as { stdout?: Buffer; stderr?: Buffer };
    const text = `${output.stdout?.toString() ?? ''}${output.stderr?.toString() ?? ''}`;
    throw new Error(`${command} failed: ${text.trim().split('\n').slice(-5).join(' | ')}`);
  }
}

export const mongoJavaServerEngine: EmbeddedEngine = {
  name: 'mongo-java-server',
  label: `mongo-java-server ${MONGO_JAVA_SERVER_VERSION} (H2 MVStore backend)`,
  prepare(projectRoot, log, env) {
    ensureMongoJavaServer(projectRoot, log, env);
  },
  launch(projectRoot, port, dataDir) {
    const home = mongoJavaServerHome(projectRoot);
    const classpath = [path.join(home, 'classes'), path.join(home, 'lib', '*')].join(
      path.delimiter,
    );
    return {
      command: 'java',
      args: [
        JAVA_HEAP,
        '-cp',
        classpath,
        LAUNCHER_CLASS,
        String(port),
        path.join(dataDir, 'customs-identity.mv.db'),
      ],
      exitsWithStdin: true,
    };
  },
};
