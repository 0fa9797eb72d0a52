import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../db/project-root';
import { publicRoute, type RouteDefinition } from '../http/route';

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
  { path: '/console/console.css', file: 'console.css', type: 'text/css; charset=utf-8' },
] as const;

/**
 * `GET /console`: the security team's web console, static HTML, JS and CSS
 * served from this origin. Public like any page: it holds no data, and every
 * call it makes needs an auditor key. Read once at start (a few kB).
 */
export function createConsoleModule(): { routes: RouteDefinition[] } {
  const dir = path.join(projectRoot(), 'src', 'console');
  return {
    routes: ASSETS.map(({ path: route, file, type }) => {
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
    }),
  };
}
