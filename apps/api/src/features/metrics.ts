import { z } from 'zod';
import { openAsOf } from '@refinery/audit';
import type { SqlExecutor } from '@refinery/events';
import { allProjections, getAgreement, getProject, getProjectMetrics, sourceNames, type AgreementView, type ProjectMetricsView } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';

/** read models behind the metrics (waited for with `?after=`); weak supervision once the product has it */
const VIEWS = ['labeling_config', 'record_labels', 'heuristics', 'weak_supervision', 'metrics'].filter((name) => allProjections.some((p) => p.name === name));

const projectParams = z.object({ id: z.uuid() });
const taskId = z.string().min(1).max(64);
const asOfQuery = {
  asOf: z
    .string()
    .max(64)
    .optional()
    .describe('compute on the project as it was at this ISO 8601 time (a disposable read model rebuilt from the log; docs/metrics.md)'),
  position: z.string().max(64).optional().describe('compute on the project as it was at this log checkpoint ("<tx>/<seq>", as returned by commands)'),
};

const counts = z.record(z.string(), z.number());
const spanCounts = z.object({ matched: z.number(), spansA: z.number(), spansB: z.number(), f1: z.number().nullable(), precision: z.number().nullable(), recall: z.number().nullable() });
const point = z.object({ live: z.boolean(), position: z.string().nullable(), time: z.string().nullable() });
const source = z.enum(['manual', 'crowd', 'gold', 'reference', 'heuristic', 'weak_supervision']);

const metricsView = z.object({
  asOf: point,
  tasks: z.array(
    z.object({
      taskId: z.string(),
      name: z.string(),
      kind: z.enum(['single_label', 'multi_label', 'span']),
      labels: z.array(z.object({ id: z.string(), name: z.string(), color: z.string() })),
      distribution: z.array(z.object({ source, sourceId: z.string().nullable(), name: z.string().nullable(), counts, total: z.number() })),
      confusion: z.array(
        z.object({
          source: z.enum(['heuristic', 'weak_supervision']),
          sourceId: z.string().nullable(),
          name: z.string().nullable(),
          labelIds: z.array(z.string()),
          matrix: z.array(z.array(z.number())),
          voted: z.number(),
          correct: z.number(),
        }),
      ),
      confidence: z.object({ bins: z.number(), byLabel: z.record(z.string(), z.array(z.number())), total: z.number() }).nullable(),
    }),
  ),
  progress: z.array(z.object({ taskId: z.string(), day: z.string(), source: z.enum(['manual', 'gold']), annotator: z.string(), name: z.string().nullable(), answers: z.number() })),
});

const agreementView = z.object({
  asOf: point,
  taskId: z.string(),
  kind: z.enum(['single_label', 'multi_label', 'span']),
  annotators: z.array(z.object({ id: z.string(), name: z.string().nullable(), records: z.number() })),
  records: z.number(),
  nominal: z
    .object({
      pairs: z.array(z.object({ a: z.string(), b: z.string(), shared: z.number(), agreements: z.number(), percentAgreement: z.number().nullable(), cohenKappa: z.number().nullable() })),
      fleiss: z.object({ kappa: z.number().nullable(), items: z.number(), ratings: z.number(), observedAgreement: z.number().nullable(), expectedAgreement: z.number().nullable() }),
      krippendorff: z.object({
        alpha: z.number().nullable(),
        units: z.number(),
        pairableValues: z.number(),
        observedDisagreement: z.number().nullable(),
        expectedDisagreement: z.number().nullable(),
      }),
    })
    .nullable(),
  spans: z.object({ pairs: z.array(z.object({ a: z.string(), b: z.string(), records: z.number(), exact: spanCounts, overlap: spanCounts })) }).nullable(),
});

interface View {
  sql: SqlExecutor;
  point: z.infer<typeof point>;
  close(): Promise<void>;
}

export function metricsRoutes(ctx: ApiContext): AnyRoute[] {
  /** The live read models, or a disposable view of the project as of a time or log position. */
  async function openView(projectId: string, query: { asOf?: string | undefined; position?: string | undefined; after?: string | undefined }): Promise<View> {
    const asOf = query.asOf || undefined;
    const position = query.position || undefined;
    if (asOf !== undefined && position !== undefined) {
      throw new HttpError(400, 'invalid_request', 'give at most one of asOf (ISO 8601 time) and position (log checkpoint)', { asOf, position });
    }
    if (asOf === undefined && position === undefined) {
      await readAfter(ctx, query.after, VIEWS);
      if (!(await getProject(ctx.db, projectId))) throw new HttpError(404, 'project_not_found', `project ${projectId} does not exist`, { projectId });
      return { sql: ctx.db, point: { live: true, position: null, time: null }, close: async () => undefined };
    }
    return openTimeTravelView(ctx, projectId, { ...(asOf !== undefined ? { time: asOf } : {}), ...(position !== undefined ? { position } : {}) });
  }

  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/metrics',
      summary: 'Label distribution, confusion matrices, confidence histogram and progress over time',
      description:
        'Per task and source (manual per annotator, gold, reference, each heuristic, weak supervision). Confusion: reference (rows) against each heuristic and weak supervision (columns, last = no vote), classification tasks only. `asOf` or `position` computes it on the project as it was then. Definitions in docs/metrics.md.',
      tags: ['metrics'],
      permission: 'project:heuristics:read',
      params: projectParams,
      query: z.object({
        task: taskId.optional().describe('only this labeling task'),
        bins: z.coerce.number().int().min(2).max(100).optional().describe('bins of the confidence histogram (default 10)'),
        after: afterQuery,
        ...asOfQuery,
      }),
      responses: { 200: { description: 'the metrics', schema: metricsView } },
      async handler({ params, query }) {
        const view = await openView(params.id, query);
        try {
          const metrics: ProjectMetricsView = await getProjectMetrics(view.sql, params.id, {
            ...(query.task !== undefined ? { taskId: query.task } : {}),
            ...(query.bins !== undefined ? { confidenceBins: query.bins } : {}),
          });
          if (query.task !== undefined && metrics.tasks.length === 0) throw taskNotFound(params.id, query.task);
          if (!view.point.live) await renameFromLive(ctx, params.id, metrics);
          return { body: { asOf: view.point, ...metrics } };
        } finally {
          await view.close();
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/agreement',
      summary: "Inter-annotator agreement of a task: percent agreement and Cohen's κ per annotator pair, Fleiss' κ, Krippendorff's α; span F1",
      description:
        "Over the manual labels. Classification: `nominal` (a multi-label answer is one category, its label set); spans: `spans` with pairwise exact-match and overlap F1. Undefined statistics are null. `asOf` or `position` computes it on the project as it was then. Definitions in docs/metrics.md and docs/agreement.md.",
      tags: ['metrics'],
      permission: 'project:heuristics:read',
      params: projectParams,
      query: z.object({ task: taskId.describe('the labeling task'), after: afterQuery, ...asOfQuery }),
      responses: { 200: { description: 'the agreement statistics', schema: agreementView } },
      async handler({ params, query }) {
        const view = await openView(params.id, query);
        try {
          const agreement: AgreementView | undefined = await getAgreement(view.sql, params.id, query.task);
          if (!agreement) throw taskNotFound(params.id, query.task);
          if (!view.point.live) {
            const names = await sourceNames(ctx.db, params.id, agreement.annotators.map((a) => a.id), []);
            for (const a of agreement.annotators) a.name = names.get(a.id) ?? a.name;
          }
          return { body: { asOf: view.point, ...agreement } };
        } finally {
          await view.close();
        }
      },
    }),
  ];
}

function taskNotFound(projectId: string, taskId: string): HttpError {
  return new HttpError(404, 'task_not_found', `labeling task ${taskId} does not exist in project ${projectId}`, { projectId, taskId });
}

/** A time-travel view holds no accounts (they are not project events): names come from the live read model. */
async function renameFromLive(ctx: ApiContext, projectId: string, metrics: ProjectMetricsView): Promise<void> {
  const users = [...metrics.progress.map((p) => p.annotator), ...metrics.tasks.flatMap((t) => t.distribution.filter((d) => d.source === 'manual').map((d) => d.sourceId!))];
  const names = await sourceNames(ctx.db, projectId, users, []);
  for (const p of metrics.progress) p.name = names.get(p.annotator) ?? p.name;
  for (const t of metrics.tasks) for (const d of t.distribution) if (d.source === 'manual' && d.sourceId) d.name = names.get(d.sourceId) ?? d.name;
}

/**
 * The project replayed up to the point into a disposable database (libs/audit, cached per point).
 * A malformed point, a time before the project or a position beyond the end are 4xx from there.
 */
async function openTimeTravelView(ctx: ApiContext, projectId: string, point: { time?: string; position?: string }): Promise<View> {
  const view = await openAsOf({ store: ctx.store, db: ctx.db, artifacts: ctx.artifacts }, projectId, point);
  return { sql: view.db, point: { live: false, position: view.position, time: view.time }, close: () => view.close() };
}
