import { once } from 'node:events';
import { z } from 'zod';
import type { Filter } from '@refinery/events';
import { FilterError } from '@refinery/domain';
import { csvLine, exportPlan, exportRows, getSession } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';
import { browseContext, browserErrors, queryTimeoutMs, BROWSER_VIEWS } from './browser.ts';

const CONTENT_TYPES = { json: 'application/json', jsonl: 'application/x-ndjson', csv: 'text/csv; charset=utf-8' } as const;

export function exportRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/export',
      summary: 'Export records with their labels (streamed)',
      description:
        'Columns: every attribute, then per task `<attr>__<task>__MANUAL` (record-level tasks: `__<task>__MANUAL`), `…__WEAK_SUPERVISION`, `…__WEAK_SUPERVISION__confidence`. ' +
        'Span tasks give one entry per token. See docs/export.md.',
      tags: ['export'],
      permission: 'project:write',
      params: z.object({ id: z.uuid() }),
      query: z.object({
        format: z.enum(['json', 'jsonl', 'csv']).default('jsonl'),
        sliceId: z.string().min(1).max(64).optional(),
        sessionId: z.uuid().optional(),
        // a string first: `?minConfidence=` must be refused, not coerced to 0 (which would override every task's minimum)
        minConfidence: z
          .string()
          .min(1, "a number from 0 to 1; leave it out to use each task's configured minimum")
          .pipe(z.coerce.number<string>().min(0).max(1))
          .optional()
          .describe("omit weak-supervision labels below this confidence; default: each task's configured minimum"),
        after: afterQuery,
      }),
      responses: { 200: { description: 'the file', contentType: 'application/x-ndjson' } },
      async handler({ params, query, req, res }) {
        await readAfter(ctx, query.after, [...BROWSER_VIEWS, 'sessions']);
        const bc = await browseContext(ctx, params.id);
        let filter: Filter | null = null;
        let maxSeq: string | undefined;
        if (query.sliceId !== undefined) {
          if (!bc.slices.has(query.sliceId)) throw new HttpError(404, 'slice_not_found', `slice ${query.sliceId} does not exist`, { sliceId: query.sliceId });
          filter = { slice: query.sliceId };
        }
        if (query.sessionId !== undefined) {
          const s = await getSession(ctx.db, params.id, query.sessionId);
          if (!s) throw new HttpError(404, 'session_not_found', `session ${query.sessionId} does not exist`, { sessionId: query.sessionId });
          filter = filter && s.filter ? { all: [filter, s.filter] } : (filter ?? s.filter);
          maxSeq = s.maxSeq;
        }
        const plan = await exportPlan(ctx.db, bc);
        const options = { timeoutMs: queryTimeoutMs() };
        const rows = exportRows(ctx.db, bc, plan, { filter, ...(maxSeq !== undefined ? { maxSeq } : {}), ...(query.minConfidence !== undefined ? { minConfidence: query.minConfidence } : {}) }, options);
        // The first page is read before the headers go out, so a bad filter is still a clean 4xx.
        const first = await browserErrors(() => rows.next());
        const name = `export-${params.id.slice(0, 8)}.${query.format}`;
        res.status(200);
        res.setHeader('Content-Type', CONTENT_TYPES[query.format]);
        res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
        let closed = false;
        req.on('close', () => (closed = true));
        res.on('close', () => (closed = true));
        const write = async (chunk: string) => {
          if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
        };
        let count = 0;
        const emit = async (page: Record<string, unknown>[]) => {
          let chunk = '';
          for (const row of page) {
            if (query.format === 'jsonl') chunk += `${JSON.stringify(row)}\n`;
            else if (query.format === 'json') chunk += `${count === 0 ? '' : ',\n'}${JSON.stringify(row)}`;
            else chunk += csvLine(plan.columns.map((c) => row[c]));
            count++;
          }
          await write(chunk);
        };
        try {
          if (query.format === 'json') await write('[\n');
          if (query.format === 'csv') await write(csvLine(plan.columns));
          if (!first.done) await emit(first.value);
          while (!closed && !first.done) {
            const next = await rows.next();
            if (next.done) break;
            await emit(next.value);
          }
          if (query.format === 'json') await write(count ? '\n]\n' : ']\n');
          res.end();
        } catch (err) {
          ctx.log(`export of project ${params.id} failed after ${count} records: ${err instanceof FilterError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          res.destroy(err instanceof Error ? err : undefined);
        } finally {
          await rows.return(undefined);
        }
        return undefined;
      },
    }),
  ];
}
