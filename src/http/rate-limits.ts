import { createHmac, randomBytes } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type Options } from 'express-rate-limit';
import { AppError } from '../errors';

const WINDOW_MS = 60_000;

/** How many refused (401/403) requests one source may cause per minute. */
export interface RefusalLimits {
  perAddressPerMinute: number;
  perKeyPerMinute: number;
}

/** Who a refusal is held against: the socket's address, and the presented key when there was one. */
export interface Presenter {
  address: string;
  /** A keyed hash of the bearer token; the token itself is never kept. */
  keyRef: string | null;
}

/**
 * Counts refusals, not requests, so a burst of refused calls from one address
 * or key cannot starve the accepted calls of another client behind it.
 */
export interface RefusalLimiter {
  /** Who presents this request, before anything is looked up. */
  presenterOf(req: Request, bearerToken: string | undefined): Presenter;
  /**
   * Before authentication: seconds to wait when this presenter is already over
   * a limit, else null. A presented key under its own limit is let through to
   * authentication even from an address over its limit: only authentication
   * tells a valid client from a flood of guessed keys.
   */
  waitBeforeAuthentication(presenter: Presenter): Promise<number | null>;
  /** Counts one refusal: seconds to wait when it went over a limit, else null. */
  countRefusal(presenter: Presenter): Promise<number | null>;
}

export function createRefusalLimiter(limits: RefusalLimits): RefusalLimiter {
  const store = new MemoryStore();
  // MemoryStore reads only windowMs from the middleware options it is given.
  store.init({ windowMs: WINDOW_MS } as Options);
  // Keyed per process: the in-memory key matches no stored key hash.
  const tokenKey = randomBytes(32);
  const addressKey = (presenter: Presenter) => `address:${presenter.address}`;
  const keyKey = (keyRef: string) => `key:${keyRef}`;

  return {
    presenterOf(req, bearerToken) {
      return {
        // `trust proxy` is off, so req.ip is the socket's address; IPv6 counts per /56.
        address: ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown'),
        keyRef: bearerToken
          ? createHmac('sha256', tokenKey).update(bearerToken).digest('base64url')
          : null,
      };
    },

    async waitBeforeAuthentication(presenter) {
      if (presenter.keyRef) {
        const key = await store.get(keyKey(presenter.keyRef));
        return key && key.totalHits >= limits.perKeyPerMinute ? secondsUntil(key.resetTime) : null;
      }
      const address = await store.get(addressKey(presenter));
      return address && address.totalHits >= limits.perAddressPerMinute
        ? secondsUntil(address.resetTime)
        : null;
    },

    async countRefusal(presenter) {
      const waits: number[] = [];
      const address = await store.increment(addressKey(presenter));
      if (address.totalHits > limits.perAddressPerMinute)
        waits.push(secondsUntil(address.resetTime));
      if (presenter.keyRef) {
        const key = await store.increment(keyKey(presenter.keyRef));
        if (key.totalHits > limits.perKeyPerMinute) waits.push(secondsUntil(key.resetTime));
      }
      return waits.length > 0 ? Math.max(...waits) : null;
    },
  };
}

function secondsUntil(reset: Date | undefined): number {
  return reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : WINDOW_MS / 1000;
}

/** The 429 every limiter answers, with the seconds to wait in Retry-After. */
export function rateLimited(res: Response, retryAfterSeconds: number): AppError {
  res.setHeader('Retry-After', String(retryAfterSeconds));
  return new AppError('RATE_LIMITED', 429, 'Too many requests; retry later.');
}

/** After authentication: every request of one API client counts against its per-minute budget. */
export function perClientRateLimit(limit: number): RequestHandler {
  return rateLimit({
    windowMs: WINDOW_MS,
    limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => req.state.actor?.clientId ?? 'anonymous',
    validate: { keyGeneratorIpFallback: false },
    handler: (req, res, next) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      next(rateLimited(res, secondsUntil(reset)));
    },
  });
}
