import fs from 'node:fs';
import path from 'node:path';
import { generateMasterKeyFiles, MASTER_KEY_FILES, MasterKeyError } from './master-key';
import type { MasterKeySet } from './master-key-set';

/**
 * Where master key versions are made, listed and destroyed, for the rotation
 * (master-key-rotation.ts): files in KEYS_DIR here, objects in the token in
 * pkcs11/pkcs11-master-key-versions.ts.
 */
export interface MasterKeyVersionStore {
  /** Named in messages: `KEYS_DIR`, `token "<label>"`. */
  readonly where: string;
  /** The versions present, oldest first. */
  list(): Promise<number[]>;
  /** Makes version max+1 (at least 2). */
  create(): Promise<{ version: number; fingerprint: string }>;
  open(): Promise<MasterKeySet>;
  /** Destroys one version, its private key first. */
  destroy(version: number): Promise<void>;
}

/**
 * Master key versions as files. Version 1 is the pair at the top of KEYS_DIR
 * (`master-key.pem`, as every deployment has it today, so nothing moves);
 * version N >= 2 is the same three files in `KEYS_DIR/master-keys/v<N>/`,
 * written by `keys rotate-master`. A version exists while its private key
 * file does; destroying one deletes that file first.
 */
export const MASTER_KEY_VERSIONS_DIR = 'master-keys';

export function masterKeyVersionDir(keysDir: string, version: number): string {
  return version === 1 ? keysDir : path.join(keysDir, MASTER_KEY_VERSIONS_DIR, `v${version}`);
}

function hasPrivateKey(dir: string): boolean {
  return fs.existsSync(path.join(dir, MASTER_KEY_FILES.privateKey));
}

/** The versions present in KEYS_DIR, oldest first; empty when there is no master key at all. */
export function listMasterKeyVersions(keysDir: string): number[] {
  const versions = hasPrivateKey(keysDir) ? [1] : [];
  const versionsDir = path.join(keysDir, MASTER_KEY_VERSIONS_DIR);
  if (!fs.existsSync(versionsDir)) return versions;
  for (const name of fs.readdirSync(versionsDir)) {
    const match = /^v([1-9]\d*)$/.exec(name);
    const version = match ? Number(match[1]) : 0;
    if (version >= 2 && hasPrivateKey(masterKeyVersionDir(keysDir, version))) {
      versions.push(version);
    }
  }
  return versions.sort((a, b) => a - b);
}

/** Writes version max+1 (at least 2) as a new pair; refuses to overwrite anything. */
export function createMasterKeyVersion(keysDir: string): { version: number; fingerprint: string } {
  const existing = listMasterKeyVersions(keysDir);
  if (existing.length === 0) throw new MasterKeyError('no master key in KEYS_DIR to rotate from');
  const version = Math.max(1, ...existing) + 1;
  const dir = masterKeyVersionDir(keysDir, version);
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  const { fingerprint } = generateMasterKeyFiles(dir);
  return { version, fingerprint };
}

/**
 * Deletes a version's files, the private key first: once it is gone nothing
 * wrapped by this version opens again. Deleting a file does not scrub the
 * disk blocks; the runbook says what else to destroy (backups of KEYS_DIR).
 */
export function destroyMasterKeyVersion(keysDir: string, version: number): void {
  const dir = masterKeyVersionDir(keysDir, version);
  for (const file of [
    MASTER_KEY_FILES.privateKey,
    MASTER_KEY_FILES.publicKey,
    MASTER_KEY_FILES.certificate,
  ]) {
    fs.rmSync(path.join(dir, file), { force: true });
  }
  if (version !== 1) fs.rmSync(dir, { recursive: true, force: true });
}
