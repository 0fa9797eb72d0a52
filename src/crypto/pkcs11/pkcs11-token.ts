import fs from 'node:fs';
import * as pkcs11js from 'pkcs11js';
import type { Pkcs11Config } from './pkcs11-config';
import { HsmError, operationFailed, returnValue, returnValueName } from './pkcs11-errors';

/** What an operation inside the token's queue gets: the binding and the logged-in session. */
export interface TokenContext {
  pkcs11: pkcs11js.PKCS11;
  session: pkcs11js.Handle;
}

/**
 * One logged-in session on one token, shared by everything in the process
 * (master key, signers). A PKCS#11 session runs one operation at a time and
 * an operation is two calls (C_xxxInit, then C_xxx), so every use goes
 * through `run`, which queues them: the binding's async calls run on a worker
 * thread, and two interleaved on one session would corrupt each other.
 */
export interface Pkcs11Token {
  readonly tokenLabel: string;
  /** Runs `operation` when every earlier one has finished; rejects with HsmError once closed. */
  run<T>(operation: (context: TokenContext) => Promise<T> | T): Promise<T>;
  /** Releases this holder; the last one logs out, closes the session and finalises the module. */
  close(): Promise<void>;
}

interface OpenToken {
  pkcs11: pkcs11js.PKCS11;
  session: pkcs11js.Handle;
  holders: number;
  queue: Promise<unknown>;
  closed: boolean;
}

// C_Initialize may run once per module per process: a second open shares the first.
const openTokens = new Map<string, OpenToken>();

function readPin(config: Pkcs11Config, environment: NodeJS.ProcessEnv): string {
  let pin: string;
  if (config.pin.from === 'env') {
    pin = environment.PKCS11_PIN ?? '';
  } else {
    try {
      pin = fs.readFileSync(config.pin.file, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new HsmError(
        'HSM_PIN_UNREADABLE',
        `PKCS#11 PIN file cannot be read: ${config.pin.file} (PKCS11_PIN_FILE): mount the secret or fix the path`,
      );
    }
  }
  if (!pin) {
    throw new HsmError('HSM_PIN_UNREADABLE', 'PKCS#11 PIN is empty (PKCS11_PIN / PKCS11_PIN_FILE)');
  }
  return pin;
}

function loadModule(config: Pkcs11Config): pkcs11js.PKCS11 {
  const fix =
    'install the HSM vendor library (SoftHSM2: apt-get install -y softhsm2) or fix PKCS11_MODULE';
  if (!fs.existsSync(config.module)) {
    throw new HsmError(
      'HSM_MODULE_NOT_LOADED',
      `PKCS#11 module not found: ${config.module}: ${fix}`,
    );
  }
  const pkcs11 = new pkcs11js.PKCS11();
  try {
    pkcs11.load(config.module);
  } catch {
    throw new HsmError(
      'HSM_MODULE_NOT_LOADED',
      `PKCS#11 module cannot be loaded: ${config.module}: ${fix}`,
    );
  }
  try {
    // Async calls run on worker threads: the library must do its own locking.
    pkcs11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (error) {
    if (returnValue(error) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      pkcs11.close();
      throw operationFailed(`C_Initialize of ${config.module}`, error);
    }
  }
  return pkcs11;
}

/** CK_TOKEN_INFO.label is blank-padded to 32 bytes. */
function findSlot(pkcs11: pkcs11js.PKCS11, config: Pkcs11Config): pkcs11js.Handle {
  const slots = pkcs11
    .C_GetSlotList(true)
    .filter((slot) => pkcs11.C_GetTokenInfo(slot).label.trim() === config.tokenLabel);
  if (slots.length === 1) return slots[0]!;
  if (slots.length === 0) {
    throw new HsmError(
      'HSM_TOKEN_NOT_FOUND',
      `PKCS#11 token "${config.tokenLabel}" not found in ${config.module}: initialise it ` +
        `(SoftHSM2: softhsm2-util --init-token --free --label ${config.tokenLabel}) or fix PKCS11_TOKEN_LABEL`,
    );
  }
  throw new HsmError(
    'HSM_TOKEN_NOT_FOUND',
    `PKCS#11 token label "${config.tokenLabel}" is on ${slots.length} tokens: give each token its own label`,
  );
}

function login(
  pkcs11: pkcs11js.PKCS11,
  session: pkcs11js.Handle,
  config: Pkcs11Config,
  pin: string,
): void {
  try {
    pkcs11.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (error) {
    const code = returnValue(error);
    if (code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) return;
    const reason =
      code === pkcs11js.CKR_PIN_INCORRECT
        ? 'wrong PIN'
        : code === pkcs11js.CKR_PIN_LOCKED
          ? 'the PIN is locked: the security officer must unlock it'
          : code === pkcs11js.CKR_USER_PIN_NOT_INITIALIZED
            ? 'the user PIN is not initialised: initialise the token first'
            : 'the token refused the login';
    throw new HsmError(
      'HSM_LOGIN_FAILED',
      `PKCS#11 login failed for token "${config.tokenLabel}": ${reason} (${returnValueName(error) ?? 'no CKR value'})`,
    );
  }
}

function openSession(config: Pkcs11Config, environment: NodeJS.ProcessEnv): OpenToken {
  const pin = readPin(config, environment);
  const pkcs11 = loadModule(config);
  let session: pkcs11js.Handle | undefined;
  try {
    const slot = findSlot(pkcs11, config);
    session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    login(pkcs11, session, config, pin);
    return { pkcs11, session, holders: 0, queue: Promise.resolve(), closed: false };
  } catch (error) {
    if (session !== undefined) ignore(() => pkcs11.C_CloseSession(session!));
    finalize(pkcs11);
    throw error instanceof HsmError ? error : operationFailed('opening a session', error);
  }
}

function ignore(call: () => void): void {
  try {
    call();
  } catch {
    // Closing: nothing useful to do with a failure.
  }
}

function finalize(pkcs11: pkcs11js.PKCS11): void {
  ignore(() => pkcs11.C_Finalize());
  ignore(() => pkcs11.close());
}

/**
 * Loads the module, finds the token by label, opens a read-write session and
 * logs in as the user, once per process; a second call shares the session
 * and its login (PKCS#11 logs in the application, not the session).
 * Every failure is an HsmError with one line saying what to do.
 */
export function openPkcs11Token(
  config: Pkcs11Config,
  environment: NodeJS.ProcessEnv = process.env,
): Pkcs11Token {
  const key = `${config.module}\u0000${config.tokenLabel}`;
  let open = openTokens.get(key);
  if (!open) {
    open = openSession(config, environment);
    openTokens.set(key, open);
  }
  const shared = open;
  shared.holders += 1;
  let released = false;
  return {
    tokenLabel: config.tokenLabel,
    run(operation) {
      if (shared.closed || released) {
        return Promise.reject(
          new HsmError('HSM_CLOSED', `PKCS#11 session on "${config.tokenLabel}" is closed`),
        );
      }
      const result = shared.queue.then(() =>
        operation({ pkcs11: shared.pkcs11, session: shared.session }),
      );
      shared.queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      if (released) return;
      released = true;
      shared.holders -= 1;
      if (shared.holders > 0) return;
      await shared.queue;
      // Opened again while the last operations finished: the new holder keeps the session.
      if (shared.holders > 0) return;
      openTokens.delete(key);
      shared.closed = true;
      ignore(() => shared.pkcs11.C_Logout(shared.session));
      ignore(() => shared.pkcs11.C_CloseSession(shared.session));
      finalize(shared.pkcs11);
    },
  };
}
