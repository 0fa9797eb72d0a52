import fs from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * Profiles this process while `work` runs and writes a V8 .cpuprofile, so a
 * profile covers the measured load alone (not start-up, key generation or
 * data loading). Read it with `bench/profile-summary.ts` or Chrome DevTools.
 */
export async function withCpuProfile<T>(
  file: string | undefined,
  work: () => Promise<T>,
): Promise<T> {
  if (!file) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}
