import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { allowed, isProjectPermission, refusal, type Permission as MatrixPermission, type Role } from '@refinery/domain';
import type { Authentication } from '@refinery/identity';
import { HttpError } from './errors.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route, enforced on the server for every route in the table: the matrix is
 * `allowed(subject, permission)` in `@refinery/domain` (documented in docs/identity.md).
 * `project:*` permissions need the project id in the path as `:id` or `:projectId`.
 * Two older names stay accepted: `project:write` means `project:manage`, `projects:create` means
 * `authenticated` (any signed-in user may create a project).
 */
export type Permission = MatrixPermission | 'project:write' | 'projects:create';

export function canonicalPermission(permission: Permission): MatrixPermission {
  if (permission === 'project:write') return 'project:manage';
  if (permission === 'projects:create') return 'authenticated';
  return permission;
}

/** How the route table finds out who calls and with which role (built in apps/api/src/http/auth.ts). */
export interface AccessControl {
  /** the caller, or undefined without valid credentials */
  authenticate(req: Request): Promise<Authentication | undefined>;
  /** the user's role in a project; may re-read after the read model caught up when `satisfied` says no */
  roleIn(projectId: string, userId: string, satisfied: (role: Role | undefined) => boolean): Promise<Role | undefined>;
  /** throws (403) when a cookie-authenticated request with an unsafe method lacks the CSRF token */
  checkCsrf(req: Request, user: Authentication): void;
}

export interface RequestContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** the caller's user id; `anonymous` on public routes */
  actor: string;
  /** the signed-in caller (undefined on public routes) */
  user: Authentication | undefined;
  /** the caller's role in the route's project (routes with a `project:*` permission), undefined for non-members */
  role: Role | undefined;
  /** does the actor hold this permission on the route's project? (for decisions inside a handler) */
  can: (permission: Permission) => Promise<boolean>;
  req: Request;
  res: Response;
}

export interface Reply {
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: HttpMethod;
  /** Express path, e.g. `/api/projects/:id` */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  permission: Permission;
  params?: P;
  query?: Q;
  body?: B;
  /** the body is a raw upload of one of these content types (instead of JSON) */
  rawBody?: { contentTypes: string[]; limitBytes: number; description: string };
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  /** returns the reply, or undefined when it wrote the response itself (streams) */
  handler: (ctx: RequestContext<z.output<P>, z.output<Q>, z.output<B>>) => Promise<Reply | undefined>;
}

export type AnyRoute = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

export function defineRoute<P extends z.ZodType = z.ZodObject<{}>, Q extends z.ZodType = z.ZodObject<{}>, B extends z.ZodType = z.ZodUnknown>(
  spec: RouteSpec<P, Q, B>,
): AnyRoute {
  return spec as unknown as AnyRoute;
}

function parseOrThrow(schema: z.ZodType | undefined, value: unknown, location: 'params' | 'query' | 'body'): unknown {
  if (!schema) return value;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ location, path: i.path.join('.'), message: i.message }));
  throw new HttpError(400, 'invalid_request', `invalid ${location}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, {
    issues,
  });
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** The path parameter holding the project of a `project:*` route. */
export function projectParam(path: string): 'id' | 'projectId' | undefined {
  if (/\/:projectId(\/|$)/.test(path)) return 'projectId';
  if (/^\/api\/projects\/:id(\/|$)/.test(path)) return 'id';
  return undefined;
}

interface Access {
  user: Authentication | undefined;
  role: Role | undefined;
  projectId: string | undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Mounts the route table on a router: authentication and authorization (before any body is
 * read), CSRF for cookie sessions, validation, body parsing, replies.
 */
export function mountRoutes(router: Router, routes: readonly AnyRoute[], access: AccessControl): void {
  for (const route of routes) {
    const permission = canonicalPermission(route.permission);
    const projectKey = projectParam(route.path);
    if (isProjectPermission(permission) && !projectKey) {
      throw new Error(`route ${route.method.toUpperCase()} ${route.path} needs permission ${permission}, but its path has no :id (under /api/projects) or :projectId parameter`);
    }
    const authorize: express.RequestHandler = async (req, res, next) => {
      const state: Access = { user: undefined, role: undefined, projectId: undefined };
      res.locals['access'] = state;
      if (permission === 'public') return next();
      state.user = await access.authenticate(req);
      if (!state.user) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="refinery"');
        throw new HttpError(401, 'unauthenticated', 'sign in, or send an API token as "Authorization: Bearer rfy_…"', { permission });
      }
      if (!SAFE_METHODS.has(req.method)) access.checkCsrf(req, state.user);
      if (isProjectPermission(permission)) {
        // Only the project id is looked at before the decision: other parameters are validated
        // once the caller may use the route, so a refused caller learns nothing about them.
        const projectId = (req.params as Record<string, string | undefined>)[projectKey!] ?? '';
        if (!UUID.test(projectId)) parseOrThrow(route.params, req.params, 'params');
        state.projectId = projectId;
        if (UUID.test(projectId)) state.role = await access.roleIn(projectId, state.user.userId, (role) => allowed(role ?? 'signed-in', permission));
      }
      const refused = refusal(state.role ?? 'signed-in', permission);
      if (refused) {
        throw new HttpError(403, 'forbidden', `this needs the permission ${permission}, which ${state.role ? `the role ${state.role} does not have` : 'only members of this project have'}`, {
          permission,
          role: state.role ?? null,
        });
      }
      next();
    };
    const middleware: express.RequestHandler[] = [authorize];
    if (route.rawBody) {
      middleware.push(express.raw({ type: () => true, limit: route.rawBody.limitBytes }));
    } else if (route.body) {
      middleware.push(express.json({ limit: '1mb' }));
    }
    router[route.method](route.path, ...middleware, async (req, res) => {
      const state = res.locals['access'] as Access;
      const params = parseOrThrow(route.params, req.params, 'params');
      const query = parseOrThrow(route.query, req.query, 'query');
      let body: unknown = req.body;
      if (route.body && !route.rawBody) {
        if (!req.is('application/json')) {
          throw new HttpError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json', {
            contentType: req.headers['content-type'] ?? null,
          });
        }
        body = parseOrThrow(route.body, req.body ?? {}, 'body');
      }
      const can = async (p: Permission): Promise<boolean> => {
        const wanted = canonicalPermission(p);
        if (wanted === 'public') return true;
        if (!state.user) return false;
        if (!isProjectPermission(wanted)) return true;
        if (!state.projectId) {
          const id = projectKey ? (req.params as Record<string, string | undefined>)[projectKey] : undefined;
          if (!id || !UUID.test(id)) return false;
          state.projectId = id;
          state.role = await access.roleIn(id, state.user.userId, (role) => role !== undefined);
        }
        return allowed(state.role ?? 'signed-in', wanted);
      };
      const actor = state.user?.userId ?? 'anonymous';
      const reply = await route.handler({ params, query, body, actor, user: state.user, role: state.role, can, req, res } as never);
      if (!reply) return;
      for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
      res.status(reply.status ?? 200).type('application/json').send(JSON.stringify(reply.body, jsonSafe));
    });
  }
}
