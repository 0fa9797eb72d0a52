/** The embedded engines: mongo-java-server (the default) and FerretDB (the second engine). */
export const EMBEDDED_ENGINES = ['mongo-java-server', 'ferretdb'] as const;
export type EmbeddedEngineName = (typeof EMBEDDED_ENGINES)[number];

/** How to run one engine as a child process on loopback. */
export interface EngineLaunch {
  command: string;
  args: string[];
  /**
   * The child exits when its standard input closes, so it cannot outlive the
   * service even when the service is killed with SIGKILL.
   */
  exitsWithStdin: boolean;
}

export interface EmbeddedEngine {
  name: EmbeddedEngineName;
  /** Human-readable, with the version: goes into logs and benchmark headers. */
  label: string;
  /** Fetches or builds what the engine needs (first run only); throws EmbeddedDatabaseUnavailable. */
  prepare(projectRoot: string, log: (line: string) => void, env?: NodeJS.ProcessEnv): void;
  launch(projectRoot: string, port: number, dataDir: string): EngineLaunch;
}

/** Neither a MONGODB_URI nor what the embedded engine needs: one line says both ways out. */
export class EmbeddedDatabaseUnavailable extends Error {}
