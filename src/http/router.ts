import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { AppError, Forbidden, Unauthenticated } from '../errors';
import {
  createRefusalLimiter,
  perClientRateLimit,
  rateLimited,
  type RefusalLimiter,
  type RefusalLimits,
} from './rate-limits';
import { sourceIp } from './request-context';
import type { Actor, RequestContext, RouteDefinition, ValidatedInput } from './route';
import { validatePart } from './validate';

/** Called when a request to a personal-data route is refused (401/403), to record it. */
export type DeniedAccessRecorder = (
  route: RouteDefinition,
  context: Omit<RequestContext, 'actor'> & { actor: Actor | null },
  reason: 'UNAUTHENTICATED' | 'FORBIDDEN',
) => Promise<void>;

/** A credential other than a bearer key, read from the request (the console's session cookie). */
export interface PresentedSession {
  /** Stands for the credential in the refusal limiter, as a presented key does. */
  id: string;
  /**
   * The session's actor, or null when it names no live session. `refusal` is
   * the error to answer instead when the actor may not send this request
   * this way (a state change without its CSRF token).
   */
  authenticate(): Promise<{ actor: Actor; refusal: AppError | null } | null>;
}

/** Where a session may stand in for the bearer key: only routes it accepts, only without a key. */
export interface SessionAuthentication {
  presented(req: Request, route: RouteDefinition): PresentedSession | undefined;
}

export interface RouterDeps {
  authenticate(apiKey: string | undefined): Promise<Actor | null>;
  recordDenied?: DeniedAccessRecorder;
  sessions?: SessionAuthentication;
  bodyLimit: string;
  rateLimitPerMinute: number;
  refusalLimits: RefusalLimits;
}

export function bearerToken(req: Request): string | undefined {
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

/**
 * Authenticates and checks the role. Refusals are counted per address and per
 * presented key; past a limit the answer is 429 without an access-log event
 * (a limiter's refusal is not an access to personal data), so a flood of bad
 * keys cannot grow the log.
 */
function authorize(
  route: RouteDefinition,
  deps: RouterDeps,
  refusals: RefusalLimiter,
): RequestHandler {
  return async (req, res, next) => {
    if (route.roles === 'public') return next();
    const token = bearerToken(req);
    // A key, when sent, decides alone: a session is only looked at without one.
    const session = token === undefined ? deps.sessions?.presented(req, route) : undefined;
    const presenter = refusals.presenterOf(req, token ?? session?.id);
    const waitBefore = await refusals.waitBeforeAuthentication(presenter);
    if (waitBefore !== null) return next(rateLimited(res, waitBefore));
    const checked = session
      ? await session.authenticate()
      : { actor: await deps.authenticate(token), refusal: null };
    const actor = checked?.actor ?? null;
    const refusal = !actor
      ? ('UNAUTHENTICATED' as const)
      : !route.roles.includes(actor.role) || checked?.refusal
        ? ('FORBIDDEN' as const)
        : null;
    if (refusal) {
      const waitAfter = await refusals.countRefusal(presenter);
      if (waitAfter !== null) return next(rateLimited(res, waitAfter));
      if (route.personalData && deps.recordDenied) {
        await deps.recordDenied(route, contextOf(req, route, actor), refusal);
      }
      if (refusal === 'UNAUTHENTICATED') return next(new Unauthenticated());
      return next(checked?.refusal ?? new Forbidden());
    }
    req.state.actor = actor!;
    next();
  };
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
        ? validatePart<unknown>(
            route.body.required(),
            route.bodyOptional && req.body === undefined ? {} : req.body,
            'body',
          )
        : undefined,
  });
}

/**
 * Mounts every route with the same chain: route name, refusal limit and auth,
 * per-client rate limit, parse, validate, handle.
 */
export function buildRouter(routes: RouteDefinition[], deps: RouterDeps): express.Router {
  const router = express.Router();
  const refusals = createRefusalLimiter(deps.refusalLimits);
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
    const chain: RequestHandler[] = [nameRoute, authorize(route, deps, refusals)];
    if (route.roles !== 'public') chain.push(limiter);
    if (route.method !== 'get' && route.method !== 'delete') {
      chain.push(bodyParser(route, deps.bodyLimit));
    }
    router[route.method](route.path, ...chain, handle);
  }
  return router;
}
