import type { Request, Response } from 'express';
import type Joi from 'joi';

export const ROLES = ['admin', 'checkout', 'customs', 'carrier', 'auditor'] as const;
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

export interface ValidatedInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

export interface ResponseDoc {
  description: string;
  schema?: Joi.Schema;
  contentType?: string;
}

/**
 * Marks a route as touching personal data: a 401/403 on it becomes a DENIED
 * access-log event with this action.
 */
export interface PersonalDataAccess {
  action: string;
  fields: readonly string[];
}

/**
 * One route, declared once: the validators, the allowed roles and the OpenAPI
 * description all come from here, so they cannot drift apart.
 */
export interface RouteDefinition {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path syntax: `/v1/clients/:clientId`. */
  path: string;
  summary: string;
  tag: string;
  /** `public`: no API key needed (health, metrics, the contract itself). */
  roles: readonly Role[] | 'public';
  params?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  body?: Joi.Schema;
  /** For binary uploads: accepted media types and size limit; `body` is then a Buffer. */
  rawBody?: { types: readonly string[]; limit: string };
  personalData?: PersonalDataAccess;
  responses: Record<number, ResponseDoc>;
  handler: (req: Request, res: Response, ctx: RouteContext) => Promise<void> | void;
}

export interface RouteContext {
  input: ValidatedInput;
  /** Absent only on public routes. */
  request: RequestContext;
}

export function defineRoutes(routes: RouteDefinition[]): RouteDefinition[] {
  return routes;
}
