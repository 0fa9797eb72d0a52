import path from 'node:path';

/** Default labels of the service's key objects in the token (one key, one use). */
export const DEFAULT_PKCS11_KEY_LABELS = {
  master: 'customs-identity-master',
  checkpoint: 'customs-identity-checkpoint',
  disclosure: 'customs-identity-disclosure',
} as const;

export type Pkcs11KeyPurpose = keyof typeof DEFAULT_PKCS11_KEY_LABELS;

/**
 * Where the HSM is and how to log in. The PIN itself is not read here: the
 * config holds where it comes from, so the value is read once, by the token
 * code, and never sits in an object that might be logged.
 */
export interface Pkcs11Config {
  /** Path of the vendor's PKCS#11 library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so). */
  module: string;
  tokenLabel: string;
  pin: { from: 'env'; variable: 'PKCS11_PIN' } | { from: 'file'; file: string };
  keyLabels: Record<Pkcs11KeyPurpose, string>;
}

export type Pkcs11ConfigResult =
  { ok: true; value: Pkcs11Config | null } | { ok: false; variable: string; problem: string };

// CK_TOKEN_INFO.label is 32 bytes, blank-padded (PKCS#11 2.40, 3.2).
const MAX_TOKEN_LABEL_BYTES = 32;

function problem(variable: string, text: string): Pkcs11ConfigResult {
  return { ok: false, variable, problem: text };
}

function label(environment: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  return (environment[variable] ?? '').trim() || fallback;
}

/**
 * PKCS11_* settings: all unset means no HSM (null). With PKCS11_MODULE set,
 * PKCS11_TOKEN_LABEL and exactly one of PKCS11_PIN / PKCS11_PIN_FILE are
 * required. Problems name the variable, never its value.
 */
export function parsePkcs11Config(environment: NodeJS.ProcessEnv): Pkcs11ConfigResult {
  const module = (environment.PKCS11_MODULE ?? '').trim();
  const others = ['PKCS11_TOKEN_LABEL', 'PKCS11_PIN', 'PKCS11_PIN_FILE'].filter(
    (name) => (environment[name] ?? '') !== '',
  );
  if (!module) {
    if (others.length > 0) return problem('PKCS11_MODULE', 'is required when PKCS11_* is set');
    return { ok: true, value: null };
  }
  if (!path.isAbsolute(module)) return problem('PKCS11_MODULE', 'must be an absolute path');
  const tokenLabel = (environment.PKCS11_TOKEN_LABEL ?? '').trim();
  if (!tokenLabel) return problem('PKCS11_TOKEN_LABEL', 'is required with PKCS11_MODULE');
  if (Buffer.byteLength(tokenLabel) > MAX_TOKEN_LABEL_BYTES) {
    return problem('PKCS11_TOKEN_LABEL', `is longer than ${MAX_TOKEN_LABEL_BYTES} bytes`);
  }
  const pinValue = environment.PKCS11_PIN ?? '';
  const pinFile = (environment.PKCS11_PIN_FILE ?? '').trim();
  if (pinValue && pinFile) {
    return problem('PKCS11_PIN', 'and PKCS11_PIN_FILE are both set: keep one (the file)');
  }
  if (!pinValue && !pinFile) {
    return problem('PKCS11_PIN_FILE', '(or PKCS11_PIN) is required with PKCS11_MODULE');
  }
  return {
    ok: true,
    value: {
      module,
      tokenLabel,
      pin: pinFile
        ? { from: 'file', file: path.resolve(pinFile) }
        : { from: 'env', variable: 'PKCS11_PIN' },
      keyLabels: {
        master: label(environment, 'PKCS11_KEY_LABEL', DEFAULT_PKCS11_KEY_LABELS.master),
        checkpoint: label(
          environment,
          'PKCS11_CHECKPOINT_KEY_LABEL',
          DEFAULT_PKCS11_KEY_LABELS.checkpoint,
        ),
        disclosure: label(
          environment,
          'PKCS11_DISCLOSURE_KEY_LABEL',
          DEFAULT_PKCS11_KEY_LABELS.disclosure,
        ),
      },
    },
  };
}
