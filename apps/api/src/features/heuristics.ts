import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  heuristicStreamId,
  heuristicRunError,
  lookupListStreamId,
  sha256Hex,
  type Event,
  type VotesArtifact,
} from '@refinery/events';
import {
  assertProjectActive,
  decideHeuristic,
  decideLookupList,
  emptyHeuristic,
  emptyLookupList,
  evolveHeuristic,
  evolveLookupList,
  type HeuristicCommand,
  type LookupListCommand,
} from '@refinery/domain';
import { existingRecordIds, getHeuristicRun, getHeuristicStats, getLabelMatrix, getProject, listHeuristicRuns, listHeuristics, listLookupLists } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';
import { commandResult, loadProject } from './projects.ts';

const VIEWS = ['heuristics'];
const MATRIX_VIEWS = ['heuristics', 'records'];

const id = z.string().min(1).max(64);
const projectParams = z.object({ id: z.uuid() });
const heuristicParams = projectParams.extend({ heuristicId: id });
const runParams = heuristicParams.extend({ runId: z.uuid() });
const listParams = projectParams.extend({ listId: id });
const expectedRevision = z.string().regex(/^\d+$/).optional().describe('the revision the client saw; a stale one is refused with 409');

const runView = z.object({
  runId: z.string(),
  heuristicId: z.string(),
  codeHash: z.string(),
  sample: z.number().nullable(),
  status: z.enum(['requested', 'running', 'completed', 'failed', 'cancelled']),
  done: z.number(),
  total: z.number().nullable(),
  requestedAt: z.string(),
  requestedBy: z.string(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  counts: z.object({ records: z.number(), votes: z.number(), byLabel: z.record(z.string(), z.number()) }).nullable(),
  votesArtifact: z.string().nullable(),
  error: heuristicRunError.nullable(),
});
const labelStats = z.object({
  hits: z.number(),
  checked: z.number(),
  correct: z.number(),
  referenceCount: z.number(),
  precision: z.number().nullable(),
  recall: z.number().nullable(),
});
const statsView = z.object({
  coverage: z.number(),
  hits: z.number(),
  overlaps: z.number(),
  conflicts: z.number(),
  checked: z.number(),
  correct: z.number(),
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  byLabel: z.record(z.string(), labelStats),
});
const heuristicView = z.object({
  id: z.string(),
  taskId: z.string(),
  name: z.string(),
  description: z.string(),
  type: z.enum(['labeling_function', 'lookup_list', 'external', 'crowd']),
  language: z.enum(['javascript', 'typescript', 'python']).nullable(),
  code: z.string().nullable(),
  codeHash: z.string().nullable(),
  lookupListId: z.string().nullable(),
  labelId: z.string().nullable(),
  attribute: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
  currentRunId: z.string().nullable(),
  latestRun: runView.nullable(),
  stats: statsView.nullable(),
});
const lookupListView = z.object({ id: z.string(), name: z.string(), terms: z.array(z.string()), caseInsensitive: z.boolean(), wholeWord: z.boolean(), updatedAt: z.string() });
const listName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'a name of letters, digits, _ and - (functions read the list by it)');

const codeHash = (code: string) => sha256Hex(Buffer.from(code, 'utf8'));

async function heuristicCommand(ctx: ApiContext, projectId: string, heuristicId: string, actor: string, command: HeuristicCommand, expected?: string) {
  const { state: project } = await loadProject(ctx.store, projectId);
  assertProjectActive(project, projectId);
  const streamId = heuristicStreamId(projectId, heuristicId);
  const past = await ctx.store.readStream(streamId);
  const revision = past.length ? BigInt(past.length - 1) : undefined;
  const state = past.reduce(evolveHeuristic, emptyHeuristic());
  if (state.status === 'none' && command.type !== 'CreateHeuristic') {
    throw new HttpError(404, 'heuristic_not_found', `heuristic ${heuristicId} does not exist in project ${projectId}`, { projectId, heuristicId });
  }
  const events = decideHeuristic(command, state);
  if (events.length === 0) return { revision: (revision ?? -1n).toString(), position: await ctx.store.head() };
  const r = await ctx.store.append(streamId, events as Event[], { actor, expectedRevision: expected !== undefined ? BigInt(expected) : (revision ?? 'no_stream') });
  return { revision: r.revision.toString(), position: r.position };
}

async function lookupListCommand(ctx: ApiContext, projectId: string, listId: string, actor: string, build: (otherNames: string[]) => LookupListCommand) {
  const { state: project } = await loadProject(ctx.store, projectId);
  assertProjectActive(project, projectId);
  const streamId = lookupListStreamId(projectId, listId);
  const past = await ctx.store.readStream(streamId);
  const revision = past.length ? BigInt(past.length - 1) : undefined;
  const state = past.reduce(evolveLookupList, { ...emptyLookupList(), projectId, listId });
  const others = (await listLookupLists(ctx.db, projectId)).filter((l) => l.id !== listId).map((l) => l.name);
  const events = decideLookupList(build(others), state);
  if (events.length === 0) return { revision: (revision ?? -1n).toString(), position: await ctx.store.head() };
  const r = await ctx.store.append(streamId, events as Event[], { actor, expectedRevision: revision ?? 'no_stream' });
  return { revision: r.revision.toString(), position: r.position };
}

const externalVote = z.object({
  recordId: z.string().min(1).max(512),
  label: z.string().min(1).max(100).optional().describe('a label name or id (classification)'),
  spans: z.array(z.object({ label: z.string().min(1).max(100), start: z.number().int().nonnegative(), end: z.number().int().positive() })).optional(),
});
const externalVotes = z.object({ votes: z.array(externalVote).max(5_000_000) });

export function heuristicRoutes(ctx: ApiContext): AnyRoute[] {
  const withStats = async (projectId: string, heuristicId?: string) => {
    const [heuristics, stats] = await Promise.all([listHeuristics(ctx.db, projectId, heuristicId), getHeuristicStats(ctx.db, projectId)]);
    return heuristics.map((h) => {
      const s = stats.get(h.id);
      // crowd heuristics have no runs: their column follows the crowd labels from the start
      return { ...h, stats: s && (h.currentRunId || h.type === 'crowd') ? (({ heuristicId: _h, ...rest }) => rest)(s) : null };
    });
  };
  const requireHeuristic = async (projectId: string, heuristicId: string) => {
    const [h] = await listHeuristics(ctx.db, projectId, heuristicId);
    if (!h) throw new HttpError(404, 'heuristic_not_found', `heuristic ${heuristicId} does not exist in project ${projectId}`, { projectId, heuristicId });
    return h;
  };
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/heuristics',
      summary: 'Heuristics with their latest run and statistics',
      description: 'Statistics are computed over all records against the reference labels; definitions in docs/heuristics.md.',
      tags: ['heuristics'],
      permission: 'project:heuristics:read',
      params: projectParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the heuristics, oldest first', schema: z.object({ heuristics: z.array(heuristicView) }) } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, VIEWS);
        return { body: { heuristics: await withStats(params.id) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/heuristics',
      summary: 'Create a heuristic',
      description:
        'labeling_function: language + code defining `lf`; lookup_list: lookupListId + labelId (+ attribute, default the task attribute); external: votes are uploaded; crowd: votes follow the crowd labels of the task (majority of the crowd pseudonyms per record, abstaining on none or a tie; classification tasks only, never run). Owners and engineers only (the code runs on the server).',
      tags: ['heuristics'],
      permission: 'project:heuristics:write',
      params: projectParams,
      body: z.object({
        name: z.string().trim().min(1).max(100),
        description: z.string().max(2000).optional(),
        taskId: id,
        type: z.enum(['labeling_function', 'lookup_list', 'external', 'crowd']),
        language: z.enum(['javascript', 'typescript', 'python']).optional(),
        code: z.string().max(200_000).optional(),
        lookupListId: id.optional(),
        labelId: id.optional(),
        attribute: z.string().min(1).max(200).optional(),
      }),
      responses: { 201: { description: 'created', schema: commandResult.extend({ id: z.string() }) } },
      async handler({ params, body, actor }) {
        const heuristicId = randomUUID();
        const { config } = await loadProject(ctx.store, params.id);
        const attributes = (await getProject(ctx.db, params.id))?.attributes ?? [];
        const lists = body.type === 'lookup_list' ? await listLookupLists(ctx.db, params.id) : [];
        const command: HeuristicCommand = {
          type: 'CreateHeuristic',
          projectId: params.id,
          heuristicId,
          name: body.name,
          ...(body.description !== undefined ? { description: body.description } : {}),
          heuristicType: body.type,
          task: config.tasks.get(body.taskId),
          ...(body.language ? { language: body.language } : {}),
          ...(body.code !== undefined ? { code: body.code, codeHash: codeHash(body.code) } : {}),
          ...(body.type === 'lookup_list'
            ? {
                lookupListId: body.lookupListId,
                lookupListExists: lists.some((l) => l.id === body.lookupListId),
                labelId: body.labelId,
                attribute: body.attribute,
                textAttributes: attributes.filter((a) => a.type === 'text' || a.type === 'category').map((a) => a.name),
                codeHash: codeHash(JSON.stringify({ lookupListId: body.lookupListId, labelId: body.labelId, attribute: body.attribute ?? null })),
              }
            : {}),
        } as HeuristicCommand;
        const r = await heuristicCommand(ctx, params.id, heuristicId, actor, command);
        return { status: 201, body: { id: heuristicId, ...r } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/heuristics/:heuristicId',
      summary: 'One heuristic with its latest run and statistics',
      tags: ['heuristics'],
      permission: 'project:heuristics:read',
      params: heuristicParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the heuristic', schema: heuristicView.extend({ runs: z.array(runView) }) } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, VIEWS);
        const [h] = await withStats(params.id, params.heuristicId);
        if (!h) throw new HttpError(404, 'heuristic_not_found', `heuristic ${params.heuristicId} does not exist in project ${params.id}`, { projectId: params.id, heuristicId: params.heuristicId });
        return { body: { ...h, runs: await listHeuristicRuns(ctx.db, params.id, params.heuristicId) } };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/projects/:id/heuristics/:heuristicId',
      summary: 'Rename a heuristic or change its code',
      tags: ['heuristics'],
      permission: 'project:heuristics:write',
      params: heuristicParams,
      body: z.object({ name: z.string().trim().min(1).max(100).optional(), description: z.string().max(2000).optional(), code: z.string().max(200_000).optional(), expectedRevision }),
      responses: { 200: { description: 'changed', schema: commandResult } },
      async handler({ params, body, actor }) {
        let r: { revision: string; position: string } | undefined;
        if (body.name !== undefined || body.description !== undefined) {
          const current = await requireHeuristic(params.id, params.heuristicId);
          r = await heuristicCommand(
            ctx,
            params.id,
            params.heuristicId,
            actor,
            { type: 'RenameHeuristic', name: body.name ?? current.name, description: body.description ?? current.description },
            body.expectedRevision,
          );
        }
        if (body.code !== undefined) {
          r = await heuristicCommand(ctx, params.id, params.heuristicId, actor, { type: 'ChangeHeuristicCode', code: body.code, codeHash: codeHash(body.code) }, r ? undefined : body.expectedRevision);
        }
        if (!r) throw new HttpError(400, 'invalid_request', 'nothing to change: send name, description or code');
        return { body: r };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id/heuristics/:heuristicId',
      summary: 'Delete a heuristic; its column leaves the label matrix',
      tags: ['heuristics'],
      permission: 'project:heuristics:write',
      params: heuristicParams,
      responses: { 200: { description: 'deleted', schema: commandResult } },
      async handler({ params, actor }) {
        return { body: await heuristicCommand(ctx, params.id, params.heuristicId, actor, { type: 'DeleteHeuristic' }) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/heuristics/:heuristicId/runs',
      summary: 'Run a heuristic over the project (asynchronously, by the workers)',
      description: 'Answers 202 at once; follow the run at GET .../runs/:runId. `sample` runs over the first n records only and does not replace the label matrix.',
      tags: ['heuristics'],
      permission: 'project:heuristics:write',
      params: heuristicParams,
      body: z.object({ sample: z.number().int().positive().max(10_000_000).optional() }),
      responses: { 202: { description: 'requested', schema: commandResult.extend({ runId: z.string() }) } },
      async handler({ params, body, actor }) {
        const past = await ctx.store.readStream(heuristicStreamId(params.id, params.heuristicId));
        const state = past.reduce(evolveHeuristic, emptyHeuristic());
        const runId = randomUUID();
        const r = await heuristicCommand(ctx, params.id, params.heuristicId, actor, {
          type: 'RequestHeuristicRun',
          runId,
          codeHash: state.codeHash ?? sha256Hex(Buffer.from(params.heuristicId)),
          ...(body.sample ? { sample: body.sample } : {}),
        });
        return { status: 202, body: { runId, ...r } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/heuristics/:heuristicId/runs/:runId',
      summary: 'A run: status, progress, counts, error',
      tags: ['heuristics'],
      permission: 'project:heuristics:read',
      params: runParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the run', schema: runView } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, VIEWS);
        const run = await getHeuristicRun(ctx.db, params.id, params.heuristicId, params.runId);
        if (!run) throw new HttpError(404, 'run_not_found', `run ${params.runId} does not exist`, { runId: params.runId });
        return { body: run };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/heuristics/:heuristicId/runs/:runId/cancel',
      summary: 'Cancel a run (the worker stops between batches)',
      tags: ['heuristics'],
      permission: 'project:heuristics:write',
      params: runParams,
      responses: { 202: { description: 'cancelled', schema: commandResult } },
      async handler({ params, actor }) {
        return { status: 202, body: await heuristicCommand(ctx, params.id, params.heuristicId, actor, { type: 'CancelHeuristicRun', runId: params.runId }) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/heuristics/:heuristicId/votes',
      summary: 'Upload the votes of an external heuristic',
      description: 'JSON `{ votes: [{ recordId, label } | { recordId, spans: [{ label, start, end }] }] }`; labels by name or id. Replaces the heuristic\'s column in the label matrix.',
      tags: ['heuristics'],
      permission: 'project:heuristics:write',
      params: heuristicParams,
      rawBody: { contentTypes: ['application/json'], limitBytes: ctx.config.maxUploadBytes, description: 'the votes as JSON' },
      responses: { 201: { description: 'recorded', schema: commandResult.extend({ runId: z.string(), votes: z.number() }) } },
      async handler({ params, body, actor }) {
        const started = Date.now();
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : String(body ?? ''));
        } catch (err) {
          throw new HttpError(400, 'malformed_json', `the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
        }
        const input = externalVotes.safeParse(parsed);
        if (!input.success) {
          const issues = input.error.issues.slice(0, 20).map((i) => ({ location: 'body', path: i.path.join('.'), message: i.message }));
          throw new HttpError(400, 'invalid_request', `invalid body: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
        }
        const h = (await ctx.store.readStream(heuristicStreamId(params.id, params.heuristicId))).reduce(evolveHeuristic, emptyHeuristic());
        if (h.status === 'none') throw new HttpError(404, 'heuristic_not_found', `heuristic ${params.heuristicId} does not exist in project ${params.id}`, { projectId: params.id, heuristicId: params.heuristicId });
        const { config } = await loadProject(ctx.store, params.id);
        const task = config.tasks.get(h.taskId);
        if (!task) throw new HttpError(422, 'task_not_found', `the task of heuristic ${h.name} no longer exists`);
        const labelOf = (name: string, recordId: string) => {
          const l = task.labels.get(name) ?? [...task.labels.values()].find((x) => x.name === name);
          if (!l) throw new HttpError(422, 'unknown_label', `record ${recordId}: unknown label "${name}" for task ${task.name}`, { recordId, label: name });
          return l.id;
        };
        const kind = task.kind === 'span' ? 'extraction' : 'classification';
        const seen = new Set<string>();
        const artifact: VotesArtifact = { format: 'refinery.heuristic-votes.v1', kind, recordIds: [], votes: [] };
        const byLabel: Record<string, number> = {};
        for (const v of input.data.votes) {
          if (seen.has(v.recordId)) throw new HttpError(422, 'duplicate_record', `record ${v.recordId} appears twice`, { recordId: v.recordId });
          seen.add(v.recordId);
          if (kind === 'classification') {
            if (v.label === undefined || v.spans) throw new HttpError(422, 'invalid_vote', `record ${v.recordId}: a classification task takes { recordId, label }`, { recordId: v.recordId });
            const l = labelOf(v.label, v.recordId);
            artifact.recordIds.push(v.recordId);
            artifact.votes.push(l);
            byLabel[l] = (byLabel[l] ?? 0) + 1;
          } else {
            if (!v.spans || v.label !== undefined) throw new HttpError(422, 'invalid_vote', `record ${v.recordId}: a span task takes { recordId, spans }`, { recordId: v.recordId });
            const spans = v.spans.map((s) => {
              if (s.end <= s.start) throw new HttpError(422, 'span_out_of_range', `record ${v.recordId}: span ${s.start}..${s.end} is empty`, { recordId: v.recordId });
              const l = labelOf(s.label, v.recordId);
              byLabel[l] = (byLabel[l] ?? 0) + 1;
              return [l, s.start, s.end] as [string, number, number];
            });
            if (spans.length) {
              artifact.recordIds.push(v.recordId);
              artifact.votes.push(spans);
            }
          }
        }
        const ids = [...seen];
        for (let i = 0; i < ids.length; i += 10_000) {
          const chunk = ids.slice(i, i + 10_000);
          const known = new Set(await existingRecordIds(ctx.db, params.id, chunk));
          const missing = chunk.find((r) => !known.has(r));
          if (missing !== undefined) throw new HttpError(422, 'record_not_found', `record ${missing} does not exist in project ${params.id}`, { recordId: missing });
        }
        const hash = await ctx.artifacts.put(Buffer.from(JSON.stringify(artifact), 'utf8'), 'application/json');
        const runId = randomUUID();
        const r = await heuristicCommand(ctx, params.id, params.heuristicId, actor, {
          type: 'RecordExternalVotes',
          runId,
          votesArtifact: hash,
          counts: { records: ids.length, votes: artifact.recordIds.length, byLabel },
          durationMs: Date.now() - started,
        });
        return { status: 201, body: { runId, votes: artifact.recordIds.length, ...r } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/label-matrix',
      summary: 'The label matrix: per record (import order) the vote of every heuristic (null = abstain)',
      description: 'Classification votes are label ids; span votes are lists of { labelId, start, end }. Page with ?cursor= (nextCursor of the previous page).',
      tags: ['heuristics'],
      permission: 'project:heuristics:read',
      params: projectParams,
      query: z.object({
        taskId: id.optional(),
        cursor: z.string().regex(/^\d{1,19}$/).optional(),
        limit: z.coerce.number().int().min(1).max(5000).default(500),
        after: afterQuery,
      }),
      responses: {
        200: {
          description: 'one page',
          schema: z.object({
            heuristics: z.array(z.object({ id: z.string(), name: z.string(), taskId: z.string(), currentRunId: z.string().nullable() })),
            rows: z.array(z.object({ recordId: z.string(), votes: z.record(z.string(), z.unknown()) })),
            nextCursor: z.string().nullable(),
            total: z.number(),
          }),
        },
      },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, MATRIX_VIEWS);
        return {
          body: await getLabelMatrix(ctx.db, params.id, {
            ...(query.taskId ? { taskId: query.taskId } : {}),
            ...(query.cursor ? { cursor: BigInt(query.cursor) } : {}),
            limit: query.limit,
          }),
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/lookup-lists',
      summary: 'Lookup lists (functions read them by name)',
      tags: ['heuristics'],
      permission: 'project:heuristics:read',
      params: projectParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the lists', schema: z.object({ lookupLists: z.array(lookupListView) }) } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, VIEWS);
        return { body: { lookupLists: await listLookupLists(ctx.db, params.id) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/lookup-lists',
      summary: 'Create a lookup list',
      tags: ['heuristics'],
      permission: 'project:heuristics:write',
      params: projectParams,
      body: z.object({ name: listName, terms: z.array(z.string().max(1000)).max(100_000), caseInsensitive: z.boolean().optional(), wholeWord: z.boolean().optional() }),
      responses: { 201: { description: 'created', schema: commandResult.extend({ id: z.string() }) } },
      async handler({ params, body, actor }) {
        const listId = randomUUID();
        const r = await lookupListCommand(ctx, params.id, listId, actor, (otherNames) => ({ type: 'SaveLookupList', projectId: params.id, listId, ...body, otherNames }));
        return { status: 201, body: { id: listId, ...r } };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/projects/:id/lookup-lists/:listId',
      summary: 'Replace a lookup list (name, terms, options)',
      tags: ['heuristics'],
      permission: 'project:heuristics:write',
      params: listParams,
      body: z.object({ name: listName, terms: z.array(z.string().max(1000)).max(100_000), caseInsensitive: z.boolean().optional(), wholeWord: z.boolean().optional() }),
      responses: { 200: { description: 'saved', schema: commandResult } },
      async handler({ params, body, actor }) {
        const exists = (await ctx.store.streamRevision(lookupListStreamId(params.id, params.listId))) !== undefined;
        if (!exists) throw new HttpError(404, 'lookup_list_not_found', `lookup list ${params.listId} does not exist`, { listId: params.listId });
        return { body: await lookupListCommand(ctx, params.id, params.listId, actor, (otherNames) => ({ type: 'SaveLookupList', projectId: params.id, listId: params.listId, ...body, otherNames })) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id/lookup-lists/:listId',
      summary: 'Delete a lookup list',
      tags: ['heuristics'],
      permission: 'project:heuristics:write',
      params: listParams,
      responses: { 200: { description: 'deleted', schema: commandResult } },
      async handler({ params, actor }) {
        return { body: await lookupListCommand(ctx, params.id, params.listId, actor, () => ({ type: 'DeleteLookupList' })) };
      },
    }),
  ];
}
