import express from 'express';
import helmet from 'helmet';
import type { Connection } from 'mongoose';
import { createClientsService } from './clients/clients-service';
import { createClientsStore } from './clients/clients-store';
import { clientsRoutes } from './clients/clients-routes';
import type { Config } from './config';
import { pingDatabase } from './db/connection';
import { errorHandler, notFoundHandler } from './http/error-handler';
import { createMetrics } from './http/metrics';
import { buildOpenApi } from './http/openapi';
import { requestIdMiddleware } from './http/request-context';
import { requestLogger } from './http/request-logger';
import type { RouteDefinition } from './http/route';
import { buildRouter } from './http/router';
import type { Logger } from './logger';
import { opsRoutes } from './ops/ops-routes';

export interface AppDeps {
  config: Config;
  connection: Connection;
  logger: Logger;
}

/** A capability's contribution to the app, wired here and nowhere else. */
interface Module {
  routes: RouteDefinition[];
  ensureIndexes?(): Promise<void>;
  isReady?(): Promise<boolean>;
  stop?(): Promise<void>;
}

export interface BuiltApp {
  app: express.Express;
  /** Creates indexes and starts background work; readiness waits for it. */
  start(): Promise<void>;
  /** Stops background work. The caller closes the connection. */
  stop(): Promise<void>;
}

export function createApp({ config, connection, logger }: AppDeps): BuiltApp {
  const clientsStore = createClientsStore(connection);
  const clientsService = createClientsService({ clientsStore }, config);

  const modules: Module[] = [
    { routes: clientsRoutes(clientsService), ensureIndexes: () => clientsStore.ensureIndexes() },
  ];

  let started = false;
  const readiness = {
    async isReady() {
      if (!started || !(await pingDatabase(connection, Math.min(config.dbTimeoutMs, 2000)))) {
        return false;
      }
      for (const module of modules) {
        if (module.isReady && !(await module.isReady())) return false;
      }
      return true;
    },
  };

  const metrics = createMetrics();
  const routes: RouteDefinition[] = [];
  const openApi = () => buildOpenApi(routes);
  routes.push(...opsRoutes(readiness, metrics, openApi), ...modules.flatMap((m) => m.routes));

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestIdMiddleware, requestLogger(logger), metrics.middleware, helmet());
  app.use(
    buildRouter(routes, {
      authenticate: (key) => clientsService.authenticate(key),
      bodyLimit: config.bodyLimit,
      rateLimitPerMinute: config.rateLimitPerMinute,
    }),
  );
  app.use(notFoundHandler, errorHandler(logger));

  return {
    app,
    async start() {
      for (const module of modules) await module.ensureIndexes?.();
      started = true;
    },
    async stop() {
      started = false;
      for (const module of modules) await module.stop?.();
    },
  };
}
