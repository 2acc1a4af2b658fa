import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import type { ApiContext } from './context.ts';
import { errorBody, errorHandler, HttpError } from './http/errors.ts';
import { openApiDocument } from './http/openapi.ts';
import { mountRoutes, type AnyRoute } from './http/routes.ts';
import { healthRoutes } from './features/health.ts';
import { projectRoutes } from './features/projects.ts';
import { recordRoutes } from './features/records.ts';
import { labelingRoutes } from './features/labeling.ts';
import { authRoutes } from './features/auth.ts';
import { memberRoutes } from './features/members.ts';
import { browserRoutes } from './features/browser.ts';
import { sliceRoutes } from './features/slices.ts';
import { sessionRoutes } from './features/sessions.ts';
import { exportRoutes } from './features/export.ts';
import { heuristicRoutes } from './features/heuristics.ts';
import { weakSupervisionRoutes } from './features/weak-supervision.ts';
import { metricsRoutes } from './features/metrics.ts';
import { historyRoutes } from './features/history.ts';
import { asOfRoutes } from './features/as-of.ts';
import { auditRoutes } from './features/audit.ts';
import { crowdRoutes } from './features/crowd.ts';
import { accessControl } from './http/auth.ts';

/** The route table: the OpenAPI document, and later the role tests, are derived from it. */
export function apiRoutes(ctx: ApiContext): AnyRoute[] {
  return [...healthRoutes(ctx), ...projectRoutes(ctx), ...recordRoutes(ctx), ...labelingRoutes(ctx), ...authRoutes(ctx), ...memberRoutes(ctx), ...browserRoutes(ctx), ...sliceRoutes(ctx), ...sessionRoutes(ctx), ...exportRoutes(ctx), ...heuristicRoutes(ctx), ...historyRoutes(ctx), ...asOfRoutes(ctx), ...auditRoutes(ctx), ...weakSupervisionRoutes(ctx), ...metricsRoutes(ctx), ...crowdRoutes(ctx)];
}

export interface ApiAppOptions {
  /** serve the built web app from this folder (single-page app fallback) */
  webDir?: string;
  version?: string;
}

export function createApiApp(ctx: ApiContext, options: ApiAppOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const routes = apiRoutes(ctx);
  const openapi = openApiDocument(routes, { title: 'refinery API', version: options.version ?? '0.1.0' });

  const router = express.Router();
  router.get('/api/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  mountRoutes(router, routes, accessControl(ctx.identity));
  app.use(router);

  app.use('/api', (req, res) => {
    res.status(404).json(errorBody(new HttpError(404, 'route_not_found', `no route ${req.method} ${req.originalUrl}`, { method: req.method, path: req.originalUrl })));
  });

  if (options.webDir && existsSync(path.join(options.webDir, 'index.html'))) {
    const webDir = options.webDir;
    app.use(express.static(webDir, { index: false, maxAge: '1h' }));
    // Client-side routes: every other GET gets the app shell.
    app.get('/{*path}', (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile(path.join(webDir, 'index.html'));
    });
  }

  app.use(errorHandler(ctx.log));
  return app;
}
