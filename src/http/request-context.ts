import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Actor } from './route';
import { looksLikePersonalNumber } from './schemas';

/** Per-request state the middleware chain fills in. */
export interface RequestState {
  requestId: string;
  actor?: Actor;
  route?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/**
 * Request ids are stored in every audit event, so one that could be a phone
 * (11 digits) or a resident id number (17-18) is never echoed or stored, in
 * any common formatting (`138-1234-5670`, `110105-19491231-002X`). Plain
 * digit runs of 11 or more are refused too; a UUID is not (its groups are hex
 * and joining them is not a number anyone was given).
 */
const LONG_DIGIT_RUN = /\d{11,}/;

function couldBePersonalNumber(requestId: string): boolean {
  return LONG_DIGIT_RUN.test(requestId) || looksLikePersonalNumber(requestId);
}

declare module 'express-serve-static-core' {
  interface Request {
    state: RequestState;
  }
}

/**
 * Echoes a well-formed `X-Request-Id` and generates one otherwise. A malformed
 * incoming id is replaced rather than echoed: it could carry anything.
 */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.get('x-request-id');
  const acceptable = incoming && REQUEST_ID.test(incoming) && !couldBePersonalNumber(incoming);
  const requestId = acceptable ? incoming : randomUUID();
  req.state = { requestId };
  res.setHeader('X-Request-Id', requestId);
  next();
}

export function sourceIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
