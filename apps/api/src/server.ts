import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CatchUpWaiter, projectionStatus } from '@refinery/projector';
import { allProjections } from '@refinery/read-models';
import type { Platform, RuntimeConfig } from '@refinery/runtime';
import { BuiltInIdentity, KratosClient, KratosIdentity, type BootstrapResult } from '@refinery/identity';
import { apiRoutes, createApiApp } from './app.ts';
import type { AnyRoute } from './http/routes.ts';
import type { ApiContext } from './context.ts';
import { LiveServer } from './live/server.ts';
import { liveLimitsFromEnv, type LiveLimits } from './live/limits.ts';

export interface ApiServer {
  server: Server;
  url: string;
  /** what the first start created (the owner account, the REFINERY_ADMIN_TOKEN token) */
  bootstrap: BootstrapResult;
  /** the mounted route table (the permission tests walk it) */
  routes: AnyRoute[];
  /** live session documents over WebSocket (docs/live.md) */
  live: LiveServer;
  close(): Promise<void>;
}

/** Starts the HTTP API over an opened platform. `onAdvanced` lets an in-process projector wake waiters. */
export async function startApiServer(
  platform: Platform,
  config: RuntimeConfig,
  options: {
    webDir?: string;
    onAdvanced?: (listener: () => void) => () => void;
    /** an in-process projector's checkpoints (ahead of the table when only other event types went by) */
    localCheckpoints?: () => ReadonlyMap<string, string>;
    log?: (m: string) => void;
    /** live-session limits over the REFINERY_LIVE_* environment (tests shorten them) */
    live?: Partial<LiveLimits>;
    /** per-process authentication cache lifetime (default 2000 ms, 0 = off; docs/identity.md) */
    authCacheTtlMs?: number;
  } = {},
): Promise<ApiServer> {
  const log = options.log ?? ((m: string) => console.error(m));
  const waiter = new CatchUpWaiter(platform.db, options.onAdvanced, undefined, options.localCheckpoints);
  const identityOptions = {
    db: platform.db,
    store: platform.store,
    waiter,
    sessionTtlMs: config.identity.sessionTtlHours * 3600_000,
    readWaitMs: config.readWaitMs,
    ...(options.authCacheTtlMs !== undefined ? { authCacheTtlMs: options.authCacheTtlMs } : {}),
    log,
  };
  // ORY_SDK_URL: Ory Kratos owns sign-in and passwords; users, roles and API tokens stay refinery's (docs/identity.md)
  const kratos = config.identity.kratos;
  const identity = kratos
    ? new KratosIdentity({ ...identityOptions, kratos: new KratosClient({ sdkUrl: kratos.sdkUrl, browserUrl: kratos.browserUrl, timeoutMs: kratos.timeoutMs }), adminToken: config.identity.adminToken })
    : new BuiltInIdentity(identityOptions);
  await identity.migrate();
  const bootstrap = await identity.bootstrap({
    ownerEmail: config.identity.ownerEmail,
    ownerPassword: config.identity.ownerPassword,
    adminToken: config.identity.adminToken,
  });
  const sweep = setInterval(() => void identity.sessions.deleteExpired().catch((err: unknown) => log(`deleting expired sessions failed: ${String(err)}`)), 3600_000);
  sweep.unref();
  const ctx: ApiContext = {
    db: platform.db,
    store: platform.store,
    artifacts: platform.artifacts,
    waiter,
    identity,
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
  const live = new LiveServer(ctx, { limits: liveLimitsFromEnv(process.env, options.live), log });
  await live.start();
  ctx.live = live;
  const app = createApiApp(ctx, options.webDir ? { webDir: options.webDir } : {});
  const server = createServer(app);
  server.on('upgrade', (req, socket, head) => live.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  return {
    server,
    url: `http://${host}:${port}`,
    bootstrap,
    routes: apiRoutes(ctx),
    live,
    close: async () => {
      clearInterval(sweep);
      await live.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The lines to print once after a start that created the owner account (never logged elsewhere). */
export function bootstrapAnnouncement(result: BootstrapResult, email: string): string | undefined {
  const lines: string[] = [];
  if (result.createdOwner) {
    lines.push(`Created the owner account ${result.createdOwner.email} (site administrator).`);
    if (result.createdOwner.password !== undefined) {
      lines.push(`  password: ${result.createdOwner.password}`);
      lines.push('  This is shown only once: sign in and change it (or create another owner), or start with REFINERY_OWNER_PASSWORD.');
    } else lines.push('  password: the value of REFINERY_OWNER_PASSWORD');
  }
  if (result.kratos && !result.kratos.administratorExists) {
    lines.push(`Accounts are Ory Kratos' (ORY_SDK_URL): the first identity to sign in (${result.kratos.signInUrl}) becomes the site administrator.`);
  }
  if (result.adminToken === 'created') lines.push(`REFINERY_ADMIN_TOKEN is now an API token of the first owner${result.createdOwner ? '' : ` (not necessarily ${email})`}.`);
  if (result.adminToken === 'revoked') lines.push('REFINERY_ADMIN_TOKEN was revoked earlier and stays revoked: set a new value to seed a new token.');
  return lines.length ? lines.join('\n') : undefined;
}
