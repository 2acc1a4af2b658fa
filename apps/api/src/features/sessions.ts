import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { sessionStreamId, type Filter } from '@refinery/events';
import { assertProjectActive, inlineSlices, type SliceDefinition } from '@refinery/domain';
import { countMatching, currentMaxSeq, getSession, listSessions, sessionProgress, sessionRecords, type SessionView } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';
import { loadProject } from './projects.ts';
import { browseContext, browserErrors, parseFilterOrThrow, queryOptions, BROWSER_VIEWS } from './browser.ts';

const projectParams = z.object({ id: z.uuid() });
const sessionParams = projectParams.extend({ sessionId: z.uuid() });
const SESSION_VIEWS = [...BROWSER_VIEWS, 'sessions'];

const sessionView = z.object({
  id: z.string(),
  name: z.string(),
  owner: z.string(),
  sliceId: z.string().nullable(),
  filter: z.unknown().nullable(),
  order: z.enum(['ordered', 'shuffled']),
  seed: z.string(),
  total: z.number(),
  labeled: z.number().optional(),
  startedAt: z.string(),
});

const publicView = ({ maxSeq: _m, ...s }: SessionView) => s;

export function sessionRoutes(ctx: ApiContext): AnyRoute[] {
  /** A session is visible to its owner only. */
  const mine = async (projectId: string, sessionId: string, actor: string) => {
    const s = await getSession(ctx.db, projectId, sessionId);
    if (!s || s.owner !== actor) throw new HttpError(404, 'session_not_found', `session ${sessionId} does not exist`, { sessionId });
    return s;
  };
  return [
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/sessions',
      summary: 'Start a labeling session over a slice or a filter',
      description:
        'The session keeps the filter (slices inlined) and covers the records that existed when it started. ' +
        'shuffled orders by md5(seed || record id): stable for a seed. Conditions on labels are evaluated live (see docs/data-browser.md).',
      tags: ['sessions'],
      permission: 'project:label',
      params: projectParams,
      body: z
        .object({
          name: z.string().trim().min(1).max(200).optional(),
          sliceId: z.string().min(1).max(64).optional(),
          filter: z.unknown().optional(),
          order: z.enum(['ordered', 'shuffled']).default('ordered'),
          seed: z.string().min(1).max(200).optional(),
          after: afterQuery,
        })
        .strict(),
      responses: { 201: { description: 'started', schema: z.object({ id: z.uuid(), total: z.number(), revision: z.string(), position: z.string() }) } },
      async handler(rc) {
        const { params, body, actor } = rc;
        await readAfter(ctx, body.after, BROWSER_VIEWS);
        assertProjectActive((await loadProject(ctx.store, params.id)).state, params.id);
        const bc = await browseContext(ctx, params.id);
        const parts: Filter[] = [];
        if (body.sliceId !== undefined) parts.push({ slice: body.sliceId });
        if (body.filter !== undefined && body.filter !== null) parts.push(parseFilterOrThrow(body.filter));
        const raw: Filter | null = parts.length === 0 ? null : parts.length === 1 ? parts[0]! : { all: parts };
        const slices: ReadonlyMap<string, SliceDefinition> = bc.slices;
        const filter = raw ? await browserErrors(async () => inlineSlices(raw, slices)) : null;
        const maxSeq = await currentMaxSeq(ctx.db, params.id);
        const total = await browserErrors(async () => countMatching(ctx.db, bc, filter, maxSeq, await queryOptions(bc, rc)));
        const sessionId = randomUUID();
        const seed = body.seed ?? sessionId;
        const r = await ctx.store.append(
          sessionStreamId(params.id, sessionId),
          [
            {
              type: 'LabelingSessionStarted',
              data: {
                projectId: params.id,
                sessionId,
                name: body.name ?? `Session ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
                owner: actor,
                sliceId: body.sliceId ?? null,
                filter,
                order: body.order,
                seed,
                maxSeq,
                total,
              },
            },
          ],
          { actor, expectedRevision: 'no_stream' },
        );
        return { status: 201, body: { id: sessionId, total, revision: r.revision.toString(), position: r.position } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/sessions',
      summary: "The caller's labeling sessions, newest first",
      tags: ['sessions'],
      permission: 'project:label',
      params: projectParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'sessions', schema: z.object({ sessions: z.array(sessionView) }) } },
      async handler({ params, query, actor }) {
        await readAfter(ctx, query.after, ['sessions']);
        return { body: { sessions: (await listSessions(ctx.db, params.id, actor)).map(publicView) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/sessions/:sessionId',
      summary: 'A session with its progress (records with a manual label by the owner)',
      tags: ['sessions'],
      permission: 'project:label',
      params: sessionParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the session', schema: sessionView } },
      async handler(rc) {
        const { params, query, actor } = rc;
        await readAfter(ctx, query.after, SESSION_VIEWS);
        const s = await mine(params.id, params.sessionId, actor);
        const bc = await browseContext(ctx, params.id);
        const progress = await browserErrors(async () => sessionProgress(ctx.db, bc, s, await queryOptions(bc, rc)));
        return { body: { ...publicView(s), total: progress.total, labeled: progress.labeled } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/sessions/:sessionId/records',
      summary: 'Record ids of a session in session order, paged both ways',
      tags: ['sessions'],
      permission: 'project:label',
      params: sessionParams,
      query: z.object({
        cursor: z.string().max(500).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(50),
        direction: z.enum(['next', 'prev']).default('next'),
        after: afterQuery,
      }),
      responses: {
        200: { description: 'a page', schema: z.object({ recordIds: z.array(z.string()), nextCursor: z.string().nullable(), prevCursor: z.string().nullable() }) },
      },
      async handler(rc) {
        const { params, query, actor } = rc;
        await readAfter(ctx, query.after, SESSION_VIEWS);
        const s = await mine(params.id, params.sessionId, actor);
        const bc = await browseContext(ctx, params.id);
        return {
          body: await browserErrors(async () =>
            sessionRecords(ctx.db, bc, s, { limit: query.limit, direction: query.direction, ...(query.cursor !== undefined ? { cursor: query.cursor } : {}) }, await queryOptions(bc, rc)),
          ),
        };
      },
    }),
  ];
}
