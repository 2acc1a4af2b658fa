import type { TestBackend } from '@refinery/events/testing';
import { loadConfig, platformOn, type Platform, type RuntimeConfig } from '@refinery/runtime';
import { CatchUpWaiter } from '@refinery/projector';
import { startProjector, type ProjectorHandle } from '@refinery/projector-app';
import { startWorkers, weakSupervisionReactor, WEAK_SUPERVISION_READS } from '@refinery/workers';
import { startApiServer, type ApiServer } from '../src/server.ts';

// Response bodies are checked by the tests' own assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface TestResponse {
  status: number;
  body: Json;
}

export interface TestApi {
  platform: Platform;
  projector: ProjectorHandle;
  api: ApiServer;
  /** a request as the seeded owner (Bearer token); objects are sent as JSON */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  close(): Promise<void>;
}

/**
 * The API with an in-process projector on a fresh database of `backend`, as `refinery start`
 * wires them; every request is made as the first owner through a seeded admin token.
 */
export async function startTestApi(
  backend: TestBackend,
  options: {
    adminToken: string;
    config?: Partial<RuntimeConfig>;
    /** started after the projector, stopped before it (e.g. workers with a test Python pool) */
    alongside?: (platform: Platform) => Promise<{ stop(): Promise<void> }>;
  },
): Promise<TestApi> {
  const platform = await platformOn(await backend.open(), backend.name === 'pglite' ? 'embedded' : 'server');
  const projector = await startProjector(platform, { log: () => undefined });
  const extra = await options.alongside?.(platform);
  const config = { ...loadConfig({ REFINERY_ADMIN_TOKEN: options.adminToken }), port: 0, ...options.config };
  const api = await startApiServer(platform, config, {
    onAdvanced: (l) => projector.runner.onAdvanced(l),
    localCheckpoints: () => projector.runner.localCheckpoints(),
    log: () => undefined,
  });
  const product: TestApi = {
    platform,
    projector,
    api,
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { authorization: `Bearer ${options.adminToken}`, ...headers } };
      if (body instanceof Uint8Array || typeof body === 'string') init.body = body as BodyInit;
      else if (body !== undefined) {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
      const res = await fetch(`${api.url}${path}`, init);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await api.close();
      await extra?.stop();
      await projector.stop();
      await platform.store.close();
      await backend.cleanup();
    },
  };
  // The seeded admin token works once the identity read model has it.
  for (let i = 0; i < 200 && (await product.call('GET', '/api/auth/me')).status === 401; i++) await new Promise((r) => setTimeout(r, 50));
  return product;
}

/** `alongside` for `startTestApi`: a worker that carries out weak-supervision runs, waiting for the read models they read as the product's does. */
export function weakSupervisionWorker(): (platform: Platform) => Promise<{ stop(): Promise<void> }> {
  return async (p) => {
    const waiter = new CatchUpWaiter(p.db);
    const workers = await startWorkers(p, {
      reactors: [
        weakSupervisionReactor({
          db: p.db,
          store: p.store,
          artifacts: p.artifacts,
          log: () => undefined,
          waitFor: async (position) => void (await waiter.waitFor(position, WEAK_SUPERVISION_READS, 10_000)),
        }),
      ],
      log: () => undefined,
    });
    return { stop: () => workers.stop() };
  };
}
