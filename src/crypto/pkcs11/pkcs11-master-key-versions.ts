import * as pkcs11js from 'pkcs11js';
import type { MasterKeyProvider } from '../key-provider';
import { scannedMasterKeySet, type MasterKeySet } from '../master-key-set';
import type { MasterKeyVersionStore } from '../master-key-versions';
import { generateTokenKey } from './pkcs11-ceremony';
import type { Pkcs11Config } from './pkcs11-config';
import { operationFailed } from './pkcs11-errors';
import { findByLabel } from './pkcs11-keys';
import { openPkcs11MasterKeyProvider } from './pkcs11-master-key';
import { openPkcs11Token, type TokenContext } from './pkcs11-token';

/**
 * Master key versions in the token, told apart by label: version 1 is the
 * configured label (PKCS11_KEY_LABEL, `customs-identity-master`), version N
 * is `<label>-v<N>`, each a pair generated in the token with its certificate.
 */
export function tokenMasterKeyLabel(baseLabel: string, version: number): string {
  return version === 1 ? baseLabel : `${baseLabel}-v${version}`;
}

function labelsOfPrivateKeys({ pkcs11, session }: TokenContext): string[] {
  pkcs11.C_FindObjectsInit(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
  ]);
  const handles: pkcs11js.Handle[] = [];
  try {
    for (;;) {
      const found = pkcs11.C_FindObjects(session, 64);
      if (found.length === 0) break;
      handles.push(...found);
    }
  } finally {
    pkcs11.C_FindObjectsFinal(session);
  }
  return handles.map((handle) => {
    const [label] = pkcs11.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_LABEL }]);
    return label?.value?.toString('utf8') ?? '';
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function listVersions(config: Pkcs11Config, environment: NodeJS.ProcessEnv) {
  const base = config.keyLabels.master;
  const pattern = new RegExp(`^${escapeRegExp(base)}(?:-v([1-9]\\d*))?$`);
  const token = openPkcs11Token(config, environment);
  try {
    const labels = await token.run(labelsOfPrivateKeys);
    const versions = labels
      .map((label) => pattern.exec(label))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => (match[1] === undefined ? 1 : Number(match[1])))
      .filter((version) => version === 1 || version >= 2);
    return [...new Set(versions)].sort((a, b) => a - b);
  } finally {
    await token.close();
  }
}

function withLabel(config: Pkcs11Config, version: number): Pkcs11Config {
  return {
    ...config,
    keyLabels: {
      ...config.keyLabels,
      master: tokenMasterKeyLabel(config.keyLabels.master, version),
    },
  };
}

/**
 * Every master key version in the token, each opened (found, checked
 * non-extractable, OAEP self-test) once. With no version at all the error is
 * that of the configured label: "not found ... hsm-generate".
 */
export async function openPkcs11MasterKeySet(
  config: Pkcs11Config,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<MasterKeySet> {
  let loaded = new Map<number, MasterKeyProvider>();

  async function scan(): Promise<void> {
    const versions = await listVersions(config, environment);
    if (versions.length === 0) {
      // Throws the one-line "not found: create it with hsm-generate" of the configured label.
      await (await openPkcs11MasterKeyProvider(config, environment)).close();
    }
    const next = new Map<number, MasterKeyProvider>();
    for (const version of versions) {
      next.set(
        version,
        loaded.get(version) ??
          (await openPkcs11MasterKeyProvider(withLabel(config, version), environment)),
      );
    }
    for (const [version, provider] of loaded) {
      if (!next.has(version)) await provider.close();
    }
    loaded = next;
  }

  try {
    await scan();
  } catch (error) {
    for (const provider of loaded.values()) await provider.close();
    throw error;
  }
  return scannedMasterKeySet({
    kind: 'pkcs11',
    held: () => loaded,
    scan,
    async close() {
      for (const provider of loaded.values()) await provider.close();
      loaded = new Map();
    },
  });
}

/** The versions as master-key-rotation.ts uses them: new pairs generated in the token, old ones destroyed there. */
export function tokenMasterKeyVersions(
  config: Pkcs11Config,
  environment: NodeJS.ProcessEnv = process.env,
): MasterKeyVersionStore {
  return {
    where: `token "${config.tokenLabel}"`,
    list: () => listVersions(config, environment),
    async create() {
      const existing = await listVersions(config, environment);
      const version = Math.max(1, ...existing) + 1;
      const report = await generateTokenKey(withLabel(config, version), 'master', environment);
      return { version, fingerprint: report.fingerprint };
    },
    open: () => openPkcs11MasterKeySet(config, environment),
    async destroy(version) {
      const label = tokenMasterKeyLabel(config.keyLabels.master, version);
      const token = openPkcs11Token(config, environment);
      try {
        await token.run((context) => {
          // The private key first: once it is gone nothing wrapped by this version opens.
          for (const objectClass of [
            pkcs11js.CKO_PRIVATE_KEY,
            pkcs11js.CKO_PUBLIC_KEY,
            pkcs11js.CKO_CERTIFICATE,
          ]) {
            for (const handle of findByLabel(context, objectClass, label)) {
              try {
                context.pkcs11.C_DestroyObject(context.session, handle);
              } catch (error) {
                throw operationFailed(`C_DestroyObject on "${label}"`, error);
              }
            }
          }
        });
      } finally {
        await token.close();
      }
    },
  };
}
