/**
 * Every error the service answers with. Each carries a stable `code` from a
 * closed list (consumers switch on it) and the HTTP status it maps to. Messages
 * are fixed strings written here, never built from request values, so an error
 * can never echo personal data back.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'CSRF_TOKEN_INVALID'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'NOT_ACCEPTABLE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'CONSENT_REQUIRED'
  | 'GUARDIAN_CONSENT_REQUIRED'
  | 'ORDER_CONFLICT'
  | 'INVALID_STATE_TRANSITION'
  | 'DISCLOSURE_WITHHELD'
  | 'DECLARATION_INCOMPLETE'
  | 'RETURN_WINDOW_CLOSED'
  | 'RETURN_EXCEEDS_ORDER'
  | 'RELEASE_TIME_INVALID'
  | 'DECLARATION_NOT_DISCLOSED'
  | 'PRODUCT_DATA_MISSING'
  | 'CONFLICT'
  | 'SERVICE_UNAVAILABLE'
  | 'DATABASE_UNAVAILABLE'
  | 'INTERNAL';

export interface ErrorDetail {
  path: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    message: string,
    readonly details: ErrorDetail[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationFailed extends AppError {
  constructor(details: ErrorDetail[], message = 'The request is not valid.') {
    super('VALIDATION_FAILED', 400, message, details);
  }
}

export class Unauthenticated extends AppError {
  constructor() {
    super('UNAUTHENTICATED', 401, 'A valid API key is required.');
  }
}

export class Forbidden extends AppError {
  constructor() {
    super('FORBIDDEN', 403, 'This client is not allowed to do this.');
  }
}

export class NotFound extends AppError {
  constructor(what = 'resource') {
    super('NOT_FOUND', 404, `No such ${what}.`);
  }
}

export class Conflict extends AppError {
  constructor(code: 'ORDER_CONFLICT' | 'INVALID_STATE_TRANSITION' | 'CONFLICT', message: string) {
    super(code, 409, message);
  }
}

export class Unprocessable extends AppError {
  constructor(
    code:
      | 'CONSENT_REQUIRED'
      | 'GUARDIAN_CONSENT_REQUIRED'
      | 'RETURN_WINDOW_CLOSED'
      | 'RETURN_EXCEEDS_ORDER'
      | 'RELEASE_TIME_INVALID'
      | 'PRODUCT_DATA_MISSING',
    message: string,
    details: ErrorDetail[] = [],
  ) {
    super(code, 422, message, details);
  }
}

export class ServiceUnavailable extends AppError {
  constructor(message = 'The service cannot answer right now.', options?: { cause?: unknown }) {
    super('SERVICE_UNAVAILABLE', 503, message, [], options);
  }
}

/** The database did not answer within its bound (down, paused, partitioned or overloaded). */
export class DatabaseUnavailable extends AppError {
  constructor(options?: { cause?: unknown }) {
    super('DATABASE_UNAVAILABLE', 503, 'The database is not reachable.', [], options);
  }
}

/** What every unexpected failure becomes on the wire: nothing about why. */
export class InternalError extends AppError {
  constructor(options?: { cause?: unknown }) {
    super('INTERNAL', 500, 'Internal error.', [], options);
  }
}

/**
 * Every decryption failure (wrong key, destroyed key, moved or tampered
 * ciphertext, unknown format) is this one error: on the wire it is exactly an
 * INTERNAL 500, so a caller learns nothing about why.
 */
export class DecryptionFailed extends AppError {
  constructor() {
    super('INTERNAL', 500, 'Internal error.');
  }
}
