import Joi from 'joi';
import { route, type RouteDefinition } from '../http/route';
import type { AccessLog } from '../audit/audit-types';
import type { ConsoleSessions } from './console-sessions';
import { clearSessionCookie, sessionIdOf, setSessionCookie } from './session-cookie';

const AUDITOR = ['auditor'] as const;
const TAG = 'Console';

const signedInSchema = Joi.object({
  clientId: Joi.string().description('The auditor client the session acts as'),
  csrfToken: Joi.string().description(
    'Send as X-CSRF-Token on every state change made with the cookie; keep in memory only',
  ),
  idleExpiresAt: Joi.date().iso().description('Ends here unless used before; each use moves it'),
  expiresAt: Joi.date().iso().description('The hard end, however much the session is used'),
});

/**
 * `POST /console/session` exchanges an auditor key, sent as a bearer token
 * like on every other route (so refused sign-ins are counted and recorded as
 * any refusal is), for a session cookie; `DELETE` ends the session.
 */
export function consoleSessionRoutes(
  sessions: ConsoleSessions,
  accessLog: Pick<AccessLog, 'record'>,
  { maxMs }: { maxMs: number },
): RouteDefinition[] {
  return [
    route({
      method: 'post',
      path: '/console/session',
      summary:
        'Console sign-in: an auditor key (bearer) for an HttpOnly, SameSite=Strict session cookie and a CSRF token',
      tag: TAG,
      roles: AUDITOR,
      // A refused sign-in is a refused read of the log, recorded as on the log's own routes.
      personalData: { action: 'audit.read', fields: [] },
      responses: {
        201: { description: 'Signed in; the cookie is set', schema: signedInSchema },
      },
      async handler(req, res, { request }) {
        // The key was presented and accepted as a bearer token (this route takes no cookie).
        const replaced = sessionIdOf(req);
        if (replaced) await sessions.signOut(replaced);
        // Recorded first: a sign-in the log cannot hold opens no session (fail closed).
        await accessLog.record({
          context: request,
          action: 'console.sign-in',
          purpose: 'security-review',
          outcome: 'SUCCESS',
          fields: [],
        });
        const opened = await sessions.signIn(request.actor);
        setSessionCookie(req, res, opened.sessionId, maxMs);
        // The answer carries the CSRF token: no cache may keep it.
        res.setHeader('Cache-Control', 'no-store');
        res.status(201).json({
          clientId: opened.clientId,
          csrfToken: opened.csrfToken,
          idleExpiresAt: opened.idleExpiresAt.toISOString(),
          expiresAt: opened.expiresAt.toISOString(),
        });
      },
    }),
    route({
      method: 'delete',
      path: '/console/session',
      summary: 'Console sign-out: deletes the session server-side and clears its cookie',
      tag: TAG,
      roles: AUDITOR,
      responses: { 204: { description: 'Signed out (also when there was no session)' } },
      async handler(req, res, { request }) {
        const sessionId = sessionIdOf(req);
        clearSessionCookie(req, res);
        if (sessionId) {
          // Ended first, recorded after: a sign-out the log cannot hold still ends the session.
          await sessions.signOut(sessionId);
          await accessLog.record({
            context: request,
            action: 'console.sign-out',
            purpose: 'security-review',
            outcome: 'SUCCESS',
            fields: [],
          });
        }
        res.status(204).end();
      },
    }),
  ];
}
