import type { Request, Response } from 'express';
import { SECRET_PATTERN } from './console-sessions';

/**
 * Over TLS the cookie is `__Host-` prefixed: the browser then insists on
 * Secure, Path=/ and no Domain, so no other host or plain-HTTP page can set
 * it. Plain HTTP (development, tests) cannot carry that prefix.
 */
const SECURE_NAME = '__Host-console_session';
const PLAIN_NAME = 'console_session';

const cookieName = (req: Request) => (req.secure ? SECURE_NAME : PLAIN_NAME);

/** `req.secure`: TLS to this process, or X-Forwarded-Proto from a proxy listed in TRUST_PROXY. */
const attributes = (req: Request) =>
  ({ httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' }) as const;

/** RFC 6265 optional whitespace only: String#trim would also strip NBSP and let a look-alike name pass. */
const trimOws = (text: string) => text.replace(/^[ \t]+|[ \t]+$/g, '');

/**
 * The session id of the request's cookie, or undefined. Parsed here rather
 * than by a cookie library: one exact name, one value shape (43 base64url
 * characters), anything else is no session. Two cookies of that name (one
 * planted by a sibling host, say) are no session either: which one the
 * browser meant cannot be told.
 */
export function sessionIdOf(req: Request): string | undefined {
  const header = req.get('cookie');
  if (!header) return undefined;
  const name = cookieName(req);
  const values = header.split(';').flatMap((pair) => {
    const separator = pair.indexOf('=');
    if (separator < 0 || trimOws(pair.slice(0, separator)) !== name) return [];
    return [trimOws(pair.slice(separator + 1))];
  });
  const [value] = values;
  return values.length === 1 && value !== undefined && SECRET_PATTERN.test(value)
    ? value
    : undefined;
}

export function setSessionCookie(req: Request, res: Response, sessionId: string, maxMs: number) {
  // Max-Age (and Expires) is the hard end; the idle end is the server's to enforce.
  res.cookie(cookieName(req), sessionId, { ...attributes(req), maxAge: maxMs });
}

export function clearSessionCookie(req: Request, res: Response) {
  res.clearCookie(cookieName(req), attributes(req));
}
