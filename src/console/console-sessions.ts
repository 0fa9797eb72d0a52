import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors';
import type { Actor } from '../http/route';
import type { ConsoleSessionStore, StoredSession } from './console-session-store';

/** 256 random bits, base64url: the session id and the CSRF token alike. */
const SECRET_BYTES = 32;
export const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * 403 for a state change sent with the session cookie but without the
 * session's CSRF token: another site's form or script cannot read the token,
 * so it cannot send it.
 */
export class CsrfTokenInvalid extends AppError {
  constructor() {
    super(
      'CSRF_TOKEN_INVALID',
      403,
      'This request needs the X-CSRF-Token of the console session.',
      [{ path: 'header.x-csrf-token', message: 'is missing or does not match the session' }],
    );
  }
}

export interface OpenedSession {
  /** The cookie's value. */
  sessionId: string;
  /** Sent back by the page as X-CSRF-Token on every state change. */
  csrfToken: string;
  clientId: string;
  idleExpiresAt: Date;
  expiresAt: Date;
}

/** What a session cookie stands for on one request. */
export interface ResolvedSession {
  actor: Actor;
  /** Null, or the refusal of a state change without the CSRF token. */
  refusal: AppError | null;
}

export interface ConsoleSessions {
  /** Opens a session for an actor that just authenticated with its key (the key is not kept). */
  signIn(actor: Actor): Promise<OpenedSession>;
  /** Deletes the session, if there is one: sign-out, or a sign-in replacing it. */
  signOut(sessionId: string): Promise<void>;
  /**
   * The actor of a live session, its client checked again; null for an
   * unknown, expired or revoked one, or one whose client is no longer an
   * auditor (the session is then deleted).
   */
  resolve(
    sessionId: string,
    check: { stateChange: boolean; csrfToken: string | undefined },
  ): Promise<ResolvedSession | null>;
}

export interface ConsoleSessionsDeps {
  store: ConsoleSessionStore;
  /** The client by id, as authentication sees it: a revoked client resolves to nothing. */
  actorOf(clientId: string): Promise<Actor | null>;
  clock?: () => Date;
}

export function createConsoleSessions(
  { store, actorOf, clock = () => new Date() }: ConsoleSessionsDeps,
  { idleMs, maxMs }: { idleMs: number; maxMs: number },
): ConsoleSessions {
  const touchStepMs = Math.min(60_000, idleMs / 10);
  return {
    async signIn(actor) {
      const now = clock();
      // Housekeeping instead of a TTL index: sign-ins are rare, sessions few.
      await store.removeExpired(now);
      const sessionId = randomBytes(SECRET_BYTES).toString('base64url');
      const csrfToken = randomBytes(SECRET_BYTES).toString('base64url');
      const session: StoredSession = {
        idHash: sha256(sessionId),
        clientId: actor.clientId,
        csrfHash: sha256(csrfToken),
        createdAt: now,
        idleExpiresAt: new Date(now.getTime() + idleMs),
        expiresAt: new Date(now.getTime() + maxMs),
      };
      await store.insert(session);
      return {
        sessionId,
        csrfToken,
        clientId: actor.clientId,
        idleExpiresAt: session.idleExpiresAt,
        expiresAt: session.expiresAt,
      };
    },

    async signOut(sessionId) {
      await store.remove(sha256(sessionId));
    },

    async resolve(sessionId, { stateChange, csrfToken }) {
      const idHash = sha256(sessionId);
      const session = await store.find(idHash);
      if (!session) return null;
      const now = clock();
      const actor = await liveActor(session, now);
      if (!actor) {
        await store.remove(idHash);
        return null;
      }
      const csrfValid = csrfToken !== undefined && sameHash(sha256(csrfToken), session.csrfHash);
      // A refused request is no use of the session: it does not keep it alive.
      if (stateChange && !csrfValid) return { actor, refusal: new CsrfTokenInvalid() };
      // Each use moves the idle end on; written only once it moved a tenth of the idle time (a minute at most).
      const idleExpiresAt = new Date(Math.min(now.getTime() + idleMs, session.expiresAt.getTime()));
      if (idleExpiresAt.getTime() - session.idleExpiresAt.getTime() >= touchStepMs) {
        await store.touch(idHash, idleExpiresAt);
      }
      return { actor, refusal: null };
    },
  };

  /** The session's actor when it is within both ends and its client is still an active auditor. */
  async function liveActor(session: StoredSession, now: Date): Promise<Actor | null> {
    if (now >= session.expiresAt || now >= session.idleExpiresAt) return null;
    const actor = await actorOf(session.clientId);
    return actor?.role === 'auditor' ? actor : null;
  }
}

/** base64url, not hex: a run of decimal digits in hex could pass for a phone or id number in a plaintext scan. */
function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
