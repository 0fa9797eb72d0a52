import fs from 'node:fs';
import type { EmbeddedEngine, EmbeddedEngineName } from './embedded/engine';
import { spawnEngine, type EngineProcess } from './embedded/engine-process';
import { ferretdbEngine } from './embedded/ferretdb';
import { freeLoopbackPort } from './embedded/loopback';
import { mongoJavaServerEngine } from './embedded/mongo-java-server';

export { EmbeddedDatabaseUnavailable, EMBEDDED_ENGINES } from './embedded/engine';
export type { EmbeddedEngineName } from './embedded/engine';

const ENGINES: Record<EmbeddedEngineName, EmbeddedEngine> = {
  'mongo-java-server': mongoJavaServerEngine,
  ferretdb: ferretdbEngine,
};

/** running: serving; restarting: crashed, a restart is due; stopped: stop() was called. */
export type EmbeddedDatabaseState = 'running' | 'restarting' | 'stopped';

/** A supervised embedded engine on loopback: restarted with backoff when it crashes. */
export interface EmbeddedDatabase {
  engine: EmbeddedEngineName;
  label: string;
  uri: string;
  port: number;
  state(): EmbeddedDatabaseState;
  /** The engine's current process id (tests pause and kill it). */
  pid(): number | undefined;
  /** How many times it has been restarted after a crash. */
  restarts(): number;
  stop(): Promise<void>;
}

export interface EmbeddedDatabaseOptions {
  engine: EmbeddedEngineName;
  projectRoot: string;
  dataDir: string;
  /** Unset or 0 picks a free port. */
  port?: number;
  log?: (line: string) => void;
}

/** Restart delays after a crash: doubling from the first to the last, reset by a healthy run. */
const BACKOFF_FIRST_MS = 250;
const BACKOFF_MAX_MS = 10_000;
const HEALTHY_RUN_MS = 30_000;

/** Prepares the engine (fetch or build on first run) and ahead-of-time tools like `db:build`. */
export function prepareEmbeddedEngine(
  name: EmbeddedEngineName,
  projectRoot: string,
  log: (line: string) => void,
): EmbeddedEngine {
  const engine = ENGINES[name];
  engine.prepare(projectRoot, log);
  return engine;
}

export async function startEmbeddedDatabase(
  options: EmbeddedDatabaseOptions,
): Promise<EmbeddedDatabase> {
  const log = options.log ?? (() => undefined);
  const engine = prepareEmbeddedEngine(options.engine, options.projectRoot, log);
  const port = options.port || (await freeLoopbackPort());
  fs.mkdirSync(options.dataDir, { recursive: true });
  const launch = () => spawnEngine(engine.launch(options.projectRoot, port, options.dataDir), port);
  const supervisor = new EngineSupervisor(launch, log);
  await supervisor.start();
  return {
    engine: engine.name,
    label: engine.label,
    uri: `mongodb://127.0.0.1:${port}/`,
    port,
    state: () => supervisor.state,
    pid: () => supervisor.current?.pid,
    restarts: () => supervisor.restarts,
    stop: () => supervisor.stop(),
  };
}

/**
 * Keeps one engine process alive: watches for an exit it did not ask for and
 * starts the engine again on the same port (so the driver reconnects by
 * itself), waiting longer after each failed attempt. The child is killed on
 * every way out of this process, including an uncaught exception.
 */
class EngineSupervisor {
  state: EmbeddedDatabaseState = 'running';
  current: EngineProcess | undefined;
  restarts = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly killOnExit = () => this.current?.killNow();

  constructor(
    private readonly launch: () => Promise<EngineProcess>,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    process.on('exit', this.killOnExit);
    try {
      this.watch(await this.launch());
    } catch (error) {
      process.off('exit', this.killOnExit);
      this.state = 'stopped';
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.timer);
    await this.current?.stop();
    process.off('exit', this.killOnExit);
  }

  private watch(engine: EngineProcess): void {
    this.current = engine;
    this.state = 'running';
    const startedAt = Date.now();
    void engine.exited.then(() => {
      if (this.state === 'stopped' || this.current !== engine) return;
      if (Date.now() - startedAt >= HEALTHY_RUN_MS) this.failures = 0;
      this.state = 'restarting';
      this.log('embedded database exited unexpectedly: restarting it');
      this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    const delay = Math.min(BACKOFF_FIRST_MS * 2 ** this.failures, BACKOFF_MAX_MS);
    this.failures += 1;
    this.timer = setTimeout(() => void this.restart(), delay);
    this.timer.unref();
  }

  /** Read through a method: stop() may change the state while a restart awaits. */
  private isStopped(): boolean {
    return this.state === 'stopped';
  }

  private async restart(): Promise<void> {
    if (this.isStopped()) return;
    try {
      const engine = await this.launch();
      if (this.isStopped()) return void (await engine.stop());
      this.restarts += 1;
      this.log('embedded database restarted');
      this.watch(engine);
    } catch {
      this.scheduleRestart();
    }
  }
}
