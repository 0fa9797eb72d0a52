import type { Request, Response } from 'express';
import type Joi from 'joi';
import type { ErrorCode } from '../errors';

/** `legal`: the legal and privacy office, the only reader of legal holds (src/retention/). */
export const ROLES = ['admin', 'checkout', 'customs', 'carrier', 'auditor', 'legal'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from the API key by the auth middleware. */
export interface Actor {
  clientId: string;
  role: Role;
  partnerCode: string | null;
}

/** Request facts every service call may need (audit events carry all of them). */
export interface RequestContext {
  actor: Actor;
  requestId: string;
  sourceIp: string;
  /** The route template, e.g. `/v1/identities/:identityId`, never the raw URL. */
  route: string;
}

/** What a handler receives after validation: each part typed by its joi schema. */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

/** The erased input the router builds before handing it to the typed handler. */
export type ValidatedInput = RouteInput<unknown, unknown, unknown>;

export interface ResponseDoc {
  description: string;
  schema?: Joi.Schema;
  contentType?: string;
  /** An example body; without one, OpenAPI shows one made of the schema (src/http/openapi.ts). */
  example?: unknown;
}

/**
 * An error a route's own code paths can answer with (a class of src/errors.ts,
 * as its status and code). Those every route of its kind can give (400 on
 * input, 401/403/429 on a key, 503 on a personal-data route, ...) are added
 * by the OpenAPI builder and need not be listed.
 */
export interface RouteError {
  status: number;
  code: ErrorCode;
  /** When it happens, for the OpenAPI description. */
  when?: string;
}

/**
 * Marks a route as touching personal data: a 401/403 on it becomes a DENIED
 * access-log event with this action.
 */
export interface PersonalDataAccess {
  action: string;
  fields: readonly string[];
}

/** No path parameters, no query string: the input parts a route did not declare. */
export type None = Record<string, never>;

/**
 * One route, declared once: the validators, the allowed roles and the OpenAPI
 * description all come from here, so they cannot drift apart. The handler's
 * input types are those of the joi schemas (`Joi.object<T>(...)`), so a
 * handler cannot disagree with its validator.
 */
interface RouteSpec<P, Q, B> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path syntax: `/v1/clients/:clientId`. */
  path: string;
  summary: string;
  tag: string;
  params?: Joi.ObjectSchema<P>;
  query?: Joi.ObjectSchema<Q>;
  body?: Joi.Schema<B>;
  /** The body may be left out: it is then validated as `{}` (so its defaults apply). */
  bodyOptional?: boolean;
  /** For binary uploads: accepted media types and size limit; `body` is then a Buffer. */
  rawBody?: { types: readonly string[]; limit: string };
  personalData?: PersonalDataAccess;
  responses: Record<number, ResponseDoc>;
  /** The route-specific errors: see RouteError. */
  errors?: readonly RouteError[];
  /** An example request body; without one, OpenAPI shows one made of the schema. */
  bodyExample?: unknown;
}

/** A route that needs an API key with one of `roles`; its handler knows who calls. */
export interface ProtectedRouteSpec<P, Q, B> extends RouteSpec<P, Q, B> {
  roles: readonly Role[];
  handler(
    req: Request,
    res: Response,
    ctx: { input: RouteInput<P, Q, B>; request: RequestContext },
  ): Promise<void> | void;
}

/** A route anyone may call (health, metrics, the contract itself): no caller to know. */
export interface PublicRouteSpec<P, Q, B> extends RouteSpec<P, Q, B> {
  roles: 'public';
  handler(req: Request, res: Response, ctx: { input: RouteInput<P, Q, B> }): Promise<void> | void;
}

/** A declared route as the router, the OpenAPI builder and the access log see it. */
export type RouteDefinition =
  ProtectedRouteSpec<unknown, unknown, unknown> | PublicRouteSpec<unknown, unknown, unknown>;

export function route<P = None, Q = None, B = undefined>(
  spec: ProtectedRouteSpec<P, Q, B>,
): RouteDefinition {
  return spec as unknown as RouteDefinition;
}

export function publicRoute<P = None, Q = None, B = undefined>(
  spec: PublicRouteSpec<P, Q, B>,
): RouteDefinition {
  return spec as unknown as RouteDefinition;
}
