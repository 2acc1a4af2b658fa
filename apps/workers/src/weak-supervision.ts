import {
  comparePositions,
  heuristicStreamId,
  IdempotencyConflictError,
  parsePosition,
  projectStreamId,
  WrongExpectedRevisionError,
  weakSupervisionStreamId,
  type ArtifactStore,
  type EventStore,
  type HeuristicRunCompleted,
  type NewEvent,
  type Recorded,
  type SqlExecutor,
  type VotesArtifact,
  type WeakSupervisionError,
  type WeakSupervisionRequested,
} from '@refinery/events';
import {
  decideWeakSupervision,
  emptyHeuristic,
  emptyLabelingConfig,
  emptyWeakSupervision,
  evolveHeuristic,
  evolveLabelingConfig,
  evolveWeakSupervision,
  DomainError,
} from '@refinery/domain';
import type { Reactor, ReactorSignal } from '@refinery/projector';
import { deterministicId } from './heuristic-runs.ts';
import { computeWeakLabels, type ReferenceAnswer } from './weak-supervision-fit.ts';

/** Read models a weak-supervision run reads (the records, the reference labels, the heuristics' columns incl. crowd): its `waitFor` must wait for them. */
export const WEAK_SUPERVISION_READS = ['records', 'record_labels', 'heuristics'] as const;

export interface WeakSupervisionReactorOptions {
  db: SqlExecutor;
  store: EventStore;
  artifacts: ArtifactStore;
  /** waits until the records, labels and heuristics (crowd columns) read models have reached a position before a run */
  waitFor?: (position: string) => Promise<void>;
  /** records read per query (default 50,000) */
  readBatch?: number;
  log?: (message: string) => void;
}

const ACTOR = 'worker:weak-supervision';
const AUTO_ACTOR = 'worker:weak-supervision-auto';
const OUTCOMES = ['WeakSupervisionCompleted', 'WeakSupervisionFailed', 'WeakSupervisionSuperseded'];
const before = (a: string, b: string) => comparePositions(parsePosition(a), parsePosition(b)) < 0;

async function appendOnce(store: EventStore, streamId: string, id: string, event: Omit<NewEvent, 'id'>, actor: string, causationId: string): Promise<void> {
  try {
    await store.append(streamId, [{ ...event, id }], { actor, expectedRevision: 'any', causationId });
  } catch (err) {
    // the same id with other content: an earlier attempt got there first
    if (!(err instanceof IdempotencyConflictError)) throw err;
  }
}

/**
 * Runs weak supervision: `WeakSupervisionRequested` → the chosen heuristics' latest completed full
 * runs (their votes artifacts, found in the log) and the task's reference manual labels → the
 * label model → weak labels + confidences as an artifact → `WeakSupervisionCompleted` (or
 * `WeakSupervisionFailed`). An automatic request followed by a later request of the same task is
 * `WeakSupervisionSuperseded` instead of run. Idempotent: a request with an outcome in the log is
 * skipped; outcome events have deterministic ids.
 */
export function weakSupervisionReactor(o: WeakSupervisionReactorOptions): Reactor {
  const readBatch = o.readBatch ?? 50_000;
  const log = o.log ?? ((m: string) => console.error(m));

  async function handle(event: Recorded, signal: ReactorSignal): Promise<void> {
    const e = event as Recorded<WeakSupervisionRequested>;
    const { projectId, taskId, runId } = e.data;
    const streamId = weakSupervisionStreamId(projectId, taskId);
    const history = await o.store.readStream(streamId);
    if (history.some((h) => OUTCOMES.includes(h.type) && (h.data as { runId?: string }).runId === runId)) return;
    const started = Date.now();
    const append = (kind: string, ev: Omit<NewEvent, 'id'>) => appendOnce(o.store, streamId, deterministicId(`ws:${runId}:${kind}`), ev, ACTOR, e.id);
    const fail = (error: WeakSupervisionError) => append('failed', { type: 'WeakSupervisionFailed', data: { projectId, taskId, runId, error, durationMs: Date.now() - started } });

    if (e.data.trigger === 'auto') {
      const later = history.find((h) => h.type === 'WeakSupervisionRequested' && h.revision > e.revision);
      if (later) return append('superseded', { type: 'WeakSupervisionSuperseded', data: { projectId, taskId, runId, by: (later.data as { runId: string }).runId } });
    }

    await o.waitFor?.(e.position);
    const config = (await o.store.readStream(projectStreamId(projectId))).reduce(evolveLabelingConfig, emptyLabelingConfig());
    const task = config.tasks.get(taskId);
    if (!task) return fail({ kind: 'configuration', message: `labeling task ${taskId} no longer exists` });
    const labelIds = [...task.labels.keys()];
    if (labelIds.length === 0) return fail({ kind: 'configuration', message: `task ${task.name} has no labels` });
    if (task.kind === 'span' && !task.attribute) return fail({ kind: 'configuration', message: `span task ${task.name} names no text attribute` });

    try {
      // the votes: each chosen heuristic's latest completed full run, straight from the log
      const heuristics: Array<{ heuristicId: string; runId: string | null; votesArtifact: string | null; votes: VotesArtifact | null }> = [];
      for (const heuristicId of e.data.heuristicIds) {
        const stream = await o.store.readStream(heuristicStreamId(projectId, heuristicId));
        const state = stream.reduce(evolveHeuristic, emptyHeuristic());
        let latest: HeuristicRunCompleted['data'] | undefined;
        for (const h of stream) if (h.type === 'HeuristicRunCompleted' && !(h.data as HeuristicRunCompleted['data']).sample) latest = h.data as HeuristicRunCompleted['data'];
        if (state.status === 'active' && state.taskId === taskId && state.type === 'crowd') {
          // no runs: the column the heuristics projection keeps from the crowd labels, as of the request
          const votes = await crowdVotes(projectId, heuristicId);
          const hash = await o.artifacts.put(Buffer.from(JSON.stringify(votes), 'utf8'), 'application/json');
          heuristics.push({ heuristicId, runId: null, votesArtifact: hash, votes });
          continue;
        }
        if (state.status !== 'active' || state.taskId !== taskId || !latest) {
          heuristics.push({ heuristicId, runId: null, votesArtifact: null, votes: null });
          continue;
        }
        const artifact = await o.artifacts.get(latest.votesArtifact);
        if (!artifact) throw new Error(`votes artifact ${latest.votesArtifact} of heuristic ${heuristicId} is missing`);
        heuristics.push({ heuristicId, runId: latest.runId, votesArtifact: latest.votesArtifact, votes: JSON.parse(Buffer.from(artifact.bytes).toString('utf8')) as VotesArtifact });
      }

      const records = await readRecords(projectId, task.kind === 'span' ? task.attribute : null, signal);
      if (!records) throw new Error('stopped');
      const reference = await readReference(projectId, taskId);
      const result = computeWeakLabels({
        kind: task.kind,
        labelIds,
        model: e.data.model,
        parameters: e.data.parameters,
        recordIds: records.ids,
        ...(task.kind === 'span' ? { texts: records.texts } : {}),
        heuristics: heuristics.map((h) => ({ heuristicId: h.heuristicId, votes: h.votes })),
        reference,
      });
      if (signal.stopped) throw new Error(`weak-supervision run ${runId} interrupted by shutdown; it is repeated on restart`);
      const hash = await o.artifacts.put(Buffer.from(JSON.stringify(result.artifact), 'utf8'), 'application/json');
      await append('completed', {
        type: 'WeakSupervisionCompleted',
        data: {
          projectId,
          taskId,
          runId,
          model: e.data.model,
          parameters: e.data.parameters,
          heuristics: heuristics.map((h) => ({ heuristicId: h.heuristicId, runId: h.runId, votesArtifact: h.votesArtifact, votes: result.votes[h.heuristicId] ?? 0 })),
          resultArtifact: hash,
          counts: result.counts,
          meanConfidence: result.meanConfidence,
          agreement: result.agreement,
          durationMs: Date.now() - started,
        },
      });
    } catch (err) {
      if (signal.stopped) throw err instanceof Error ? err : new Error(String(err));
      log(`weak-supervision run ${runId} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return fail({ kind: 'internal', message: `the run failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  /** A crowd heuristic's votes from the label matrix rows (`rm_heuristic_votes`), as a votes artifact. */
  async function crowdVotes(projectId: string, heuristicId: string): Promise<VotesArtifact> {
    const r = await o.db.query<{ record_id: string; label_id: string }>(
      'select record_id, label_id from rm_heuristic_votes where project_id = $1 and heuristic_id = $2 and label_id is not null order by record_id',
      [projectId, heuristicId],
    );
    return { format: 'refinery.heuristic-votes.v1', kind: 'classification', recordIds: r.rows.map((x) => x.record_id), votes: r.rows.map((x) => x.label_id) };
  }

  /** Record ids (and the span attribute's text) in import order, in keyset pages: no transaction is held. */
  async function readRecords(projectId: string, attribute: string | null, signal: ReactorSignal): Promise<{ ids: string[]; texts: Array<string | null> } | undefined> {
    const ids: string[] = [];
    const texts: Array<string | null> = [];
    let after = '0';
    for (;;) {
      if (signal.stopped) return undefined;
      // a short transaction pins the ordered index scan (read models in PGlite have no planner statistics; see heuristic-runs.ts)
      const r = await o.db.transaction(async (tx) => {
        await tx.exec('set local enable_bitmapscan = off; set local enable_seqscan = off');
        return tx.query<{ s: string | null; v: string | null }>(
          `select max(seq)::text as s, json_agg(json_build_array(id, case when $4::text is null then null else "values"->>$4::text end) order by seq)::text as v
           from (select id, seq, "values" from rm_records where project_id = $1 and seq > $2::bigint order by rm_records.seq limit $3) page`,
          [projectId, after, readBatch, attribute],
        );
      });
      const row = r.rows[0];
      if (!row?.s || !row.v) break;
      for (const [id, text] of JSON.parse(row.v) as Array<[string, string | null]>) {
        ids.push(id);
        texts.push(text);
      }
      after = row.s;
    }
    return { ids, texts };
  }

  async function readReference(projectId: string, taskId: string): Promise<Map<string, ReferenceAnswer>> {
    const r = await o.db.query<{ record_id: string; label_id: string; token_start: number | null; token_end: number | null }>(
      `select record_id, label_id, token_start, token_end from rm_record_labels where project_id = $1 and task_id = $2 and source = 'reference'`,
      [projectId, taskId],
    );
    const out = new Map<string, ReferenceAnswer>();
    for (const row of r.rows) {
      let a = out.get(row.record_id);
      if (!a) out.set(row.record_id, (a = { labelIds: [], spans: [] }));
      if (row.token_start === null) a.labelIds.push(row.label_id);
      else a.spans.push({ labelId: row.label_id, tokenStart: row.token_start, tokenEnd: row.token_end! });
    }
    return out;
  }

  return { name: 'weak_supervision', handles: ['WeakSupervisionRequested'], concurrency: 1, handle };
}

export interface WeakSupervisionAutoRerunOptions {
  db: SqlExecutor;
  store: EventStore;
  /** a change waits this long (ms, default 5,000) so that a burst of changes gives one run */
  debounceMs?: number;
  log?: (message: string) => void;
}

type Trigger = { projectId: string; taskId?: string; heuristicId?: string; sample?: number };

/**
 * Auto re-run: for a task whose configuration has `autoRerun`, a chosen heuristic's completed full
 * run or a change of the task's manual or gold labels appends a `WeakSupervisionRequested`
 * (trigger `auto`) — debounced and coalesced: the request waits `debounceMs` after the change, and
 * a change already followed by a request of the task in the log asks for nothing (that request
 * reads the change). So a burst of labels gives one request per debounce window, and queued
 * automatic requests that a later one covers are superseded by the run reactor.
 * Idempotent: the request's id derives from the triggering event.
 */
export function weakSupervisionAutoRerunReactor(o: WeakSupervisionAutoRerunOptions): Reactor {
  const debounceMs = o.debounceMs ?? 5_000;

  async function tasksFor(e: Recorded): Promise<string[]> {
    const d = e.data as Trigger;
    if (e.type !== 'HeuristicRunCompleted') return d.taskId ? [d.taskId] : [];
    if (d.sample || !d.heuristicId) return [];
    const created = await o.store.readStream(heuristicStreamId(d.projectId, d.heuristicId), { limit: 1 });
    const taskId = (created[0]?.data as { taskId?: string } | undefined)?.taskId;
    return taskId ? [taskId] : [];
  }

  /** Whether the task wants a run for `e`: auto re-run on since before `e`, `e` not already followed by a request. */
  async function wanted(e: Recorded, projectId: string, taskId: string) {
    const stream = await o.store.readStream(weakSupervisionStreamId(projectId, taskId));
    const state = stream.reduce(evolveWeakSupervision, emptyWeakSupervision());
    if (!state.config?.autoRerun || state.config.heuristicIds.length === 0) return undefined;
    if (e.type === 'HeuristicRunCompleted' && !state.config.heuristicIds.includes((e.data as Trigger).heuristicId!)) return undefined;
    let autoSince: string | undefined;
    for (const h of stream) {
      if (h.type !== 'WeakSupervisionConfigured') continue;
      const on = (h.data as { autoRerun: boolean }).autoRerun;
      if (!on) autoSince = undefined;
      else autoSince ??= h.position;
    }
    if (!autoSince || before(e.position, autoSince)) return undefined;
    if (stream.some((h) => h.type === 'WeakSupervisionRequested' && before(e.position, h.position))) return undefined;
    return { state, revision: stream.length ? BigInt(stream.length - 1) : undefined };
  }

  async function handle(e: Recorded, signal: ReactorSignal): Promise<void> {
    const projectId = (e.data as Trigger).projectId;
    for (const taskId of await tasksFor(e)) {
      if (!(await wanted(e, projectId, taskId))) continue;
      const wait = debounceMs - (Date.now() - Date.parse(e.meta.at));
      for (let left = wait; left > 0 && !signal.stopped; left -= 50) await new Promise((r) => setTimeout(r, Math.min(50, left)));
      if (signal.stopped) return; // the runner hands this event over again
      for (let attempt = 0; attempt < 3; attempt++) {
        const w = await wanted(e, projectId, taskId);
        if (!w) break;
        const task = (await o.store.readStream(projectStreamId(projectId))).reduce(evolveLabelingConfig, emptyLabelingConfig()).tasks.get(taskId);
        const available = await o.db.query<{ id: string; task_id: string }>('select id, task_id from rm_heuristics where project_id = $1', [projectId]);
        const heuristics = available.rows.map((h) => ({ id: h.id, taskId: h.task_id }));
        // heuristics deleted since they were chosen are left out; none left: nothing to run
        const heuristicIds = w.state.config!.heuristicIds.filter((id) => heuristics.some((h) => h.id === id && h.taskId === taskId));
        if (heuristicIds.length === 0 || !task) break;
        let events;
        try {
          events = decideWeakSupervision(
            { type: 'RequestWeakSupervision', projectId, taskId, runId: deterministicId(`ws-auto:${taskId}:${e.id}`), task, heuristics, heuristicIds, trigger: 'auto', requestedBy: 'auto' },
            w.state,
          );
        } catch (err) {
          if (err instanceof DomainError) break; // e.g. the run exists: an earlier attempt appended it
          throw err;
        }
        try {
          await o.store.append(
            weakSupervisionStreamId(projectId, taskId),
            events.map((ev, k) => ({ ...ev, id: deterministicId(`ws-auto:${taskId}:${e.id}:${k}`) })),
            { actor: AUTO_ACTOR, expectedRevision: w.revision ?? 'no_stream', causationId: e.id },
          );
          break;
        } catch (err) {
          if (err instanceof IdempotencyConflictError) break;
          if (!(err instanceof WrongExpectedRevisionError)) throw err;
          // someone else wrote to the task's stream: look again
        }
      }
    }
  }

  return {
    name: 'weak_supervision_auto',
    handles: ['HeuristicRunCompleted', 'RecordLabeled', 'GoldLabelSet', 'GoldLabelCleared'],
    concurrency: 1,
    handle,
  };
}
