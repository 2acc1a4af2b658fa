import { createHash } from 'node:crypto';
import {
  heuristicStreamId,
  IdempotencyConflictError,
  projectStreamId,
  type ArtifactStore,
  type EventStore,
  type HeuristicRunError,
  type HeuristicRunRequested,
  type NewEvent,
  type Recorded,
  type SqlExecutor,
  type VotesArtifact,
} from '@refinery/events';
import { emptyHeuristic, emptyLabelingConfig, evolveHeuristic, evolveLabelingConfig, tokenize, type HeuristicState } from '@refinery/domain';
import type { Reactor, ReactorSignal } from '@refinery/projector';
import {
  createLookupListRunner,
  createRunner,
  HeuristicError,
  linesToRecords,
  type HeuristicRunner,
  type RecordLines,
  type SparseVotes,
  type LookupList,
  type PythonPool,
  type SandboxLimits,
  type SandboxRecord,
  type Vote,
} from '@refinery/sandbox';

/** Read models a heuristic run reads: its `waitFor` must wait for them. */
export const HEURISTIC_RUN_READS = ['records', 'heuristics'] as const;

export interface HeuristicRunReactorOptions {
  db: SqlExecutor;
  store: EventStore;
  artifacts: ArtifactStore;
  /** Python heuristics; default: the sandbox's process-wide pool */
  pythonPool?: PythonPool;
  limits?: Partial<SandboxLimits>;
  /** records read per query (default 10,000) and handed to the sandbox per call (default 1,000) */
  readBatch?: number;
  sandboxBatch?: number;
  /** how often progress is appended and cancellation checked (ms) */
  progressIntervalMs?: number;
  cancelCheckMs?: number;
  /** runs handled at once (default 2) */
  concurrency?: number;
  /** waits until these read models have reached a position (records, lookup lists) before a run */
  waitFor?: (position: string) => Promise<void>;
  log?: (message: string) => void;
}

/** A uuid derived from a name (SHA-1, formatted like a v5 uuid): the same run and kind always give the same event id. */
export function deterministicId(name: string): string {
  const h = createHash('sha1').update(`refinery-reactor:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

class Cancelled extends Error {}
class Stopped extends Error {}

const ACTOR = 'worker:heuristic-runs';

/**
 * Runs heuristics: `HeuristicRunRequested` → records of the project in batches through the sandbox
 * → votes artifact → `HeuristicRunCompleted` (or `HeuristicRunFailed` with the user's error).
 * No database transaction is held during a run. Idempotent: a request whose run already has an
 * outcome in the log is skipped; outcome events have deterministic ids.
 */
export function heuristicRunReactor(o: HeuristicRunReactorOptions): Reactor {
  const readBatch = o.readBatch ?? 10_000;
  const sandboxBatch = o.sandboxBatch ?? 1_000;
  const progressMs = o.progressIntervalMs ?? 2_000;
  const cancelMs = o.cancelCheckMs ?? 500;
  const log = o.log ?? ((m: string) => console.error(m));

  async function append(e: Recorded<HeuristicRunRequested>, kind: string, event: Omit<NewEvent, 'id'>): Promise<void> {
    try {
      await o.store.append(e.streamId, [{ ...event, id: deterministicId(`${e.data.runId}:${kind}`) }], { actor: ACTOR, expectedRevision: 'any', causationId: e.id });
    } catch (err) {
      // the same id with other content: an earlier attempt of this run got there first
      if (!(err instanceof IdempotencyConflictError)) throw err;
    }
  }

  async function handle(event: Recorded, signal: ReactorSignal): Promise<void> {
    const e = event as Recorded<HeuristicRunRequested>;
    const { projectId, heuristicId, runId } = e.data;
    const streamId = heuristicStreamId(projectId, heuristicId);
    const history = await o.store.readStream(streamId);
    const finished = history.some((h) => ['HeuristicRunCompleted', 'HeuristicRunFailed', 'HeuristicRunCancelled'].includes(h.type) && (h.data as { runId?: string }).runId === runId);
    if (finished) return;
    const state = history.reduce<HeuristicState>(evolveHeuristic, emptyHeuristic());
    const started = Date.now();
    const cancelled = async () => {
      const later = await o.store.readStream(streamId, { fromRevision: e.revision + 1n });
      return later.some((h) => h.type === 'HeuristicRunCancelled' && (h.data as { runId: string }).runId === runId);
    };
    const fail = async (error: HeuristicRunError) => {
      if (await cancelled()) return; // the cancellation is the outcome
      await append(e, 'failed', { type: 'HeuristicRunFailed', data: { projectId, heuristicId, runId, error, durationMs: Date.now() - started } });
    };
    if (state.status !== 'active') return fail({ kind: 'configuration', message: `heuristic ${heuristicId} was deleted before the run started` });

    await o.waitFor?.(e.position);
    const config = (await o.store.readStream(projectStreamId(projectId))).reduce(evolveLabelingConfig, emptyLabelingConfig());
    const task = config.tasks.get(state.taskId);
    if (!task) return fail({ kind: 'configuration', message: `the labeling task of heuristic ${state.name} no longer exists` });
    const labels = [...task.labels.values()];
    if (labels.length === 0) return fail({ kind: 'configuration', message: `task ${task.name} has no labels` });
    const idByName = new Map(labels.map((l) => [l.name, l.id]));
    const kind = task.kind === 'span' ? 'extraction' : 'classification';
    if (kind === 'extraction' && !task.attribute) return fail({ kind: 'configuration', message: `span task ${task.name} names no text attribute` });

    const lists = await o.db.query<{ id: string; name: string; terms: string[]; case_insensitive: boolean; whole_word: boolean }>(
      'select id, name, terms, case_insensitive, whole_word from rm_lookup_lists where project_id = $1',
      [projectId],
    );
    const lookupLists: Record<string, LookupList> = {};
    for (const l of lists.rows) lookupLists[l.name] = { terms: l.terms, caseInsensitive: l.case_insensitive, wholeWord: l.whole_word };

    let runner: HeuristicRunner;
    let wantsTokens = false;
    try {
      if (state.type === 'labeling_function') {
        const code = state.codeByHash[e.data.codeHash];
        if (!code || !state.language) return fail({ kind: 'configuration', message: `code version ${e.data.codeHash} is unknown` });
        wantsTokens = /\btokens\b/.test(code);
        runner = await createRunner(
          { language: state.language, code, kind, labels: labels.map((l) => l.name), ...(task.attribute ? { targetAttribute: task.attribute } : {}) },
          { lookupLists, ...(o.limits ? { limits: o.limits } : {}), ...(o.pythonPool ? { pythonPool: o.pythonPool } : {}) },
        );
      } else if (state.type === 'lookup_list') {
        const list = lists.rows.find((l) => l.id === state.lookupListId);
        const label = state.labelId ? task.labels.get(state.labelId) : undefined;
        if (!list) return fail({ kind: 'configuration', message: `lookup list ${state.lookupListId} no longer exists` });
        if (!label || !state.attribute) return fail({ kind: 'configuration', message: `label ${state.labelId} no longer exists in task ${task.name}` });
        runner = createLookupListRunner({ kind, label: label.name, attribute: state.attribute, list: lookupLists[list.name]! });
      } else {
        return fail({ kind: 'configuration', message: 'external heuristics are not run' });
      }
    } catch (err) {
      if (err instanceof HeuristicError) return fail(err.toJSON());
      throw err;
    }

    // The records projection keeps the count in the same transaction as the rows (no count(*) scan).
    const totalRow = await o.db.query<{ n: string }>('select record_count::text as n from rm_project_stats where project_id = $1', [projectId]);
    const total = Math.min(Number(totalRow.rows[0]?.n ?? 0), e.data.sample ?? Number.MAX_SAFE_INTEGER);
    const recordIds: string[] = [];
    const votes: VotesArtifact['votes'] = [];
    const byLabel: Record<string, number> = {};
    let done = 0;
    let lastProgress = Date.now();
    let lastCancelCheck = Date.now();

    // A page is one row: the records as lines of `"<id>",{values}` (JSON text has no raw line
    // breaks), built by string_agg. Per-row overhead of the drivers (PGlite's above all) costs more
    // than the text; json_agg(json_build_array(...)) re-rendered every jsonb value and was 2.3×
    // slower. Keyset on seq; no transaction is held across pages.
    // Read models in PGlite have no planner statistics (no autovacuum): without them the planner
    // takes a bitmap scan of every later row plus a sort for each page (quadratic over a run).
    // A short transaction pins the ordered index scan, which stops after `limit` rows.
    type Page = { last: string; count: number; lines: string };
    const readPage = async (afterSeq: string, limit: number): Promise<Page> => {
      const r = await o.db.transaction(async (tx) => {
        await tx.exec('set local enable_bitmapscan = off; set local enable_seqscan = off');
        return tx.query<{ s: string | null; n: number; v: string | null }>(
          `select max(seq)::text as s, count(*)::int as n, string_agg(to_json(id)::text || ',' || "values"::text, E'\\n' order by seq) as v
           from (select id, seq, "values" from rm_records where project_id = $1 and seq > $2 order by rm_records.seq limit $3) page`,
          [projectId, afterSeq, limit],
        );
      });
      const row = r.rows[0];
      if (!row?.s || !row.v) return { last: afterSeq, count: 0, lines: '' };
      return { last: row.s, count: Number(row.n), lines: row.v };
    };
    /** The page cut into batches of `sandboxBatch` lines (no parsing: the sandbox parses them). */
    const batchesOf = (page: Page): RecordLines[] => {
      const out: RecordLines[] = [];
      const text = page.lines;
      let from = 0;
      for (let left = page.count; left > 0; ) {
        const n = Math.min(sandboxBatch, left);
        let at = from - 1;
        for (let k = 0; k < n && at < text.length; k++) {
          at = text.indexOf('\n', at + 1);
          if (at < 0) at = text.length;
        }
        out.push({ text: text.slice(from, at), count: n });
        from = at + 1;
        left -= n;
      }
      return out;
    };
    const toRecords = (lines: RecordLines): SandboxRecord[] => {
      const records = linesToRecords(lines);
      if (wantsTokens) for (const r of records) r.tokens = tokensOf(r.attributes);
      return records;
    };
    // Classification without tokens: the lines go to the sandbox as they are (parsed there, off
    // this thread) and only the votes that are not abstentions come back.
    const runLines = kind === 'classification' && !wantsTokens && runner.runLines ? runner.runLines.bind(runner) : undefined;

    // Pipelining: the batches of a page are handed to the runner at once (the JavaScript runner
    // queues them on its isolate's thread, the Python runner spreads them over the pool's
    // processes) while the next page is read on this thread; results are taken in order. At most
    // about two pages are in flight.
    type InFlight = { count: number; take: () => Promise<void> };
    const inflight: InFlight[] = [];
    let inflightRecords = 0;
    const submit = (lines: RecordLines): void => {
      let take: () => Promise<void>;
      if (runLines) {
        const p = runLines(lines);
        p.catch(() => undefined); // taken (and reported) in order below
        take = async () => collectSparse(await p);
      } else {
        const records = toRecords(lines);
        const p = runner.runBatch(records);
        p.catch(() => undefined);
        take = async () => collect(records, await p);
      }
      inflight.push({ count: lines.count, take });
      inflightRecords += lines.count;
    };
    const takeOldest = async (): Promise<void> => {
      const b = inflight.shift()!;
      inflightRecords -= b.count;
      await b.take();
      done += b.count;
      const now = Date.now();
      if (now - lastCancelCheck >= cancelMs) {
        lastCancelCheck = now;
        if (await cancelled()) throw new Cancelled();
      }
      if (now - lastProgress >= progressMs && done < total) {
        lastProgress = now;
        await append(e, `progress:${done}`, { type: 'HeuristicRunProgressed', data: { projectId, heuristicId, runId, done, total } });
      }
    };

    try {
      let afterSeq = '0';
      let requested = 0;
      const empty: Promise<Page> = Promise.resolve({ last: afterSeq, count: 0, lines: '' });
      let page = total > 0 ? readPage(afterSeq, Math.min(readBatch, total)) : empty;
      page.catch(() => undefined); // awaited below; not unhandled if the run ends early
      while (requested < total) {
        const current = await page;
        if (current.count === 0) break;
        afterSeq = current.last;
        requested += current.count;
        const left = total - requested;
        // read the next page while the sandbox works on this one
        page = left > 0 ? readPage(afterSeq, Math.min(readBatch, left)) : empty;
        page.catch(() => undefined);
        for (const lines of batchesOf(current)) {
          if (signal.stopped) throw new Stopped();
          submit(lines);
        }
        while (inflightRecords > readBatch) await takeOldest();
      }
      while (inflight.length > 0) {
        if (signal.stopped) throw new Stopped();
        await takeOldest();
      }
    } catch (err) {
      inflight.length = 0;
      await runner.close().catch(() => undefined);
      if (err instanceof Cancelled) return; // the cancellation is the outcome
      if (err instanceof Stopped) throw new Error(`run ${runId} interrupted by shutdown; it is repeated on restart`);
      if (err instanceof HeuristicError) return fail(err.toJSON());
      log(`heuristic run ${runId} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return fail({ kind: 'internal', message: `the run failed for a reason outside the heuristic: ${err instanceof Error ? err.message : String(err)}` });
    }
    await runner.close().catch(() => undefined);

    const artifact: VotesArtifact = { format: 'refinery.heuristic-votes.v1', kind, recordIds, votes };
    const hash = await o.artifacts.put(Buffer.from(JSON.stringify(artifact), 'utf8'), 'application/json');
    // a cancellation that arrived during the last batch still wins
    if (await cancelled()) return;
    await append(e, 'completed', {
      type: 'HeuristicRunCompleted',
      data: {
        projectId,
        heuristicId,
        runId,
        codeHash: e.data.codeHash,
        votesArtifact: hash,
        counts: { records: done, votes: recordIds.length, byLabel },
        durationMs: Date.now() - started,
        ...(e.data.sample ? { sample: e.data.sample } : {}),
      },
    });

    function tokensOf(attributes: SandboxRecord['attributes']): NonNullable<SandboxRecord['tokens']> {
      const tokens: NonNullable<SandboxRecord['tokens']> = {};
      for (const [k, v] of Object.entries(attributes)) if (typeof v === 'string') tokens[k] = tokenize(v).map((t) => ({ text: v.slice(t.start, t.end), start: t.start, end: t.end }));
      return tokens;
    }

    function collectSparse(out: SparseVotes): void {
      for (let k = 0; k < out.ids.length; k++) {
        const id = idByName.get(out.labels[k]!);
        if (id === undefined) throw new HeuristicError({ kind: 'invalid_output', message: `record "${out.ids[k]}": unknown label "${out.labels[k]}"`, recordId: out.ids[k]! });
        recordIds.push(out.ids[k]!);
        votes.push(id);
        byLabel[id] = (byLabel[id] ?? 0) + 1;
      }
    }

    function collect(records: SandboxRecord[], out: Vote[]): void {
      for (let k = 0; k < out.length; k++) {
        const v = out[k];
        if (v === null || v === undefined) continue;
        if (typeof v === 'string') {
          const id = idByName.get(v);
          if (id === undefined) throw new HeuristicError({ kind: 'invalid_output', message: `record "${records[k]!.id}": unknown label "${v}"`, recordId: records[k]!.id });
          recordIds.push(records[k]!.id);
          votes.push(id);
          byLabel[id] = (byLabel[id] ?? 0) + 1;
        } else if (v.length > 0) {
          const spans: Array<[string, number, number]> = [];
          for (const s of v) {
            const id = idByName.get(s.label);
            if (id === undefined) throw new HeuristicError({ kind: 'invalid_output', message: `record "${records[k]!.id}": unknown label "${s.label}"`, recordId: records[k]!.id });
            spans.push([id, s.start, s.end]);
            byLabel[id] = (byLabel[id] ?? 0) + 1;
          }
          recordIds.push(records[k]!.id);
          votes.push(spans);
        }
      }
    }
  }

  return { name: 'heuristic_runs', handles: ['HeuristicRunRequested'], concurrency: o.concurrency ?? 2, handle };
}
