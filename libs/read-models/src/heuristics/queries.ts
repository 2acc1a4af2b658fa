import type { HeuristicRunError, SqlExecutor } from '@refinery/events';
import { computeColumnStats, type HeuristicStats } from '@refinery/domain';
import { loadHeuristicColumns, recordIndex } from './columns.ts';
import { getLabelingConfig } from '../labeling/queries.ts';

export interface RunView {
  runId: string;
  heuristicId: string;
  codeHash: string;
  sample: number | null;
  status: 'requested' | 'running' | 'completed' | 'failed' | 'cancelled';
  done: number;
  total: number | null;
  requestedAt: string;
  requestedBy: string;
  finishedAt: string | null;
  durationMs: number | null;
  counts: { records: number; votes: number; byLabel: Record<string, number> } | null;
  votesArtifact: string | null;
  error: HeuristicRunError | null;
}

export interface HeuristicView {
  id: string;
  taskId: string;
  name: string;
  description: string;
  type: 'labeling_function' | 'lookup_list' | 'external' | 'crowd';
  language: 'javascript' | 'typescript' | 'python' | null;
  code: string | null;
  codeHash: string | null;
  lookupListId: string | null;
  labelId: string | null;
  attribute: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  /** the run whose votes are in the label matrix */
  currentRunId: string | null;
  latestRun: RunView | null;
}

export interface LookupListView {
  id: string;
  name: string;
  terms: string[];
  caseInsensitive: boolean;
  wholeWord: boolean;
  updatedAt: string;
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

interface RunRow {
  project_id: string;
  heuristic_id: string;
  run_id: string;
  code_hash: string;
  sample: number | null;
  status: RunView['status'];
  done: string;
  total: string | null;
  requested_at: unknown;
  requested_by: string;
  finished_at: unknown;
  duration_ms: number | null;
  counts: RunView['counts'];
  votes_artifact: string | null;
  error: HeuristicRunError | null;
}
const RUN_COLUMNS = `project_id, heuristic_id, run_id::text, code_hash, sample, status, done::text, total::text, requested_at, requested_by, finished_at, duration_ms, counts, votes_artifact, error`;

function runView(r: RunRow): RunView {
  return {
    runId: r.run_id,
    heuristicId: r.heuristic_id,
    codeHash: r.code_hash,
    sample: r.sample,
    status: r.status,
    done: Number(r.done),
    total: r.total === null ? null : Number(r.total),
    requestedAt: iso(r.requested_at),
    requestedBy: r.requested_by,
    finishedAt: r.finished_at ? iso(r.finished_at) : null,
    durationMs: r.duration_ms,
    counts: r.counts,
    votesArtifact: r.votes_artifact,
    error: r.error,
  };
}

export async function listHeuristics(sql: SqlExecutor, projectId: string, heuristicId?: string): Promise<HeuristicView[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `select id, task_id, name, description, type, language, code, code_hash, lookup_list_id, label_id, attribute, created_at, created_by, updated_at, current_run_id::text
     from rm_heuristics where project_id = $1 ${heuristicId !== undefined ? 'and id = $2' : ''} order by seq`,
    heuristicId !== undefined ? [projectId, heuristicId] : [projectId],
  );
  const runs = await sql.query<RunRow>(
    `select distinct on (heuristic_id) ${RUN_COLUMNS} from rm_heuristic_runs where project_id = $1 ${heuristicId !== undefined ? 'and heuristic_id = $2' : ''}
     order by heuristic_id, requested_at desc, run_id`,
    heuristicId !== undefined ? [projectId, heuristicId] : [projectId],
  );
  const latest = new Map(runs.rows.map((r) => [r.heuristic_id, runView(r)]));
  return rows.rows.map((h) => ({
    id: h.id as string,
    taskId: h.task_id as string,
    name: h.name as string,
    description: h.description as string,
    type: h.type as HeuristicView['type'],
    language: (h.language as HeuristicView['language']) ?? null,
    code: (h.code as string | null) ?? null,
    codeHash: (h.code_hash as string | null) ?? null,
    lookupListId: (h.lookup_list_id as string | null) ?? null,
    labelId: (h.label_id as string | null) ?? null,
    attribute: (h.attribute as string | null) ?? null,
    createdAt: iso(h.created_at),
    createdBy: h.created_by as string,
    updatedAt: iso(h.updated_at),
    currentRunId: (h.current_run_id as string | null) ?? null,
    latestRun: latest.get(h.id as string) ?? null,
  }));
}

export async function getHeuristicRun(sql: SqlExecutor, projectId: string, heuristicId: string, runId: string): Promise<RunView | undefined> {
  const r = await sql.query<RunRow>(`select ${RUN_COLUMNS} from rm_heuristic_runs where project_id = $1 and heuristic_id = $2 and run_id::text = $3`, [projectId, heuristicId, runId]);
  return r.rows[0] ? runView(r.rows[0]) : undefined;
}

export async function listHeuristicRuns(sql: SqlExecutor, projectId: string, heuristicId: string, limit = 50): Promise<RunView[]> {
  const r = await sql.query<RunRow>(`select ${RUN_COLUMNS} from rm_heuristic_runs where project_id = $1 and heuristic_id = $2 order by requested_at desc, run_id limit $3`, [
    projectId,
    heuristicId,
    limit,
  ]);
  return r.rows.map(runView);
}

export async function listLookupLists(sql: SqlExecutor, projectId: string): Promise<LookupListView[]> {
  const r = await sql.query<{ id: string; name: string; terms: string[]; case_insensitive: boolean; whole_word: boolean; updated_at: unknown }>(
    'select id, name, terms, case_insensitive, whole_word, updated_at from rm_lookup_lists where project_id = $1 order by name',
    [projectId],
  );
  return r.rows.map((l) => ({ id: l.id, name: l.name, terms: l.terms, caseInsensitive: l.case_insensitive, wholeWord: l.whole_word, updatedAt: iso(l.updated_at) }));
}

export type MatrixVote = string | Array<{ labelId: string; start: number; end: number }> | null;
export interface LabelMatrixPage {
  heuristics: Array<{ id: string; name: string; taskId: string; currentRunId: string | null }>;
  rows: Array<{ recordId: string; votes: Record<string, MatrixVote> }>;
  /** pass as ?cursor= for the next page; null at the end */
  nextCursor: string | null;
  total: number;
}

/** The label matrix, one row per record in import order (abstain = null), paged by the record's position. */
export async function getLabelMatrix(sql: SqlExecutor, projectId: string, page: { taskId?: string; cursor?: bigint; limit: number }): Promise<LabelMatrixPage> {
  const hs = await sql.query<{ id: string; name: string; task_id: string; current_run_id: string | null }>(
    `select id, name, task_id, current_run_id::text from rm_heuristics where project_id = $1 ${page.taskId ? 'and task_id = $2' : ''} order by seq`,
    page.taskId ? [projectId, page.taskId] : [projectId],
  );
  // Pin the ordered index scan: without planner statistics (PGlite) a deep page is otherwise a
  // bitmap scan of every later record plus a sort.
  const records = await sql.transaction(async (tx) => {
    await tx.exec('set local enable_bitmapscan = off; set local enable_seqscan = off');
    return tx.query<{ id: string; seq: string }>(`select id, seq::text from rm_records where project_id = $1 and seq > $2 order by rm_records.seq limit $3`, [
      projectId,
      (page.cursor ?? 0n).toString(),
      page.limit + 1,
    ]);
  });
  const more = records.rows.length > page.limit;
  const rows = records.rows.slice(0, page.limit);
  const ids = new Set(hs.rows.map((h) => h.id));
  const votes = new Map<string, Record<string, MatrixVote>>();
  for (const r of rows) {
    const v: Record<string, MatrixVote> = {};
    for (const h of hs.rows) v[h.id] = null;
    votes.set(r.id, v);
  }
  if (rows.length && ids.size) {
    const v = await sql.query<{ record_id: string; heuristic_id: string; label_id: string | null; spans: Array<[string, number, number]> | null }>(
      `select record_id, heuristic_id, label_id, spans from rm_heuristic_votes
       where project_id = $1 and record_id in (select jsonb_array_elements_text($2::jsonb))`,
      [projectId, JSON.stringify(rows.map((r) => r.id))],
    );
    for (const row of v.rows) {
      if (!ids.has(row.heuristic_id)) continue;
      const target = votes.get(row.record_id);
      if (target) target[row.heuristic_id] = row.spans ? row.spans.map(([labelId, start, end]) => ({ labelId, start, end })) : row.label_id;
    }
  }
  const total = await sql.query<{ n: string }>('select record_count::text as n from rm_project_stats where project_id = $1', [projectId]);
  return {
    heuristics: hs.rows.map((h) => ({ id: h.id, name: h.name, taskId: h.task_id, currentRunId: h.current_run_id })),
    rows: rows.map((r) => ({ recordId: r.id, votes: votes.get(r.id)! })),
    nextCursor: more ? rows[rows.length - 1]!.seq : null,
    total: Number(total.rows[0]?.n ?? 0),
  };
}

export interface HeuristicStatsView extends Omit<HeuristicStats, 'byLabel'> {
  heuristicId: string;
  byLabel: Record<string, HeuristicStats['byLabel'][number]>;
}

/**
 * Statistics of every heuristic of the project against all records and the reference labels
 * (classification tasks; for span tasks a record counts as voted with the label of its first span).
 * Reads the compact columns (`rm_heuristic_columns`), not the vote rows: a handful of rows per
 * request however many records and votes.
 */
export async function getHeuristicStats(sql: SqlExecutor, projectId: string): Promise<Map<string, HeuristicStatsView>> {
  const out = new Map<string, HeuristicStatsView>();
  const config = await getLabelingConfig(sql, projectId);
  const total = await sql.query<{ n: string }>('select record_count::text as n from rm_project_stats where project_id = $1', [projectId]);
  const hs = await sql.query<{ id: string; task_id: string }>('select id, task_id from rm_heuristics where project_id = $1 order by seq', [projectId]);
  if (hs.rows.length === 0) return out;
  const stored = new Map((await loadHeuristicColumns(sql, projectId)).map((c) => [c.heuristicId, c]));
  const index = await recordIndex(sql, projectId, Number(total.rows[0]?.n ?? 0));
  for (const task of config.tasks) {
    const heuristics = hs.rows.filter((h) => h.task_id === task.id).map((h) => h.id);
    if (heuristics.length === 0) continue;
    const labelIndex = new Map(task.labels.map((l, i) => [l.id, i]));
    const cols = heuristics.map((id) => {
      const c = stored.get(id);
      if (!c || c.taskId !== task.id) return { records: new Int32Array(0), labels: new Int32Array(0) };
      const byCode = Int32Array.from(c.labels, (l) => labelIndex.get(l) ?? -1);
      // keep votes on known records with labels still in the task (positions → dense indices in one pass)
      return index.mapVotes(c.seqs, c.codes, byCode);
    });
    // reference labels as two aggregated values (positions, label ids): one row, not one per record
    // PGlite has no planner statistics: without this each of the reference rows is looked up by a
    // bitmap heap scan (about twice the time of an index scan)
    const refs = await sql.transaction(async (tx) => {
      await tx.exec('set local enable_bitmapscan = off');
      return tx.query<{ s: string | null; l: string | null }>(
      `select string_agg(seq::text, ',' order by seq) as s, json_agg(label_id order by seq)::text as l from (
         select r.seq, min(x.label_id) as label_id from rm_record_labels x join rm_records r on r.project_id = x.project_id and r.id = x.record_id
         where x.project_id = $1 and x.task_id = $2 and x.source = 'reference' group by r.seq) ref`,
      [projectId, task.id],
      );
    });
    const reference = new Int32Array(index.n).fill(-1);
    const refRow = refs.rows[0];
    if (refRow?.s && refRow.l) {
      const refLabels = JSON.parse(refRow.l) as string[];
      const positions = index.map(Float64Array.from(refRow.s.split(','), Number));
      for (let k = 0; k < positions.length; k++) {
        const i = positions[k]!;
        const l = labelIndex.get(refLabels[k]!);
        if (i >= 0 && l !== undefined) reference[i] = l;
      }
    }
    const stats = computeColumnStats(index.n, task.labels.length, cols, reference);
    heuristics.forEach((id, h) => {
      const s = stats[h]!;
      out.set(id, { ...s, heuristicId: id, byLabel: Object.fromEntries(task.labels.map((l, i) => [l.id, s.byLabel[i]!])) });
    });
  }
  return out;
}
