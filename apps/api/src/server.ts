import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CatchUpWaiter, projectionStatus } from '@refinery/projector';
import { allProjections } from '@refinery/read-models';
import type { Platform, RuntimeConfig } from '@refinery/runtime';
import { createApiApp } from './app.ts';
import type { ApiContext } from './context.ts';

export interface ApiServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Starts the HTTP API over an opened platform. `onAdvanced` lets an in-process projector wake waiters. */
export async function startApiServer(
  platform: Platform,
  config: RuntimeConfig,
  options: { webDir?: string; onAdvanced?: (listener: () => void) => () => void; log?: (m: string) => void } = {},
): Promise<ApiServer> {
  const log = options.log ?? ((m: string) => console.error(m));
  const ctx: ApiContext = {
    db: platform.db,
    store: platform.store,
    artifacts: platform.artifacts,
    waiter: new CatchUpWaiter(platform.db, options.onAdvanced),
    config: { maxUploadBytes: config.maxUploadBytes, readWaitMs: config.readWaitMs, importLimits: {} },
    log,
    async readiness() {
      await platform.db.query('select 1');
      const projections = await projectionStatus(platform.db, allProjections);
      const inactive = projections.filter((p) => !p.active).map((p) => p.name);
      return {
        ready: inactive.length === 0,
        checks: { database: platform.mode, projections: Object.fromEntries(projections.map((p) => [p.name, { active: p.active, checkpoint: p.checkpoint, lastError: p.lastError }])) },
      };
    },
  };
  const app = createApiApp(ctx, options.webDir ? { webDir: options.webDir } : {});
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
