import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Connection } from 'mongoose';
import type { AccessLog } from '../audit/audit-types';
import type { Config } from '../config';
import { projectRoot } from '../db/project-root';
import { publicRoute, type Actor, type RouteDefinition } from '../http/route';
import type { SessionAuthentication } from '../http/router';
import { createConsoleSessionStore } from './console-session-store';
import { consoleSessionRoutes } from './console-session-routes';
import { createConsoleSessions } from './console-sessions';
import { sessionIdOf } from './session-cookie';

/**
 * The console's own policy, stricter than the app's: its script and style
 * only, from this origin (no inline script); API calls to this origin; no form may submit
 * anywhere (the id number never reaches a URL); no framing.
 */
const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  // data: for the page's empty icon only: nothing else makes images.
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The files of `src/console/`, a closed list: nothing else under it is served. */
const ASSETS = [
  { path: '/console', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/console/console.js', file: 'console.js', type: 'text/javascript; charset=utf-8' },
  {
    path: '/console/console-api.js',
    file: 'console-api.js',
    type: 'text/javascript; charset=utf-8',
  },
  {
    path: '/console/console-dom.js',
    file: 'console-dom.js',
    type: 'text/javascript; charset=utf-8',
  },
  { path: '/console/console.css', file: 'console.css', type: 'text/css; charset=utf-8' },
] as const;

/**
 * The API routes the console calls, and the only ones its session cookie is
 * accepted on (every other route wants the bearer key): all auditor routes.
 * Sign-in is not among them: it takes the key itself.
 */
const COOKIE_ROUTES = new Set([
  'get /v1/audit-events',
  'post /v1/audit-events/search',
  'get /v1/audit-events/verify',
  'get /v1/audit-events/head',
  'get /v1/audit-events/export',
  'get /v1/audit-alerts',
  'post /v1/audit-alerts/:alertId/acknowledge',
  'delete /console/session',
]);

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Sign-out needs no CSRF token: forged, it can only end a session, and a page
 * that lost its token (a reload) must still be able to end the one it has.
 */
const isSignOut = (route: RouteDefinition) =>
  route.method === 'delete' && route.path === '/console/session';

export interface ConsoleModuleDeps {
  connection: Connection;
  /** The client a session acts as, checked on every use: a revoked one ends its sessions. */
  actorOf(clientId: string): Promise<Actor | null>;
  /** Sign-in and sign-out are access-log events. */
  accessLog: Pick<AccessLog, 'record'>;
  clock?: () => Date;
}

export interface ConsoleModule {
  routes: RouteDefinition[];
  ensureIndexes(): Promise<void>;
  /** For the router: the session cookie, where it stands in for the bearer key. */
  sessions: SessionAuthentication;
}

/**
 * `GET /console`: the security team's web console, static HTML, JS and CSS
 * served from this origin, and its sign-in sessions. The files are public
 * like any page: they hold no data, and every call the page makes needs an
 * auditor's session (or key). Read once at start (a few kB).
 */
export function createConsoleModule(
  deps: ConsoleModuleDeps,
  config: Pick<Config, 'consoleSession'>,
): ConsoleModule {
  const store = createConsoleSessionStore(deps.connection);
  const sessions = createConsoleSessions(
    { store, actorOf: deps.actorOf, clock: deps.clock },
    config.consoleSession,
  );
  return {
    routes: [
      ...assetRoutes(),
      ...consoleSessionRoutes(sessions, deps.accessLog, { maxMs: config.consoleSession.maxMs }),
    ],
    ensureIndexes: () => store.ensureIndexes(),
    sessions: {
      presented(req, route) {
        if (!COOKIE_ROUTES.has(`${route.method} ${route.path}`)) return undefined;
        const sessionId = sessionIdOf(req);
        if (!sessionId) return undefined;
        return {
          id: sessionId,
          authenticate: () =>
            sessions.resolve(sessionId, {
              stateChange: !SAFE_METHODS.has(req.method) && !isSignOut(route),
              csrfToken: req.get('x-csrf-token'),
            }),
        };
      },
    },
  };
}

function assetRoutes(): RouteDefinition[] {
  const dir = path.join(projectRoot(), 'src', 'console');
  return ASSETS.map(({ path: route, file, type }) => {
    const content = readFileSync(path.join(dir, file));
    return publicRoute({
      method: 'get',
      path: route,
      summary: `Security console: ${file}`,
      tag: 'Console',
      roles: 'public',
      responses: { 200: { description: file, contentType: type.split(';')[0] } },
      handler(_req, res) {
        res.setHeader('Content-Security-Policy', CONSOLE_CSP);
        res.setHeader('Cache-Control', 'no-store');
        res.type(type).send(content);
      },
    });
  });
}
