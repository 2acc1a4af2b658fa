import { once } from 'node:events';
import { z } from 'zod';
import { exportLog } from '@refinery/audit';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';

export function auditRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/audit/log-export',
      summary: "Download the project's events as a verifiable log export (JSONL with a SHA-256 chain)",
      description:
        'The project’s events and the account events the read models need, with the artifacts they reference, each line chained to the previous ' +
        'by SHA-256 and a final manifest. Check it with `refinery verify <file>`; load it into an empty data directory with `refinery log import <file>`. ' +
        'Owners and engineers (project:manage). See docs/audit.md.',
      tags: ['audit'],
      permission: 'project:manage',
      params: z.object({ id: z.uuid() }),
      responses: { 200: { description: 'the export', contentType: 'application/x-ndjson' } },
      async handler({ params, req, res }) {
        const exists = await ctx.store.streamRevision(`project:${params.id}`);
        if (exists === undefined) throw new HttpError(404, 'project_not_found', `project ${params.id} does not exist`, { projectId: params.id });
        res.status(200);
        res.setHeader('Content-Type', 'application/x-ndjson');
        res.setHeader('Content-Disposition', `attachment; filename="log-${params.id.slice(0, 8)}.jsonl"`);
        let closed = false;
        req.on('close', () => (closed = true));
        res.on('close', () => (closed = true));
        try {
          await exportLog(
            { db: ctx.db, store: ctx.store, artifacts: ctx.artifacts },
            async (chunk) => {
              if (closed) throw new Error('the client went away');
              if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
            },
            { projectId: params.id },
          );
          res.end();
        } catch (err) {
          if (!closed) ctx.log(`log export of project ${params.id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          res.destroy(err instanceof Error ? err : undefined);
        }
        return undefined;
      },
    }),
  ];
}
