import fs from 'node:fs';
import path from 'node:path';
import { DEMO_ROLES, type DemoRole } from './demo-data';

/**
 * The demo clients' API keys, kept in a local file so a second run can print
 * them again: the service shows a key once and stores only its hash. The file
 * is under DATA_DIR (git-ignored), readable by its owner only (0600), and
 * named after the demo database's marker, so keys of one database are never
 * offered for another.
 */

export interface DemoClientKey {
  id: string;
  apiKey: string;
}

export type DemoKeys = Partial<Record<DemoRole, DemoClientKey>>;

export interface DemoKeyFile {
  path: string;
  read(): DemoKeys;
  /** Replaces one client's key, written atomically (temporary file, then rename). */
  save(role: DemoRole, key: DemoClientKey): void;
}

export function demoKeyFile(directory: string, demoId: string): DemoKeyFile {
  const file = path.join(directory, `api-keys-${demoId}.json`);
  const read = (): DemoKeys => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      return {};
    }
    const keys: DemoKeys = {};
    for (const role of DEMO_ROLES) {
      const entry = (parsed as Record<string, Partial<DemoClientKey>> | null)?.[role];
      if (typeof entry?.id === 'string' && typeof entry.apiKey === 'string') {
        keys[role] = { id: entry.id, apiKey: entry.apiKey };
      }
    }
    return keys;
  };
  return {
    path: file,
    read,
    save(role, key) {
      fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
      const next = { ...read(), [role]: key };
      const temporary = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
      fs.renameSync(temporary, file);
    },
  };
}
