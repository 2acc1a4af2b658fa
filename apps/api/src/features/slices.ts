import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { projectStreamId, WrongExpectedRevisionError, type Filter } from '@refinery/events';
import { assertProjectActive, decideSlices, emptySlices, evolveSlices, fold, projectDecider, FILTER_LIMITS, inlineSlices, type SliceCommand } from '@refinery/domain';
import { listSlices, matchingRecordIds } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';
import { commandResult } from './projects.ts';
import { browseContext, browserErrors, parseFilterOrThrow, queryOptions, BROWSER_VIEWS } from './browser.ts';

const projectParams = z.object({ id: z.uuid() });

/** Slice commands append to the project stream; a concurrent write is retried once. */
async function sliceCommand(ctx: ApiContext, projectId: string, actor: string, command: SliceCommand) {
  for (let attempt = 0; ; attempt++) {
    const events = await ctx.store.readStream(projectStreamId(projectId));
    const revision = events.length ? BigInt(events.length - 1) : undefined;
    assertProjectActive(fold(projectDecider, events as never), projectId);
    const state = events.reduce(evolveSlices, emptySlices());
    const out = decideSlices(command, state);
    try {
      const r = await ctx.store.append(projectStreamId(projectId), out, { actor, expectedRevision: revision ?? 'no_stream' });
      return { revision: r.revision.toString(), position: r.position };
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError) || attempt > 0) throw err;
    }
  }
}

const sliceView = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['dynamic', 'static']),
  filter: z.unknown().nullable(),
  recordIds: z.array(z.string()).nullable(),
  recordCount: z.number().nullable(),
  createdBy: z.string(),
  createdAt: z.string(),
});

export function sliceRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/slices',
      summary: 'Saved slices of the data browser',
      tags: ['browser'],
      permission: 'project:read',
      params: projectParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the slices by name', schema: z.object({ slices: z.array(sliceView) }) } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, ['slices']);
        await browseContext(ctx, params.id);
        return { body: { slices: await listSlices(ctx.db, params.id) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/slices',
      summary: 'Save a slice: dynamic (the filter) or static (the record ids it matches now, or given ids)',
      description: `Names are unique per project (409 slice_name_taken). A static slice holds at most ${FILTER_LIMITS.maxRecordIds} records. Annotators may save slices (permission project:label).`,
      tags: ['browser'],
      permission: 'project:label',
      params: projectParams,
      body: z
        .object({
          name: z.string().trim().min(1).max(100),
          kind: z.enum(['dynamic', 'static']),
          filter: z.unknown().optional(),
          recordIds: z.array(z.string().min(1).max(512)).optional(),
          after: afterQuery,
        })
        .strict(),
      responses: { 201: { description: 'saved', schema: commandResult.extend({ id: z.string(), recordCount: z.number().nullable() }) } },
      async handler(rc) {
        const { params, body, actor } = rc;
        await readAfter(ctx, body.after, BROWSER_VIEWS);
        const bc = await browseContext(ctx, params.id);
        const sliceId = randomUUID();
        let command: SliceCommand;
        if (body.kind === 'dynamic') {
          if (body.filter === undefined || body.recordIds !== undefined) {
            throw new HttpError(400, 'invalid_request', 'a dynamic slice takes a filter (and no recordIds)', { path: 'filter' });
          }
          const filter: Filter = parseFilterOrThrow(body.filter);
          // Refuse unknown attributes, tasks, slices and cycles now rather than when the slice is used.
          await browserErrors(async () => {
            inlineSlices(filter, bc.slices);
            await matchingRecordIds(ctx.db, bc, filter, 0, await queryOptions(bc, rc));
          });
          command = { type: 'SaveSlice', projectId: params.id, sliceId, name: body.name, kind: 'dynamic', filter };
        } else {
          if ((body.filter === undefined) === (body.recordIds === undefined)) {
            throw new HttpError(400, 'invalid_request', 'a static slice takes either a filter (evaluated now) or recordIds', { path: 'recordIds' });
          }
          let ids: string[];
          if (body.recordIds) ids = body.recordIds;
          else {
            const filter = parseFilterOrThrow(body.filter);
            ids = await browserErrors(async () => matchingRecordIds(ctx.db, bc, filter, FILTER_LIMITS.maxRecordIds, await queryOptions(bc, rc)));
          }
          if (ids.length > FILTER_LIMITS.maxRecordIds) {
            throw new HttpError(422, 'slice_too_large', `a static slice holds at most ${FILTER_LIMITS.maxRecordIds} records; save a dynamic slice instead`, {
              path: body.recordIds ? 'recordIds' : 'filter',
              limit: FILTER_LIMITS.maxRecordIds,
            });
          }
          command = { type: 'SaveSlice', projectId: params.id, sliceId, name: body.name, kind: 'static', recordIds: ids };
        }
        const r = await sliceCommand(ctx, params.id, actor, command);
        return { status: 201, body: { id: sliceId, recordCount: command.kind === 'static' ? new Set(command.recordIds).size : null, ...r } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id/slices/:sliceId',
      summary: 'Delete a slice (sessions started from it keep their copy of its filter)',
      tags: ['browser'],
      permission: 'project:label',
      params: projectParams.extend({ sliceId: z.string().min(1).max(64) }),
      responses: { 200: { description: 'deleted', schema: commandResult } },
      async handler({ params, actor }) {
        return { body: await sliceCommand(ctx, params.id, actor, { type: 'DeleteSlice', projectId: params.id, sliceId: params.sliceId }) };
      },
    }),
  ];
}
