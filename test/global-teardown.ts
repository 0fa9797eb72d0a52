import fs from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { __embeddedDatabase__?: { stop(): Promise<void> } };
  await holder.__embeddedDatabase__?.stop();
  const dataDir = process.env.TEST_EMBEDDED_DATA_DIR;
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  const keysDir = process.env.TEST_KEYS_DIR;
  if (keysDir) fs.rmSync(keysDir, { recursive: true, force: true });
  const softHsmDir = process.env.TEST_SOFTHSM_DIR;
  if (softHsmDir) fs.rmSync(softHsmDir, { recursive: true, force: true });
}
