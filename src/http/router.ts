import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { rateLimit } from 'express-rate-limit';
import { AppError, Forbidden, Unauthenticated } from '../errors';
import { sourceIp } from './request-context';
import type { Actor, RequestContext, RouteDefinition, ValidatedInput } from './route';
import { validatePart } from './validate';

/** Called when a request to a personal-data route is refused (401/403), to record it. */
export type DeniedAccessRecorder = (
  route: RouteDefinition,
  context: Omit<RequestContext, 'actor'> & { actor: Actor | null },
  reason: 'UNAUTHENTICATED' | 'FORBIDDEN',
) => Promise<void>;

export interface RouterDeps {
  authenticate(apiKey: string | undefined): Promise<Actor | null>;
  recordDenied?: DeniedAccessRecorder;
  bodyLimit: string;
  rateLimitPerMinute: number;
}

function bearerToken(req: Request): string | undefined {
  const header = req.get('authorization');
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

function contextOf(req: Request, route: RouteDefinition, actor: Actor | null) {
  return {
    actor,
    requestId: req.state.requestId,
    sourceIp: sourceIp(req),
    route: route.path,
  };
}

function authorize(route: RouteDefinition, deps: RouterDeps): RequestHandler {
  return async (req, _res, next) => {
    if (route.roles === 'public') return next();
    const actor = await deps.authenticate(bearerToken(req));
    const refusal = !actor
      ? ('UNAUTHENTICATED' as const)
      : !route.roles.includes(actor.role)
        ? ('FORBIDDEN' as const)
        : null;
    if (refusal) {
      if (route.personalData && deps.recordDenied) {
        await deps.recordDenied(route, contextOf(req, route, actor), refusal);
      }
      return next(refusal === 'UNAUTHENTICATED' ? new Unauthenticated() : new Forbidden());
    }
    req.state.actor = actor!;
    next();
  };
}

function perClientRateLimit(limit: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => req.state.actor?.clientId ?? 'anonymous',
    validate: { keyGeneratorIpFallback: false },
    handler: (req, res, next) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : 60;
      res.setHeader('Retry-After', String(seconds));
      next(new AppError('RATE_LIMITED', 429, 'Too many requests; retry later.'));
    },
  });
}

function bodyParser(route: RouteDefinition, limit: string): RequestHandler {
  if (route.rawBody) {
    return express.raw({ type: [...route.rawBody.types], limit: route.rawBody.limit });
  }
  return express.json({ limit, strict: true, type: ['application/json', 'application/*+json'] });
}

/**
 * The bytes of a binary upload. express.raw parses only the route's declared
 * media types and leaves any other body unread, so a missing Buffer means the
 * Content-Type was not one of them.
 */
function rawBodyOf(req: Request, types: readonly string[]): Buffer {
  if (Buffer.isBuffer(req.body)) return req.body;
  throw new AppError(
    'UNSUPPORTED_MEDIA_TYPE',
    415,
    `The body must be sent as one of: ${types.join(', ')}.`,
  );
}

/** Params, then query, then body: the first part that fails decides the error. */
function validateInput(route: RouteDefinition) {
  return (req: Request): ValidatedInput => ({
    params: route.params ? validatePart<unknown>(route.params, { ...req.params }, 'params') : {},
    query: route.query ? validatePart<unknown>(route.query, { ...req.query }, 'query') : {},
    body: route.rawBody
      ? rawBodyOf(req, route.rawBody.types)
      : route.body
        ? validatePart<unknown>(route.body.required(), req.body, 'body')
        : undefined,
  });
}

/** Mounts every route with the same chain: route name, auth, rate limit, parse, validate, handle. */
export function buildRouter(routes: RouteDefinition[], deps: RouterDeps): express.Router {
  const router = express.Router();
  const limiter = perClientRateLimit(deps.rateLimitPerMinute);
  for (const route of routes) {
    const validate = validateInput(route);
    const nameRoute: RequestHandler = (req, _res, next) => {
      req.state.route = route.path;
      next();
    };
    const handle = async (req: Request, res: Response, next: NextFunction) => {
      const input = validate(req);
      if (route.roles === 'public') {
        await route.handler(req, res, { input });
      } else {
        const actor = req.state.actor!;
        await route.handler(req, res, {
          input,
          request: { ...contextOf(req, route, actor), actor },
        });
      }
      if (!res.headersSent) next(new Error(`route ${route.method} ${route.path} sent nothing`));
    };
    const chain: RequestHandler[] = [nameRoute, authorize(route, deps)];
    if (route.roles !== 'public') chain.push(limiter);
    if (route.method !== 'get' && route.method !== 'delete') {
      chain.push(bodyParser(route, deps.bodyLimit));
    }
    router[route.method](route.path, ...chain, handle);
  }
  return router;
}
