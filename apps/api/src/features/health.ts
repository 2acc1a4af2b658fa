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
          checks: { error: err instanceof Error ? err.message : String(err) } as Record<string, unknown>,
        }));
        // Reported, never counted against readiness: integrations must not take the product down.
        const relay = await relayStatus(ctx).catch(() => undefined);
        if (relay) checks.relay = relay;
        return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not_ready', checks } };
      },
    }),
  ];
}

/** The Kafka relay's state as its (possibly other) process last wrote it (docs/integrations.md); none when it never ran. */
async function relayStatus(ctx: ApiContext): Promise<Record<string, unknown> | undefined> {
  const exists = await ctx.db.query<{ t: string | null }>(`select to_regclass('relay_status')::text as t`);
  if (!exists.rows[0]?.t) return undefined;
  const r = await ctx.db.query<{
    state: string;
    lag: string | null;
    checkpoint: string | null;
    last_error: string | null;
    failures: number;
    published: string;
    dead_lettered: string;
    age_ms: number;
  }>(
    `select state, lag::text, checkpoint, last_error, failures, published::text, dead_lettered::text,
            (extract(epoch from now() - updated_at) * 1000)::float8 as age_ms
     from relay_status where name = 'kafka'`,
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    state: row.state,
    lag: row.lag === null ? null : Number(row.lag),
    checkpoint: row.checkpoint,
    lastError: row.last_error,
    failures: row.failures,
    published: Number(row.published),
    deadLettered: Number(row.dead_lettered),
    /** a relay process that died stops updating its row */
    updatedMsAgo: Math.round(row.age_ms),
  };
}
