import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { EmbeddedDatabaseUnavailable, type EmbeddedEngine } from './engine';

/**
 * Builds the embedded FerretDB from the Go module proxy into `.tools/`.
 *
 * `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` alone gives a
 * binary that panics at start: release builds embed `build/version/version.txt`,
 * which `bin/task gen-version` writes and the module zip lacks. So we fetch the
 * same module through the proxy (`go mod download`), add that one file with the
 * version it really is, and `go build` the same `cmd/ferretdb` package.
 */
export const FERRETDB_VERSION = 'v1.24.2';
const MODULE = `github.com/FerretDB/FerretDB@${FERRETDB_VERSION}`;

export function ferretdbBinaryPath(projectRoot: string): string {
  return path.join(projectRoot, '.tools', 'bin', `ferretdb-${FERRETDB_VERSION}`);
}

/** Returns the binary path, building it first when absent. */
export function ensureFerretdbBinary(
  projectRoot: string,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const binary = ferretdbBinaryPath(projectRoot);
  if (fs.existsSync(binary)) return binary;
  if (spawnSync('go', ['version'], { env }).status !== 0) {
    throw new EmbeddedDatabaseUnavailable(
      'no database: set MONGODB_URI to a MongoDB server, or install Go so the embedded FerretDB (EMBEDDED_DB=ferretdb) can be built',
    );
  }
  log(`building embedded FerretDB ${FERRETDB_VERSION} with Go (first run only)`);
  const moduleDir = downloadModule(env);
  const sourceDir = path.join(projectRoot, '.tools', 'src', `ferretdb-${FERRETDB_VERSION}`);
  fs.rmSync(sourceDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(sourceDir), { recursive: true });
  fs.cpSync(moduleDir, sourceDir, { recursive: true });
  makeWritable(sourceDir);
  fs.writeFileSync(
    path.join(sourceDir, 'build', 'version', 'version.txt'),
    `${FERRETDB_VERSION}\n`,
  );
  const partial = `${binary}.partial`;
  execFileSync('go', ['build', '-trimpath', '-o', partial, './cmd/ferretdb'], {
    cwd: sourceDir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...env, CGO_ENABLED: env.CGO_ENABLED ?? '0' },
  });
  fs.renameSync(partial, binary);
  return binary;
}

function downloadModule(env: NodeJS.ProcessEnv): string {
  const out = execFileSync('go', ['mod', 'download', '-json', MODULE], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = (JSON.parse(out) as { Dir?: string }).Dir;
  if (!dir)
    throw new EmbeddedDatabaseUnavailable(`go mod download gave no directory for ${MODULE}`);
  return dir;
}

function makeWritable(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    fs.chmodSync(full, entry.isDirectory() ? 0o755 : 0o644);
    if (entry.isDirectory()) makeWritable(full);
  }
}

/**
 * FerretDB 1.24 on its SQLite backend: the second engine. Its updates are
 * read-modify-write in Go (not atomic) and it evaluates only `{_id}` filters
 * in SQLite, so it is here as an independent implementation of the wire
 * protocol to test against, not to serve.
 */
export const ferretdbEngine: EmbeddedEngine = {
  name: 'ferretdb',
  label: `FerretDB ${FERRETDB_VERSION} (SQLite backend)`,
  prepare(projectRoot, log, env) {
    ensureFerretdbBinary(projectRoot, log, env);
  },
  launch(projectRoot, port, dataDir) {
    return {
      // FerretDB cannot watch its standard input, so a shell does it for it: a
      // background reader waits for end of input (the service is gone), then
      // stops FerretDB, which `exec` has put in the shell's place ($$).
      command: '/bin/sh',
      args: [
        '-c',
        'exec 3<&0 </dev/null; (cat <&3 >/dev/null; kill $$) 2>/dev/null & exec "$0" "$@" 3<&-',
        ferretdbBinaryPath(projectRoot),
        '--handler=sqlite',
        `--sqlite-url=file:${dataDir}/`,
        `--state-dir=${dataDir}`,
        `--listen-addr=127.0.0.1:${port}`,
        '--telemetry=disable',
        '--debug-addr=-',
        '--log-level=error',
      ],
      exitsWithStdin: true,
    };
  },
};
