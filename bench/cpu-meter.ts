import fs from 'node:fs';

/** Linux reports a process's CPU time in clock ticks; 100 per second on every common kernel. */
const TICKS_PER_SECOND = 100;

function processCpuMs(pid: number): number | undefined {
  try {
    // Fields after the command name: state is field 3, utime 14 and stime 15 (proc(5)).
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

export interface CpuSpent {
  /** This process: the service and the load generator (they share it in the benchmarks). */
  serviceMs: number;
  /** The embedded database engine's process; undefined with MONGODB_URI. */
  engineMs: number | undefined;
}

/** Starts counting CPU time of this process and of the engine; the result is what was spent since. */
export function startCpuMeter(enginePid: number | undefined): () => CpuSpent {
  const service = process.cpuUsage();
  const engine = enginePid === undefined ? undefined : processCpuMs(enginePid);
  return () => {
    const spent = process.cpuUsage(service);
    const engineNow = enginePid === undefined ? undefined : processCpuMs(enginePid);
    return {
      serviceMs: (spent.user + spent.system) / 1000,
      engineMs: engine === undefined || engineNow === undefined ? undefined : engineNow - engine,
    };
  };
}

/** "service 1.23 ms + engine 0.80 ms CPU per request" */
export function cpuPerRequest(spent: CpuSpent, requests: number): string {
  const per = (ms: number) => `${(ms / Math.max(requests, 1)).toFixed(2)} ms`;
  const engine = spent.engineMs === undefined ? '' : ` + engine ${per(spent.engineMs)}`;
  return `CPU per request: service and load generator ${per(spent.serviceMs)}${engine}`;
}
