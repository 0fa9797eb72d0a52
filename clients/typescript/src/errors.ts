/** One field the service refused, as `error.details[]` names it (never the value sent). */
export interface ApiErrorDetail {
  path: string;
  message: string;
}

/**
 * A non-2xx answer of the service, as its stable error code, HTTP status and
 * request id (the id to quote to the service's operators). The message is
 * built from those alone: an error body never carries personal data, and
 * this class makes sure a caller's log line cannot either.
 */
export class CustomsIdentityApiError extends Error {
  override readonly name = 'CustomsIdentityApiError';

  constructor(
    /** The contract's `error.code`, e.g. `VALIDATION_FAILED`, `ORDER_CONFLICT`. */
    readonly code: string,
    readonly status: number,
    /** `error.requestId`, or the `X-Request-Id` header when the body has none. */
    readonly requestId: string | null,
    /** The operation called, as its path template: `POST /v1/checkout/verify`. */
    readonly operation: string,
    /** Which fields were refused (paths and the service's fixed messages). */
    readonly details: readonly ApiErrorDetail[] = [],
  ) {
    super(`${operation} answered ${status} ${code} (request ${requestId ?? 'unknown'})`);
  }
}

/** A signed response whose signature does not verify: the body must not be trusted. */
export class SignatureVerificationError extends Error {
  override readonly name = 'SignatureVerificationError';

  constructor(
    /** Why, as a fixed reason: `missing-signature`, `digest-mismatch`, `bad-signature`, ... */
    readonly reason: string,
    readonly operation: string,
  ) {
    super(`${operation}: the response signature does not verify (${reason})`);
  }
}

interface ErrorBody {
  error?: { code?: unknown; requestId?: unknown; details?: unknown };
}

function detailsOf(value: unknown): ApiErrorDetail[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter(
      (d): d is ApiErrorDetail => typeof d?.path === 'string' && typeof d?.message === 'string',
    )
    .map(({ path, message }) => ({ path, message }));
}

/** The typed error for a response that failed, from its error body when it has the contract's shape. */
export function apiErrorOf(
  operation: string,
  response: Response,
  body: unknown,
): CustomsIdentityApiError {
  const error = (body as ErrorBody | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`;
  const requestId =
    typeof error?.requestId === 'string' ? error.requestId : response.headers.get('x-request-id');
  return new CustomsIdentityApiError(
    code,
    response.status,
    requestId,
    operation,
    detailsOf(error?.details),
  );
}
