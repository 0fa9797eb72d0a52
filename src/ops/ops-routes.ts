import Joi from 'joi';
import { publicRoute, type RouteDefinition } from '../http/route';
import type { Metrics } from '../http/metrics';

export interface ReadinessReport {
  /** True when every dependency (database, indexes, keys) is usable now. */
  ready: boolean;
  /** up; unreachable (no answer in time); restarting (the embedded engine crashed and is coming back). */
  database: 'up' | 'unreachable' | 'restarting';
}

export interface Readiness {
  check(): Promise<ReadinessReport>;
}

/** Four route declarations, each a few lines: the list is what makes it long. */
export function opsRoutes(
  readiness: Readiness,
  metrics: Metrics,
  openApi: () => object,
): RouteDefinition[] {
  const status = Joi.object({ status: Joi.string() });
  const readinessStatus = Joi.object({
    status: Joi.string().valid('ready', 'not ready'),
    database: Joi.string().valid('up', 'unreachable', 'restarting'),
  });
  return [
    publicRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: 200 while the process runs',
      tag: 'Operations',
      roles: 'public',
      responses: { 200: { description: 'Alive', schema: status } },
      handler(_req, res) {
        res.json({ status: 'ok' });
      },
    }),
    publicRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: 200 when the database, its indexes and the keys are usable',
      tag: 'Operations',
      roles: 'public',
      responses: {
        200: { description: 'Ready', schema: readinessStatus },
        503: { description: 'Not ready', schema: readinessStatus },
      },
      async handler(_req, res) {
        const { ready, database } = await readiness.check();
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', database });
      },
    }),
    publicRoute({
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics',
      tag: 'Operations',
      roles: 'public',
      responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } },
      async handler(_req, res) {
        res.setHeader('Content-Type', metrics.registry.contentType);
        res.send(await metrics.registry.metrics());
      },
    }),
    publicRoute({
      method: 'get',
      path: '/openapi.json',
      summary: 'This contract as OpenAPI 3',
      tag: 'Operations',
      roles: 'public',
      responses: { 200: { description: 'OpenAPI document' } },
      handler(_req, res) {
        res.json(openApi());
      },
    }),
  ];
}
