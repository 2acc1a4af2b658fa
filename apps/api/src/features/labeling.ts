import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { PostgresEventStore, projectStreamId, recordStreamId, WrongExpectedRevisionError, type Event, type EventStore, type ProjectEvent, type Recorded } from '@refinery/events';
import {
  assertProjectActive,
  decideLabelingConfig,
  decideRecordLabels,
  emptyLabelingConfig,
  emptyRecordLabels,
  evolveLabelingConfig,
  evolveRecordLabels,
  projectDecider,
  requireTask,
  tokenize,
  type LabelingConfig,
  type LabelingConfigCommand,
  type ProjectState,
  type RecordLabelCommand,
  type RecordLabelsState,
} from '@refinery/domain';
import { getLabelingConfig, getProject, getRecord, getRecordAndStreamRevision, getRecordLabelsView, type RecordView } from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute, type Permission } from '../http/routes.ts';
import { afterQuery, readAfter } from './consistency.ts';
import { commandResult, loadProject } from './projects.ts';

const LABELING_VIEWS = ['labeling_config'];
const RECORD_LABEL_VIEWS = ['record_labels'];

const projectParams = z.object({ id: z.uuid() });
const taskParams = projectParams.extend({ taskId: z.string().min(1).max(64) });
const labelParams = taskParams.extend({ labelId: z.string().min(1).max(64) });
const recordParams = projectParams.extend({ recordId: z.string().min(1).max(512) });
const expectedRevision = z.string().regex(/^\d+$/).optional().describe('the revision the client saw; a stale one is refused with 409');

const labelView = z.object({ id: z.string(), name: z.string(), color: z.string(), hotkey: z.string().nullable(), description: z.string() });
const taskView = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['single_label', 'multi_label', 'span']),
  attribute: z.string().nullable(),
  allowOverlap: z.boolean(),
  labels: z.array(labelView),
});
const spanInput = z.object({ labelId: z.string().min(1).max(64), start: z.number().int(), end: z.number().int() });
const spanView = spanInput.extend({ tokenStart: z.number().int(), tokenEnd: z.number().int() });
const answerView = z.object({
  taskId: z.string(),
  source: z.enum(['manual', 'gold', 'reference']),
  annotator: z.string(),
  labelIds: z.array(z.string()),
  spans: z.array(spanView),
  labeledAt: z.string(),
});
const answerBody = z.object({
  labelIds: z.array(z.string().min(1).max(64)).max(1000).optional(),
  spans: z.array(spanInput).max(10_000).optional(),
  expectedRevision,
});

/** Config commands append to the project stream; without an expected revision a race is retried once. */
async function configCommand(ctx: ApiContext, projectId: string, actor: string, build: (attributes: { name: string; type: 'text' | 'category' | 'integer' | 'float' | 'boolean' }[]) => LabelingConfigCommand, expected?: string) {
  for (let attempt = 0; ; attempt++) {
    const { state, config, revision } = await loadProject(ctx.store, projectId);
    assertProjectActive(state, projectId);
    const attributes = (await getProject(ctx.db, projectId))?.attributes ?? [];
    const events = decideLabelingConfig(build(attributes), config);
    if (events.length === 0) return { revision: (revision ?? -1n).toString(), position: await ctx.store.head() };
    try {
      const r = await ctx.store.append(projectStreamId(projectId), events, { actor, expectedRevision: expected !== undefined ? BigInt(expected) : revision! });
      return { revision: r.revision.toString(), position: r.position };
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError) || expected !== undefined || attempt > 0) throw err;
    }
  }
}

interface Folded<S> {
  /** the stream's last revision folded in; undefined: no stream yet */
  revision: bigint | undefined;
  state: S;
}

/**
 * Recently used streams folded to their state, bounded (least recently used out first). An
 * entry may be stale when another API process appended: callers re-validate by revision (the
 * project stream) or let the append's expected-revision check find out (record streams).
 */
class FoldedStreams<S> {
  private readonly entries = new Map<string, Folded<S>>();

  constructor(
    private readonly initial: () => S,
    private readonly evolve: (state: S, event: Recorded) => S,
    private readonly capacity: number,
  ) {}

  get(streamId: string): Folded<S> | undefined {
    const entry = this.entries.get(streamId);
    if (entry) {
      this.entries.delete(streamId);
      this.entries.set(streamId, entry);
    }
    return entry;
  }

  set(streamId: string, entry: Folded<S>): void {
    this.entries.delete(streamId);
    this.entries.set(streamId, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Reads what was appended after `from` (everything without it) and folds it in. */
  async catchUp(store: EventStore, streamId: string, from: Folded<S> | undefined): Promise<Folded<S>> {
    const past = await store.readStream(streamId, from?.revision !== undefined ? { fromRevision: from.revision + 1n } : {});
    const base = from?.revision !== undefined ? from : { revision: undefined, state: this.initial() };
    const next = past.length ? { revision: past[past.length - 1]!.revision, state: past.reduce(this.evolve, base.state) } : base;
    this.set(streamId, next);
    return next;
  }

  /** Applies events this process just appended (revision = the last of them). */
  advance(streamId: string, from: Folded<S>, events: readonly Event[], revision: bigint, actor: string): void {
    const at = new Date().toISOString();
    const state = events.reduce((s, e) => this.evolve(s, { ...e, meta: { actor, at, schema: 0 } } as unknown as Recorded), from.state);
    this.set(streamId, { revision, state });
  }
}

interface ProjectFold {
  project: ProjectState;
  config: LabelingConfig;
}

/**
 * What a label write needs, cached per API process: a label write used to re-read the project
 * stream twice and the record stream once (16 queries per PUT). Now the project stream costs one
 * revision lookup while unchanged, and the record stream nothing: its cached revision is the
 * append's expected revision, so a stale cache shows up as a conflict and is re-read.
 */
export class LabelingState {
  private readonly projects = new FoldedStreams<ProjectFold>(
    () => ({ project: projectDecider.initialState, config: emptyLabelingConfig() }),
    (s, e) => ({ project: projectDecider.evolve(s.project, e as unknown as ProjectEvent), config: evolveLabelingConfig(s.config, e) }),
    1_000,
  );
  private readonly records = new FoldedStreams<RecordLabelsState>(emptyRecordLabels, evolveRecordLabels, 20_000);

  constructor(private readonly ctx: Pick<ApiContext, 'store' | 'db' | 'live'>) {}

  /** The project and its labeling configuration, current as of the project stream's revision now. */
  async project(projectId: string, known?: { revision: bigint | undefined }): Promise<ProjectFold> {
    const streamId = projectStreamId(projectId);
    const cached = this.projects.get(streamId);
    const revision = known ? known.revision : await this.ctx.store.streamRevision(streamId);
    if (cached && cached.revision === revision) return cached.state;
    const usable = cached && cached.revision !== undefined && revision !== undefined && cached.revision < revision ? cached : undefined;
    return (await this.projects.catchUp(this.ctx.store, streamId, usable)).state;
  }

  /**
   * What a label write on a record reads first: the project (its stream revision) and the record,
   * in one query where the log is in this database.
   */
  async projectAndRecord(projectId: string, recordId: string): Promise<{ fold: ProjectFold; record: RecordView | undefined }> {
    if (this.ctx.store instanceof PostgresEventStore) {
      const { record, streamRevision } = await getRecordAndStreamRevision(this.ctx.db, projectId, recordId, projectStreamId(projectId));
      return { fold: await this.project(projectId, { revision: streamRevision }), record };
    }
    const [fold, record] = await Promise.all([this.project(projectId), getRecord(this.ctx.db, projectId, recordId)]);
    return { fold, record };
  }

  /** Label commands append to the record's own stream, checked against the project's configuration. */
  async recordCommand(
    projectId: string,
    recordId: string,
    actor: string,
    build: (text: (attribute: string | null) => string | null) => RecordLabelCommand,
    expected?: string,
    /** the project and record as this request already read them (`projectAndRecord`) */
    read?: { fold: ProjectFold; record: RecordView | undefined },
  ) {
    const { store, db } = this.ctx;
    const { project, config } = read?.fold ?? (await this.project(projectId));
    assertProjectActive(project, projectId);
    const record = read ? read.record : await getRecord(db, projectId, recordId);
    if (!record) throw new HttpError(404, 'record_not_found', `record ${recordId} does not exist in project ${projectId}`, { projectId, recordId });
    const text = (attribute: string | null) => {
      const value = attribute ? record.values[attribute] : undefined;
      return typeof value === 'string' ? value : null;
    };
    const command = build(text);
    const streamId = recordStreamId(projectId, recordId);
    let current = this.records.get(streamId);
    // A cached state may be behind another process's appends: every outcome that depends on it
    // (a stale-revision refusal, a decision error, "nothing changed", a conflicting append) is
    // checked against a fresh read before it is answered.
    // Not cached: assume the stream is new (a record's first label, the common case while
    // labeling) and let the append's `no_stream` check say otherwise — a record that has labels
    // costs one refused append and a read, a new one no read at all.
    let fresh = false;
    current ??= { revision: undefined, state: emptyRecordLabels() };
    for (;;) {
      const state: Folded<RecordLabelsState> = current;
      const reread = async () => {
        current = await this.records.catchUp(store, streamId, state);
        fresh = true;
      };
      if (expected !== undefined && BigInt(expected) !== (state.revision ?? -1n)) {
        if (!fresh) {
          await reread();
          continue;
        }
        throw new WrongExpectedRevisionError(streamId, BigInt(expected), state.revision);
      }
      let events: Event[];
      try {
        events = decideRecordLabels(command, state.state, config) as Event[];
      } catch (err) {
        if (fresh) throw err;
        await reread();
        continue;
      }
      if (events.length === 0) {
        if (!fresh) {
          await reread();
          continue;
        }
        return { revision: (state.revision ?? -1n).toString(), position: await store.head() };
      }
      try {
        const r = await store.append(streamId, events, { actor, expectedRevision: state.revision ?? 'no_stream' });
        this.records.advance(streamId, state, events, r.revision, actor);
        this.ctx.live?.labelsCommitted(projectId, recordId, events, r.revision, record.seq);
        return { revision: r.revision.toString(), position: r.position };
      } catch (err) {
        if (fresh || !(err instanceof WrongExpectedRevisionError)) throw err;
        await reread();
      }
    }
  }
}

export function labelingRoutes(ctx: ApiContext): AnyRoute[] {
  const labeling = new LabelingState(ctx);

  /** PUT of a whole answer (the caller's labels, or the gold decision) for one task on a record. */
  const answerRoute = (
    kind: 'labels' | 'gold',
    spec: {
      summary: string;
      description?: string;
      permission: Permission;
      command: (
        params: { projectId: string; recordId: string; taskId: string },
        answer: { labelIds: string[]; spans: { labelId: string; start: number; end: number }[]; text: string | null },
        actor: string,
      ) => RecordLabelCommand;
    },
  ) =>
    defineRoute({
      method: 'put',
      path: `/api/projects/:id/records/:recordId/${kind}/:taskId`,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: ['labeling'],
      permission: spec.permission,
      params: recordParams.extend({ taskId: z.string().min(1).max(64) }),
      body: answerBody,
      responses: { 200: { description: 'stored', schema: commandResult } },
      async handler({ params, body, actor }) {
        const read = await labeling.projectAndRecord(params.id, params.recordId);
        const task = requireTask(read.fold.config, params.id, params.taskId);
        return {
          body: await labeling.recordCommand(
            params.id,
            params.recordId,
            actor,
            (text) =>
              spec.command(
                { projectId: params.id, recordId: params.recordId, taskId: task.id },
                { labelIds: body.labelIds ?? [], spans: body.spans ?? [], text: text(task.attribute) },
                actor,
              ),
            body.expectedRevision,
            read,
          ),
        };
      },
    });

  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/tasks',
      summary: 'Labeling tasks with their labels, and labeling settings',
      tags: ['labeling'],
      permission: 'project:read',
      params: projectParams,
      query: z.object({ after: afterQuery }),
      responses: { 200: { description: 'the configuration', schema: z.object({ tasks: z.array(taskView), blindLabeling: z.boolean() }) } },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, LABELING_VIEWS);
        return { body: await getLabelingConfig(ctx.db, params.id) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/tasks',
      summary: 'Add a labeling task',
      description: 'single_label and multi_label classify the record (or one of its attributes); span marks character ranges of a text attribute.',
      tags: ['labeling'],
      permission: 'project:write',
      params: projectParams,
      body: z.object({
        name: z.string().trim().min(1).max(100),
        kind: z.enum(['single_label', 'multi_label', 'span']),
        attribute: z.string().min(1).max(200).nullable().optional(),
        allowOverlap: z.boolean().optional(),
      }),
      responses: { 201: { description: 'added', schema: commandResult.extend({ id: z.string() }) } },
      async handler({ params, body, actor }) {
        const taskId = randomUUID();
        const r = await configCommand(ctx, params.id, actor, (attributes) => ({
          type: 'AddLabelingTask',
          projectId: params.id,
          taskId,
          name: body.name,
          kind: body.kind,
          attribute: body.attribute ?? null,
          allowOverlap: body.allowOverlap ?? false,
          attributes,
        }));
        return { status: 201, body: { id: taskId, ...r } };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/projects/:id/tasks/:taskId',
      summary: 'Rename a labeling task',
      tags: ['labeling'],
      permission: 'project:write',
      params: taskParams,
      body: z.object({ name: z.string().trim().min(1).max(100), expectedRevision }),
      responses: { 200: { description: 'renamed', schema: commandResult } },
      async handler({ params, body, actor }) {
        return { body: await configCommand(ctx, params.id, actor, () => ({ type: 'RenameLabelingTask', projectId: params.id, taskId: params.taskId, name: body.name }), body.expectedRevision) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id/tasks/:taskId',
      summary: 'Remove a labeling task and its labels from the read models',
      tags: ['labeling'],
      permission: 'project:write',
      params: taskParams,
      responses: { 200: { description: 'removed', schema: commandResult } },
      async handler({ params, actor }) {
        return { body: await configCommand(ctx, params.id, actor, () => ({ type: 'RemoveLabelingTask', projectId: params.id, taskId: params.taskId })) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/tasks/:taskId/labels',
      summary: 'Add a label to a task',
      tags: ['labeling'],
      permission: 'project:write',
      params: taskParams,
      body: z.object({
        name: z.string().trim().min(1).max(100),
        color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a color like #1f77b4').optional(),
        hotkey: z.string().regex(/^[a-z0-9]$/, 'one lowercase letter or digit').nullable().optional(),
        description: z.string().max(2000).optional(),
      }),
      responses: { 201: { description: 'added', schema: commandResult.extend({ id: z.string() }) } },
      async handler({ params, body, actor }) {
        const labelId = randomUUID();
        const r = await configCommand(ctx, params.id, actor, () => ({
          type: 'AddLabel',
          projectId: params.id,
          taskId: params.taskId,
          labelId,
          name: body.name,
          ...(body.color ? { color: body.color.toLowerCase() } : {}),
          ...(body.hotkey !== undefined ? { hotkey: body.hotkey } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
        }));
        return { status: 201, body: { id: labelId, ...r } };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/projects/:id/tasks/:taskId/labels/:labelId',
      summary: 'Rename or restyle a label (existing labels follow)',
      tags: ['labeling'],
      permission: 'project:write',
      params: labelParams,
      body: z.object({
        name: z.string().trim().min(1).max(100).optional(),
        color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a color like #1f77b4').optional(),
        hotkey: z.string().regex(/^[a-z0-9]$/, 'one lowercase letter or digit').nullable().optional(),
        description: z.string().max(2000).optional(),
        expectedRevision,
      }),
      responses: { 200: { description: 'changed', schema: commandResult } },
      async handler({ params, body, actor }) {
        const { expectedRevision: expected, ...change } = body;
        return {
          body: await configCommand(
            ctx,
            params.id,
            actor,
            () => ({ type: 'ChangeLabel', projectId: params.id, taskId: params.taskId, labelId: params.labelId, ...change, ...(change.color ? { color: change.color.toLowerCase() } : {}) }),
            expected,
          ),
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id/tasks/:taskId/labels/:labelId',
      summary: 'Delete a label; its assignments disappear from the read models',
      tags: ['labeling'],
      permission: 'project:write',
      params: labelParams,
      responses: { 200: { description: 'deleted', schema: commandResult } },
      async handler({ params, actor }) {
        return { body: await configCommand(ctx, params.id, actor, () => ({ type: 'RemoveLabel', projectId: params.id, taskId: params.taskId, labelId: params.labelId })) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/tasks/:taskId/labels/merge',
      summary: 'Merge labels into one; existing assignments follow',
      tags: ['labeling'],
      permission: 'project:write',
      params: taskParams,
      body: z.object({ sourceLabelIds: z.array(z.string().min(1).max(64)).min(1).max(100), targetLabelId: z.string().min(1).max(64) }),
      responses: { 200: { description: 'merged', schema: commandResult } },
      async handler({ params, body, actor }) {
        return {
          body: await configCommand(ctx, params.id, actor, () => ({ type: 'MergeLabels', projectId: params.id, taskId: params.taskId, sourceLabelIds: body.sourceLabelIds, targetLabelId: body.targetLabelId })),
        };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/projects/:id/labeling-settings',
      summary: 'Labeling settings (blind labeling)',
      tags: ['labeling'],
      permission: 'project:write',
      params: projectParams,
      body: z.object({ blindLabeling: z.boolean() }),
      responses: { 200: { description: 'changed', schema: commandResult } },
      async handler({ params, body, actor }) {
        return { body: await configCommand(ctx, params.id, actor, () => ({ type: 'ChangeLabelingSettings', projectId: params.id, blindLabeling: body.blindLabeling })) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/records/:recordId/tokens',
      summary: 'Tokens of a text attribute (character offsets, end exclusive)',
      tags: ['labeling'],
      permission: 'project:read',
      params: recordParams,
      query: z.object({ attribute: z.string().min(1).max(200), after: afterQuery }),
      responses: {
        200: {
          description: 'the tokens',
          schema: z.object({ attribute: z.string(), text: z.string(), tokens: z.array(z.object({ index: z.number(), start: z.number(), end: z.number(), text: z.string() })) }),
        },
      },
      async handler({ params, query }) {
        await readAfter(ctx, query.after, ['records']);
        const record = await getRecord(ctx.db, params.id, params.recordId);
        if (!record) throw new HttpError(404, 'record_not_found', `record ${params.recordId} does not exist in project ${params.id}`, params);
        const text = record.values[query.attribute];
        if (typeof text !== 'string') {
          throw new HttpError(422, 'not_a_text', `attribute "${query.attribute}" of this record is not text`, {
            attribute: query.attribute,
            allowed: Object.entries(record.values).filter(([, v]) => typeof v === 'string').map(([k]) => k),
          });
        }
        const tokens = tokenize(text).map((t, index) => ({ index, start: t.start, end: t.end, text: text.slice(t.start, t.end) }));
        return { body: { attribute: query.attribute, text, tokens } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/records/:recordId/labels',
      summary: "A record's labels by source (manual per annotator, gold, reference) and its comments",
      description: 'Under blind labeling, callers who may not decide gold labels see only their own manual labels.',
      tags: ['labeling'],
      permission: 'project:read',
      params: recordParams,
      query: z.object({ after: afterQuery }),
      responses: {
        200: {
          description: 'labels, reference status, comments and the stream revision',
          schema: z.object({
            revision: z.string().nullable(),
            answers: z.array(answerView),
            reference: z.array(z.object({ taskId: z.string(), basis: z.enum(['gold', 'single', 'unanimous']).nullable(), disagreement: z.boolean(), annotators: z.number() })),
            comments: z.array(z.object({ id: z.string(), author: z.string(), body: z.string(), createdAt: z.string() })),
          }),
        },
      },
      async handler({ params, query, actor, can }) {
        await readAfter(ctx, query.after, RECORD_LABEL_VIEWS);
        const streamId = recordStreamId(params.id, params.recordId);
        // The log's `streams` table is in this database (PostgreSQL store): the revision comes with the view.
        const logHere = ctx.store instanceof PostgresEventStore;
        const { streamRevision, ...view } = await getRecordLabelsView(ctx.db, params.id, params.recordId, {
          viewer: actor,
          seesEveryone: await can('project:gold'),
          ...(logHere ? { streamRevisionOf: streamId } : {}),
        });
        const revision = logHere ? (streamRevision ?? null) : ((await ctx.store.streamRevision(streamId))?.toString() ?? null);
        return { body: { revision, ...view } };
      },
    }),
    answerRoute('labels', {
      summary: "Set the caller's labels for one task on a record",
      description: "Replaces the caller's previous answer; an empty answer clears it. Classification: labelIds; span tasks: spans with character offsets.",
      permission: 'project:label',
      command: (params, body, actor) => ({ type: 'LabelRecord', ...params, annotator: actor, ...body }),
    }),
    answerRoute('gold', {
      summary: 'Decide the gold (reference) label where annotators disagree',
      permission: 'project:gold',
      command: (params, body) => ({ type: 'SetGoldLabel', ...params, ...body }),
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id/records/:recordId/gold/:taskId',
      summary: 'Clear a gold decision',
      tags: ['labeling'],
      permission: 'project:gold',
      params: recordParams.extend({ taskId: z.string().min(1).max(64) }),
      responses: { 200: { description: 'cleared', schema: commandResult } },
      async handler({ params, actor }) {
        return { body: await labeling.recordCommand(params.id, params.recordId, actor, () => ({ type: 'ClearGoldLabel', projectId: params.id, recordId: params.recordId, taskId: params.taskId })) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/projects/:id/records/:recordId/comments',
      summary: 'Comment on a record (markdown, rendered safely by clients)',
      tags: ['labeling'],
      permission: 'project:label',
      params: recordParams,
      body: z.object({ body: z.string().trim().min(1, 'a comment needs text').max(10_000) }),
      responses: { 201: { description: 'commented', schema: commandResult.extend({ id: z.uuid() }) } },
      async handler({ params, body, actor }) {
        const commentId = randomUUID();
        const r = await labeling.recordCommand(params.id, params.recordId, actor, () => ({ type: 'CommentRecord', projectId: params.id, recordId: params.recordId, commentId, body: body.body }));
        return { status: 201, body: { id: commentId, ...r } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/projects/:id/records/:recordId/comments/:commentId',
      summary: 'Delete a comment (its author, or someone who may change the project)',
      tags: ['labeling'],
      permission: 'project:label',
      params: recordParams.extend({ commentId: z.uuid() }),
      responses: { 200: { description: 'deleted', schema: commandResult } },
      async handler({ params, actor, can }) {
        const mayDeleteOthers = await can('project:write');
        return {
          body: await labeling.recordCommand(params.id, params.recordId, actor, () => ({
            type: 'DeleteRecordComment',
            projectId: params.id,
            recordId: params.recordId,
            commentId: params.commentId,
            actor,
            mayDeleteOthers,
          })),
        };
      },
    }),
  ];
}
