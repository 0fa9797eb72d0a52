import { spawn, type ChildProcess } from 'node:child_process';
import type { EngineLaunch } from './engine';
import { acceptsConnections } from './loopback';

const START_DEADLINE_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/** One run of an engine's process, from spawn until it exits. */
export interface EngineProcess {
  pid: number | undefined;
  /** Resolves when the process has exited, for whatever reason. */
  exited: Promise<void>;
  /** Asks it to stop (SIGTERM), then kills it after a grace period. */
  stop(): Promise<void>;
  /** Kills it at once; safe inside a process 'exit' handler (synchronous). */
  killNow(): void;
}

/** Spawns the engine and resolves once it accepts connections on `port`. */
export async function spawnEngine(launch: EngineLaunch, port: number): Promise<EngineProcess> {
  const child = spawn(launch.command, launch.args, {
    stdio: [launch.exitsWithStdin ? 'pipe' : 'ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined); // a failed spawn surfaces as an exit below
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const running = toEngineProcess(child, exited);
  try {
    await waitUntilListening(port, child, () => stderr);
  } catch (error) {
    running.killNow();
    throw error;
  }
  return running;
}

function toEngineProcess(child: ChildProcess, exited: Promise<void>): EngineProcess {
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    pid: child.pid,
    exited,
    killNow() {
      if (!hasExited()) child.kill('SIGKILL');
    },
    async stop() {
      if (hasExited()) return void child.stdin?.end();
      child.kill('SIGTERM');
      // A paused (SIGSTOPped) engine cannot act on SIGTERM: let it run again.
      child.kill('SIGCONT');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      child.stdin?.end();
    },
  };
}

async function waitUntilListening(
  port: number,
  child: ChildProcess,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + START_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      const lastLine = stderr().trim().split('\n').pop() || 'no output';
      throw new Error(`embedded database exited at start: ${lastLine}`);
    }
    if (await acceptsConnections(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`embedded database did not listen within ${START_DEADLINE_MS / 1000} s`);
}
