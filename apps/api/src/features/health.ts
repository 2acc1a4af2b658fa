import { z } from 'zod';
import type { ApiContext } from '../context.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';

export function healthRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process answers',
      tags: ['operations'],
      permission: 'public',
      responses: { 200: { description: 'alive', schema: z.object({ status: z.literal('ok') }) } },
      async handler() {
        return { body: { status: 'ok' } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: database reachable and projections running',
      tags: ['operations'],
      permission: 'public',
      responses: {
        200: { description: 'ready', schema: z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.unknown()) }) },
        503: { description: 'not ready', schema: z.object({ status: z.literal('not_ready'), checks: z.record(z.string(), z.unknown()) }) },
      },
      async handler() {
        const { ready, checks } = await ctx.readiness().catch((err: unknown) => ({
          ready: false,
          checks: { error: err instanceof Error ? err.message : String(err) },
        }));
        return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not_ready', checks } };
      },
    }),
  ];
}
