import { z } from 'zod';
import { FilterError, parseFilter } from '@refinery/domain';
import { loadBrowseContext, searchRecords, type BrowseContext, type QueryOptions } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute, type RequestContext } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';

/** Read models a browser query reads. */
export const BROWSER_VIEWS = ['projects', 'records', 'labeling_config', 'record_labels', 'slices'];

/** Longest a browser query may run on the PostgreSQL server (statement_timeout); REFINERY_QUERY_TIMEOUT_MS. */
export const queryTimeoutMs = () => Number(process.env.REFINERY_QUERY_TIMEOUT_MS) || 5000;

const projectParams = z.object({ id: z.uuid() });

/** Filter errors become 4xx with the error shape; `details.path` names the offending part. */
export async function browserErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof FilterError) throw new HttpError(err.status, err.code, err.message, err.details);
    throw err;
  }
}

export function parseFilterOrThrow(input: unknown, path = 'filter') {
  try {
    return parseFilter(input, path);
  } catch (err) {
    if (err instanceof FilterError) throw new HttpError(err.status, err.code, err.message, err.details);
    throw err;
  }
}

export async function browseContext(ctx: ApiContext, projectId: string): Promise<BrowseContext> {
  const c = await loadBrowseContext(ctx.db, projectId);
  if (!c) throw new HttpError(404, 'project_not_found', `project ${projectId} does not exist`, { projectId });
  return c;
}

/** Blind labeling: callers who may not decide gold labels filter on and see only their own manual labels. */
export async function queryOptions(bc: BrowseContext, rc: Pick<RequestContext<unknown, unknown, unknown>, 'actor' | 'can'>): Promise<QueryOptions> {
  const blind = bc.blindLabeling && !(await rc.can('project:gold'));
  return { timeoutMs: queryTimeoutMs(), ...(blind ? { onlyAnnotator: rc.actor } : {}) };
}

const sortSchema = z
  .object({
    by: z.union([z.enum(['seq', 'random']), z.object({ attribute: z.string().min(1).max(200) }).strict()]).default('seq'),
    direction: z.enum(['asc', 'desc']).default('asc'),
    seed: z.string().max(200).optional(),
  })
  .strict();

const labelView = z.object({
  taskId: z.string(),
  source: z.string(),
  annotator: z.string(),
  labelIds: z.array(z.string()),
  spans: z.array(z.object({ labelId: z.string(), start: z.number(), end: z.number(), tokenStart: z.number(), tokenEnd: z.number() })),
  confidence: z.number().nullable().optional(),
});

export function browserRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/records/search',
      summary: 'Data browser: filter, sort and page records with their labels',
      description:
        'The filter grammar is described in docs/data-browser.md. It compiles to one parameterised SQL query; ' +
        'bad filters are 400 with details.path naming the offending part; a query running longer than the limit is 422 query_timeout.',
      tags: ['browser'],
      permission: 'project:read',
      params: projectParams,
      query: z.object({ after: afterQuery }),
      body: z
        .object({
          filter: z.unknown().optional(),
          sort: sortSchema.optional(),
          limit: z.number().int().min(1).max(500).default(50),
          cursor: z.string().max(2000).nullable().optional().describe('nextCursor of the previous page (null = first page)'),
          after: afterQuery,
        })
        .strict(),
      responses: {
        200: {
          description: 'a page of matching records',
          schema: z.object({
            records: z.array(z.object({ id: z.string(), seq: z.number(), values: z.record(z.string(), z.unknown()), labels: z.array(labelView) })),
            total: z.number().int().describe('matching records, counted exactly up to 1,000'),
            totalExact: z.boolean().describe('false when more than 1,000 records match: total is then 1,000 (show "1,000+")'),
            nextCursor: z.string().nullable(),
          }),
        },
      },
      async handler(rc) {
        const { params, body, query } = rc;
        await readAfter(ctx, body.after ?? query.after, BROWSER_VIEWS);
        const filter = body.filter === undefined || body.filter === null ? undefined : parseFilterOrThrow(body.filter);
        const bc = await browseContext(ctx, params.id);
        const sort = body.sort ?? { by: 'seq' as const, direction: 'asc' as const };
        if (sort.by === 'random' && !sort.seed) throw new HttpError(400, 'invalid_request', 'sort.seed: a random order needs a seed (any string)', { path: 'sort.seed' });
        const options = await queryOptions(bc, rc);
        return {
          body: await browserErrors(() =>
            searchRecords(ctx.db, bc, { filter: filter ?? null, sort: { by: sort.by, direction: sort.direction, seed: sort.seed ?? '' }, limit: body.limit, ...(typeof body.cursor === 'string' ? { cursor: body.cursor } : {}) }, options),
          ),
        };
      },
    }),
  ];
}
