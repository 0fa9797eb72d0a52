import * as pkcs11js from 'pkcs11js';

/** Stable codes of what can stop the HSM provider; each message is one line saying what to do. */
export type HsmErrorCode =
  | 'HSM_MODULE_NOT_LOADED'
  | 'HSM_TOKEN_NOT_FOUND'
  | 'HSM_PIN_UNREADABLE'
  | 'HSM_LOGIN_FAILED'
  | 'HSM_KEY_NOT_FOUND'
  | 'HSM_KEY_EXISTS'
  | 'HSM_KEY_EXTRACTABLE'
  | 'HSM_MECHANISM_UNSUPPORTED'
  | 'HSM_CLOSED'
  | 'HSM_OPERATION_FAILED';

/**
 * Start-up and operation failures of the PKCS#11 provider. Messages are built
 * from labels, paths and PKCS#11 return-value names only: never a PIN, never
 * key material.
 */
export class HsmError extends Error {
  override name = 'HsmError';
  constructor(
    readonly code: HsmErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// pkcs11js turns most failures into Pkcs11Error ("CKR_PIN_INCORRECT", code 160); a few
// calls throw a plain Error whose message is "CKR_ATTRIBUTE_READ_ONLY:16". Both are read.
const RETURN_VALUE = /(CKR_[A-Z0-9_]+)(?::(\d+))?/;

/** Read by shape: an error thrown by native code may come from another realm than `Error`. */
function messageOf(error: unknown): string | null {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : null;
}

/** The CKR_* name of a failed call (`CKR_PIN_INCORRECT`), or null for a non-PKCS#11 failure. */
export function returnValueName(error: unknown): string | null {
  return RETURN_VALUE.exec(messageOf(error) ?? '')?.[1] ?? null;
}

/** The CK_RV of a failed call, or null for a non-PKCS#11 failure. */
export function returnValue(error: unknown): number | null {
  if (error instanceof pkcs11js.Pkcs11Error) return error.code;
  const code = RETURN_VALUE.exec(messageOf(error) ?? '')?.[2];
  return code === undefined ? null : Number(code);
}

/** Wraps any failure of `what` as one HsmError line naming the CKR_* value. */
export function operationFailed(what: string, error: unknown): HsmError {
  if (error instanceof HsmError) return error;
  return new HsmError(
    'HSM_OPERATION_FAILED',
    `PKCS#11 ${what} failed (${returnValueName(error) ?? 'not a PKCS#11 error'})`,
  );
}
