import Joi from 'joi';
import { defineRoutes, type RouteDefinition } from '../http/route';
import type { Metrics } from '../http/metrics';

export interface Readiness {
  /** True when every dependency (database, indexes, keys) is usable now. */
  isReady(): Promise<boolean>;
}

export function opsRoutes(
  readiness: Readiness,
  metrics: Metrics,
  openApi: () => object,
): RouteDefinition[] {
  const status = Joi.object({ status: Joi.string() });
  return defineRoutes([
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: 200 while the process runs',
      tag: 'Operations',
      roles: 'public',
      responses: { 200: { description: 'Alive', schema: status } },
      handler(_req, res) {
        res.json({ status: 'ok' });
      },
    },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: 200 when the database, its indexes and the keys are usable',
      tag: 'Operations',
      roles: 'public',
      responses: {
        200: { description: 'Ready', schema: status },
        503: { description: 'Not ready', schema: status },
      },
      async handler(_req, res) {
        const ready = await readiness.isReady();
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
      },
    },
    {
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
    },
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This contract as OpenAPI 3',
      tag: 'Operations',
      roles: 'public',
      responses: { 200: { description: 'OpenAPI document' } },
      handler(_req, res) {
        res.json(openApi());
      },
    },
  ]);
}
