import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { heuristicStreamId, MAX_WS_HEURISTICS, weakSupervisionModel, weakSupervisionParameters, weakSupervisionStreamId, type Event } from '@refinery/events';
import {
  assertProjectActive,
  decideWeakSupervision,
  emptyHeuristic,
  emptyWeakSupervision,
  evolveHeuristic,
  evolveWeakSupervision,
  type AvailableHeuristic,
  type TaskDefinition,
  type WeakSupervisionCommand,
  type WeakSupervisionState,
} from '@refinery/domain';
import { existingRecordIds, getLabelingConfig, getRecordWeakLabels, getWsConfig, getWsConfusion, getWsRun, listHeuristics, listWsRuns } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';
import { commandResult, loadProject } from './projects.ts';

const VIEWS = ['weak_supervision'];
const CONFUSION_VIEWS = ['weak_supervision', 'record_labels'];

const id = z.string().min(1).max(64);
const projectParams = z.object({ id: z.uuid() });
const taskParams = projectParams.extend({ taskId: id });
const heuristicIds = z.array(id).max(MAX_WS_HEURISTICS);

const configView = z.object({
  taskId: z.string(),
  heuristicIds: z.array(z.string()),
  model: weakSupervisionModel,
  autoRerun: z.boolean(),
  minConfidence: z.number(),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});
const runView = z.object({
  runId: z.string(),
  taskId: z.string(),
  model: weakSupervisionModel,
  heuristicIds: z.array(z.string()),
  parameters: z.record(z.string(), z.unknown()),
  trigger: z.enum(['manual', 'auto']),
  status: z.enum(['requested', 'completed', 'failed', 'superseded']),
  requestedAt: z.string(),
  requestedBy: z.string(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  heuristics: z.array(z.object({ heuristicId: z.string(), runId: z.string().nullable(), votesArtifact: z.string().nullable(), votes: z.number() })).nullable(),
  counts: z.object({ records: z.number(), covered: z.number(), labeled: z.number(), manual: z.number(), byLabel: z.record(z.string(), z.number()) }).nullable(),
  resultArtifact: z.string().nullable(),
  meanConfidence: z.number().nullable(),
  agreement: z.record(z.string(), z.number().nullable()).nullable(),
  error: z.object({ kind: z.string(), message: z.string() }).nullable(),
  supersededBy: z.string().nullable(),
  current: z.boolean().describe('its weak labels are the ones shown now'),
});
const confusionView = z.object({
  taskId: z.string(),
  kind: z.enum(['single_label', 'multi_label', 'span']),
  labelIds: z.array(z.string()),
  compared: z.number(),
  withWeakLabel: z.number(),
  matrix: z.array(z.array(z.number())).nullable(),
  accuracy: z.number().nullable(),
  perLabel: z.array(z.object({ labelId: z.string(), tp: z.number(), fp: z.number(), fn: z.number(), precision: z.number().nullable(), recall: z.number().nullable() })),
});

/** The heuristics a command may name: the read model's list, with the named ones checked in the log (a heuristic created a moment ago counts). */
async function availableHeuristics(ctx: ApiContext, projectId: string, named: readonly string[]): Promise<AvailableHeuristic[]> {
  const listed = new Map((await listHeuristics(ctx.db, projectId)).map((h) => [h.id, { id: h.id, taskId: h.taskId }]));
  for (const heuristicId of new Set(named)) {
    const state = (await ctx.store.readStream(heuristicStreamId(projectId, heuristicId))).reduce(evolveHeuristic, emptyHeuristic());
    if (state.status === 'active') listed.set(heuristicId, { id: heuristicId, taskId: state.taskId });
    else listed.delete(heuristicId);
  }
  return [...listed.values()];
}

async function wsCommand(
  ctx: ApiContext,
  projectId: string,
  taskId: string,
  actor: string,
  build: (task: TaskDefinition | undefined, state: WeakSupervisionState) => Promise<WeakSupervisionCommand>,
) {
  const { state: project, config } = await loadProject(ctx.store, projectId);
  assertProjectActive(project, projectId);
  const streamId = weakSupervisionStreamId(projectId, taskId);
  const past = await ctx.store.readStream(streamId);
  const revision = past.length ? BigInt(past.length - 1) : undefined;
  const state = past.reduce(evolveWeakSupervision, emptyWeakSupervision());
  const events = decideWeakSupervision(await build(config.tasks.get(taskId), state), state);
  if (events.length === 0) return { revision: (revision ?? -1n).toString(), position: await ctx.store.head() };
  const r = await ctx.store.append(streamId, events as Event[], { actor, expectedRevision: revision ?? 'no_stream' });
  return { revision: r.revision.toString(), position: r.position };
}

export function weakSupervisionRoutes(ctx: ApiContext): AnyRoute[] {
  const requireTask = async (projectId: string, taskId: string) => {
    const task = (await getLabelingConfig(ctx.db, projectId)).tasks.find((t) => t.id === taskId);
    if (!task) throw new HttpError(404, 'task_not_found', `labeling task ${taskId} does not exist in project ${projectId}`, { projectId, taskId });
    return task;
  };
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/tasks/:taskId/weak-supervision',
      summary: "A task's weak-supervision configuration and its latest runs",
      description: 'Never configured: the defaults (no heuristics, model `ours`, no auto re-run, minimum confidence 0) with `updatedAt: null`. See docs/weak-supervision.md.',
      tags: ['weak-supervision'],
      permission: 'project:heuristics:read',
      params: taskParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'configuration and the last 20 runs, newest first', schema: z.object({ config: configView, runs: z.array(runView) }) } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, [...VIEWS, 'labeling_config']);
        await requireTask(params.id, params.taskId);
        return { body: { config: await getWsConfig(ctx.db, params.id, params.taskId), runs: await listWsRuns(ctx.db, params.id, params.taskId, 20) } };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/projects/:id/tasks/:taskId/weak-supervision',
      summary: "Set a task's weak-supervision configuration",
      description:
        'Fields left out keep their value. `heuristicIds`: heuristics of this task a run uses; `model`: ours | mv | refinery | ds; `autoRerun`: request a run when a chosen heuristic completes a run or manual labels of the task change (debounced); `minConfidence` (0–1): the export omits weak labels below it by default.',
      tags: ['weak-supervision'],
      permission: 'project:heuristics:write',
      params: taskParams,
      body: z.object({ heuristicIds: heuristicIds.optional(), model: weakSupervisionModel.optional(), autoRerun: z.boolean().optional(), minConfidence: z.number().min(0).max(1).optional() }).strict(),
      responses: { 200: { description: 'saved (unchanged: no event)', schema: commandResult } },
      async handler({ params, body, actor }) {
        const r = await wsCommand(ctx, params.id, params.taskId, actor, async (task) => ({
          type: 'ConfigureWeakSupervision',
          projectId: params.id,
          taskId: params.taskId,
          task,
          heuristics: await availableHeuristics(ctx, params.id, body.heuristicIds ?? []),
          ...(body.heuristicIds !== undefined ? { heuristicIds: body.heuristicIds } : {}),
          ...(body.model !== undefined ? { model: body.model } : {}),
          ...(body.autoRerun !== undefined ? { autoRerun: body.autoRerun } : {}),
          ...(body.minConfidence !== undefined ? { minConfidence: body.minConfidence } : {}),
        }));
        return { body: r };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/tasks/:taskId/weak-supervision/runs',
      summary: 'Run weak supervision for a task (asynchronously, by the workers)',
      description:
        'Answers 202 at once; follow the run at GET /api/projects/:id/weak-supervision/runs/:runId. Heuristics and model default to the configuration; no heuristics at all is `422 no_heuristics`. Each heuristic contributes the votes of its latest completed full run (none: no votes).',
      tags: ['weak-supervision'],
      permission: 'project:heuristics:write',
      params: taskParams,
      body: z.object({ heuristicIds: heuristicIds.optional(), model: weakSupervisionModel.optional(), parameters: weakSupervisionParameters.optional() }).strict(),
      responses: { 202: { description: 'requested', schema: commandResult.extend({ runId: z.string() }) } },
      async handler({ params, body, actor }) {
        const runId = randomUUID();
        const r = await wsCommand(ctx, params.id, params.taskId, actor, async (task, state) => ({
          type: 'RequestWeakSupervision',
          projectId: params.id,
          taskId: params.taskId,
          runId,
          task,
          heuristics: await availableHeuristics(ctx, params.id, body.heuristicIds ?? state.config?.heuristicIds ?? []),
          ...(body.heuristicIds !== undefined ? { heuristicIds: body.heuristicIds } : {}),
          ...(body.model !== undefined ? { model: body.model } : {}),
          ...(body.parameters !== undefined ? { parameters: body.parameters } : {}),
          trigger: 'manual',
          requestedBy: actor,
        }));
        return { status: 202, body: { runId, ...r } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/tasks/:taskId/weak-supervision/runs',
      summary: "A task's weak-supervision runs with their status, newest first",
      tags: ['weak-supervision'],
      permission: 'project:heuristics:read',
      params: taskParams,
      query: z.object({ after: afterQuery, limit: z.coerce.number().int().min(1).max(500).default(50) }),
      responses: { 200: { description: 'the runs', schema: z.object({ runs: z.array(runView) }) } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, VIEWS);
        return { body: { runs: await listWsRuns(ctx.db, params.id, params.taskId, query.limit) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/weak-supervision/runs/:runId',
      summary: 'A weak-supervision run: status, model, heuristics and their runs, counts, agreement, error',
      tags: ['weak-supervision'],
      permission: 'project:heuristics:read',
      params: projectParams.extend({ runId: z.uuid() }),
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the run', schema: runView } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, VIEWS);
        const run = await getWsRun(ctx.db, params.id, params.runId);
        if (!run) throw new HttpError(404, 'run_not_found', `weak-supervision run ${params.runId} does not exist`, { runId: params.runId });
        return { body: run };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/tasks/:taskId/weak-supervision/confusion',
      summary: 'Weak labels against the reference manual labels (confusion matrix, per-label precision / recall)',
      description:
        'Over the records with a reference label (gold, else a single or unanimous answer). Single-label: `matrix[i][j]` counts reference `labelIds[i]` × weak `labelIds[j]`, the last column records without a weak label. Multi-label and spans: per-label tp / fp / fn (spans: exact boundaries).',
      tags: ['weak-supervision'],
      permission: 'project:heuristics:read',
      params: taskParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the comparison', schema: confusionView } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, CONFUSION_VIEWS);
        const task = await requireTask(params.id, params.taskId);
        return { body: await getWsConfusion(ctx.db, params.id, { id: task.id, kind: task.kind, labelIds: task.labels.map((l) => l.id) }) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/records/:recordId/weak-labels',
      summary: "A record's current weak labels with their confidence, per task",
      tags: ['weak-supervision'],
      permission: 'project:heuristics:read',
      params: projectParams.extend({ recordId: z.string().min(1).max(512) }),
      query: z.object({ after: afterQuery }),
      responses: {
        200: {
          description: 'one entry per label (spans: per span)',
          schema: z.object({
            weakLabels: z.array(
              z.object({
                taskId: z.string(),
                runId: z.string(),
                labelId: z.string(),
                confidence: z.number(),
                span: z.object({ start: z.number(), end: z.number(), tokenStart: z.number(), tokenEnd: z.number() }).nullable(),
              }),
            ),
          }),
        },
      },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, [...VIEWS, 'records']);
        const weakLabels = await getRecordWeakLabels(ctx.db, params.id, params.recordId);
        // an unknown record is a bad request, not a record without weak labels (as GET …/records/:recordId)
        if (weakLabels.length === 0 && (await existingRecordIds(ctx.db, params.id, [params.recordId])).length === 0) {
          throw new HttpError(404, 'record_not_found', `record ${params.recordId} does not exist in project ${params.id}`, { projectId: params.id, recordId: params.recordId });
        }
        return { body: { weakLabels } };
      },
    }),
  ];
}
