import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { HttpError } from './errors.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call a route; enforced on the server (identity and roles arrive with the Teams issue). */
export type Permission =
  | 'public'
  | 'projects:create'
  | 'project:read'
  /** label records: manual labels and comments */
  | 'project:label'
  /** decide gold labels; see every annotator's labels under blind labeling */
  | 'project:gold'
  /** change the project: settings, tasks, labels, imports */
  | 'project:write';

export interface RequestContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** the authenticated actor; `anonymous` until identity is configured */
  actor: string;
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

/** Mounts the route table on a router: validation, body parsing, replies. */
export function mountRoutes(
  router: Router,
  routes: readonly AnyRoute[],
  actorOf: (req: Request) => string,
  can: (req: Request, permission: Permission) => Promise<boolean> = async () => true,
): void {
  for (const route of routes) {
    const middleware: express.RequestHandler[] = [];
    if (route.rawBody) {
      middleware.push(express.raw({ type: () => true, limit: route.rawBody.limitBytes }));
    } else if (route.body) {
      middleware.push(express.json({ limit: '1mb' }));
    }
    router[route.method](route.path, ...middleware, async (req, res) => {
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
      const reply = await route.handler({ params, query, body, actor: actorOf(req), can: (p: Permission) => can(req, p), req, res } as never);
      if (!reply) return;
      for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
      res.status(reply.status ?? 200).type('application/json').send(JSON.stringify(reply.body, jsonSafe));
    });
  }
}
