import type { NextFunction, Request, Response } from 'express';
import { isDatabaseUnavailable } from '../db/database-errors';
import {
  AppError,
  DatabaseUnavailable,
  InternalError,
  NotFound,
  ValidationFailed,
} from '../errors';
import type { Logger } from '../logger';

/** Turns body-parser, driver and other foreign errors into the service's own. */
function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isDatabaseUnavailable(error)) return new DatabaseUnavailable({ cause: error });
  return fromHttpStatus(error) ?? new InternalError({ cause: error });
}

/**
 * Errors that Express, the router and body-parser raise carry an HTTP status:
 * a 4xx is the client's fault (a broken percent-encoding, a body that ends
 * early or will not decompress) and is answered as one, never as a 500.
 * Their messages can quote the request, so only fixed messages are used.
 */
function fromHttpStatus(error: unknown): AppError | null {
  const framework = error as {
    type?: string;
    status?: number;
    statusCode?: number;
    code?: unknown;
  };
  const status = framework.status ?? framework.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  if (error instanceof URIError) {
    return new ValidationFailed([{ path: 'path', message: 'is not valid percent-encoding' }]);
  }
  if (typeof framework.code === 'string' && framework.code.startsWith('Z_')) {
    return new ValidationFailed([{ path: 'body', message: 'cannot be decoded' }]);
  }
  switch (framework.type) {
    case 'entity.parse.failed':
      return new ValidationFailed([{ path: 'body', message: 'is not valid JSON' }]);
    case 'request.aborted':
    case 'request.size.invalid':
      return new ValidationFailed([
        { path: 'body', message: 'does not match its declared length' },
      ]);
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', 413, 'The request body is too large.', [
        { path: 'body', message: 'is too large' },
      ]);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 415, 'Unsupported body encoding.');
  }
  return new ValidationFailed([{ path: 'request', message: 'is not valid' }]);
  return new InternalError({ cause: error });
}

/**
 * Renders every error in the contract's shape. Only server faults are logged
 * as errors, and only by class and code: messages of foreign errors may quote
 * data, so they are not logged.
 */
export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appError = toAppError(error);
    const requestId = req.state?.requestId;
    if (appError.status >= 500) {
      const cause = appError.cause ?? error;
      logger.error(
        {
          requestId,
          code: appError.code,
          errorClass: cause instanceof Error ? cause.constructor.name : typeof cause,
        },
        'request failed',
      );
    }
    if (appError.code === 'RATE_LIMITED' && !res.getHeader('Retry-After')) {
      res.setHeader('Retry-After', '60');
    }
    res.status(appError.status).json({
      error: {
        code: appError.code,
        message: appError.message,
        details: appError.details,
        requestId,
      },
    });
  };
}

export function notFoundHandler(_req: Request, _res: Response, next: NextFunction): void {
  next(new NotFound('route'));
}
