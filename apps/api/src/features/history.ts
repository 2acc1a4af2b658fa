import { z } from 'zod';
import { HISTORY_MAX_LIMIT, readHistory, type HistoryQuery } from '@refinery/audit';
import type { ApiContext } from '../context.ts';
import { defineRoute, type AnyRoute, type Permission } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';

const HISTORY_VIEWS = ['audit_history', 'identity'];

const page = {
  cursor: z.string().regex(/^\d{1,20}\/\d{1,20}$/, 'a nextCursor returned by the previous page').optional().describe('entries older than this (the previous page’s nextCursor)'),
  limit: z.coerce.number().int().min(1).max(HISTORY_MAX_LIMIT).default(50).describe(`page size, 1–${HISTORY_MAX_LIMIT}`),
  after: afterQuery,
};

const entry = z.object({
  eventId: z.string(),
  position: z.string(),
  type: z.string(),
  streamId: z.string(),
  actor: z.string(),
  actorName: z.string().nullable(),
  at: z.string(),
  recordId: z.string().nullable(),
  taskId: z.string().nullable(),
  aspect: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  summary: z.string(),
});
const historyPage = z.object({ items: z.array(entry), nextCursor: z.string().nullable() });

/**
 * Under blind labeling, callers who may not see every annotator's labels (no `project:gold`)
 * see only what they did themselves, as on the labeling screens.
 */
async function visibleTo(ctx: ApiContext, projectId: string, actor: string, can: (p: Permission) => Promise<boolean>): Promise<string | undefined> {
  if (await can('project:gold')) return undefined;
  const r = await ctx.db.query<{ blind: boolean }>('select coalesce((select blind_labeling from rm_labeling_settings where project_id = $1), false) as blind', [projectId]);
  return r.rows[0]?.blind ? actor : undefined;
}

export function historyRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/history',
      summary: "The project's timeline: every event, newest first (who, when, what, before → after)",
      description:
        'Filter by record, by the user who caused the events and by event types; page with `cursor` = the previous `nextCursor`. ' +
        'Under blind labeling, members without the gold permission see only their own events. See docs/audit.md.',
      tags: ['audit'],
      permission: 'project:read',
      params: z.object({ id: z.uuid() }),
      query: z.object({
        record: z.string().min(1).max(512).optional().describe('only events of this record'),
        user: z.string().min(1).max(200).optional().describe('only events caused by this user id'),
        type: z
          .string()
          .regex(/^[A-Za-z]+(,[A-Za-z]+)*$/, 'event types separated by commas, e.g. RecordLabeled,GoldLabelSet')
          .optional()
          .describe('only these event types (comma-separated)'),
        ...page,
      }),
      responses: { 200: { description: 'a page of the timeline', schema: historyPage } },
      async handler({ params, query, actor, can }) {
        await readAfter(ctx, query.after, HISTORY_VIEWS);
        const own = await visibleTo(ctx, params.id, actor, can);
        if (own !== undefined && query.user !== undefined && query.user !== own) return { body: { items: [], nextCursor: null } };
        const q: HistoryQuery = { limit: query.limit };
        if (query.record !== undefined) q.recordId = query.record;
        if (query.user !== undefined || own !== undefined) q.actor = own ?? query.user!;
        if (query.type !== undefined) q.types = query.type.split(',');
        if (query.cursor !== undefined) q.cursor = query.cursor;
        return { body: await readHistory(ctx.db, params.id, q) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/records/:recordId/history',
      summary: "A record's timeline: its labels, gold decisions and comments over time, newest first",
      tags: ['audit'],
      permission: 'project:read',
      params: z.object({ id: z.uuid(), recordId: z.string().min(1).max(512) }),
      query: z.object(page),
      responses: { 200: { description: 'a page of the record’s timeline', schema: historyPage } },
      async handler({ params, query, actor, can }) {
        await readAfter(ctx, query.after, HISTORY_VIEWS);
        const own = await visibleTo(ctx, params.id, actor, can);
        const q: HistoryQuery = { recordId: params.recordId, limit: query.limit };
        if (own !== undefined) q.actor = own;
        if (query.cursor !== undefined) q.cursor = query.cursor;
        return { body: await readHistory(ctx.db, params.id, q) };
      },
    }),
  ];
}
