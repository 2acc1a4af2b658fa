import type { SqlExecutor, WeakSupervisionModel } from '@refinery/events';

export interface WsConfigView {
  taskId: string;
  heuristicIds: string[];
  model: WeakSupervisionModel;
  autoRerun: boolean;
  minConfidence: number;
  /** null: never configured (these are the defaults) */
  updatedAt: string | null;
  updatedBy: string | null;
}

export const defaultWsConfig = (taskId: string): WsConfigView => ({ taskId, heuristicIds: [], model: 'ours', autoRerun: false, minConfidence: 0, updatedAt: null, updatedBy: null });

export async function getWsConfig(sql: SqlExecutor, projectId: string, taskId: string): Promise<WsConfigView> {
  const r = await sql.query<{ heuristic_ids: string[]; model: WeakSupervisionModel; auto_rerun: boolean; min_confidence: number; updated_at: string | Date; updated_by: string }>(
    'select heuristic_ids, model, auto_rerun, min_confidence, updated_at, updated_by from rm_ws_config where project_id = $1 and task_id = $2',
    [projectId, taskId],
  );
  const row = r.rows[0];
  if (!row) return defaultWsConfig(taskId);
  return {
    taskId,
    heuristicIds: row.heuristic_ids,
    model: row.model,
    autoRerun: row.auto_rerun,
    minConfidence: Number(row.min_confidence),
    updatedAt: new Date(row.updated_at).toISOString(),
    updatedBy: row.updated_by,
  };
}

/** The configured minimum export confidence per task (tasks never configured are absent: no minimum). */
export async function wsMinConfidences(sql: SqlExecutor, projectId: string): Promise<Map<string, number>> {
  const r = await sql.query<{ task_id: string; min_confidence: number }>('select task_id, min_confidence from rm_ws_config where project_id = $1', [projectId]);
  return new Map(r.rows.map((row) => [row.task_id, Number(row.min_confidence)]));
}

export interface WsRunView {
  runId: string;
  taskId: string;
  model: WeakSupervisionModel;
  heuristicIds: string[];
  parameters: Record<string, unknown>;
  trigger: 'manual' | 'auto';
  status: 'requested' | 'completed' | 'failed' | 'superseded';
  requestedAt: string;
  requestedBy: string;
  finishedAt: string | null;
  durationMs: number | null;
  heuristics: Array<{ heuristicId: string; runId: string | null; votesArtifact: string | null; votes: number }> | null;
  counts: { records: number; covered: number; labeled: number; manual: number; byLabel: Record<string, number> } | null;
  resultArtifact: string | null;
  meanConfidence: number | null;
  agreement: Record<string, number | null> | null;
  error: { kind: string; message: string } | null;
  supersededBy: string | null;
  /** whether its weak labels are the ones shown now */
  current: boolean;
}

interface RunRow {
  run_id: string;
  task_id: string;
  model: WeakSupervisionModel;
  heuristic_ids: string[];
  parameters: Record<string, unknown>;
  trigger: WsRunView['trigger'];
  status: WsRunView['status'];
  requested_at: string | Date;
  requested_by: string;
  finished_at: string | Date | null;
  duration_ms: number | null;
  heuristics: WsRunView['heuristics'];
  counts: WsRunView['counts'];
  result_artifact: string | null;
  mean_confidence: number | null;
  agreement: WsRunView['agreement'];
  error: WsRunView['error'];
  superseded_by: string | null;
  current: boolean;
}

const RUN_COLUMNS = `r.run_id::text, r.task_id, r.model, r.heuristic_ids, r.parameters, r.trigger, r.status, r.requested_at, r.requested_by, r.finished_at, r.duration_ms,
  r.heuristics, r.counts, r.result_artifact, r.mean_confidence, r.agreement, r.error, r.superseded_by::text,
  exists (select 1 from rm_ws_current c where c.project_id = r.project_id and c.task_id = r.task_id and c.run_id = r.run_id) as current`;

function runView(r: RunRow): WsRunView {
  return {
    runId: r.run_id,
    taskId: r.task_id,
    model: r.model,
    heuristicIds: r.heuristic_ids,
    parameters: r.parameters,
    trigger: r.trigger,
    status: r.status,
    requestedAt: new Date(r.requested_at).toISOString(),
    requestedBy: r.requested_by,
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    heuristics: r.heuristics,
    counts: r.counts,
    resultArtifact: r.result_artifact,
    meanConfidence: r.mean_confidence === null ? null : Number(r.mean_confidence),
    agreement: r.agreement,
    error: r.error,
    supersededBy: r.superseded_by,
    current: r.current,
  };
}

/** Runs of a task, newest first. */
export async function listWsRuns(sql: SqlExecutor, projectId: string, taskId: string, limit = 50): Promise<WsRunView[]> {
  const r = await sql.query<RunRow>(`select ${RUN_COLUMNS} from rm_ws_runs r where r.project_id = $1 and r.task_id = $2 order by r.seq desc limit $3`, [projectId, taskId, limit]);
  return r.rows.map(runView);
}

export async function getWsRun(sql: SqlExecutor, projectId: string, runId: string): Promise<WsRunView | undefined> {
  const r = await sql.query<RunRow>(`select ${RUN_COLUMNS} from rm_ws_runs r where r.project_id = $1 and r.run_id = $2`, [projectId, runId]);
  return r.rows[0] ? runView(r.rows[0]) : undefined;
}

export interface WeakLabelView {
  taskId: string;
  runId: string;
  labelId: string;
  confidence: number;
  /** spans only */
  span: { start: number; end: number; tokenStart: number; tokenEnd: number } | null;
}

/** A record's current weak labels with their confidence, per task. */
export async function getRecordWeakLabels(sql: SqlExecutor, projectId: string, recordId: string): Promise<WeakLabelView[]> {
  const r = await sql.query<{ task_id: string; annotator: string; label_id: string; confidence: number | null; span_start: number | null; span_end: number | null; token_start: number | null; token_end: number | null }>(
    `select task_id, annotator, label_id, confidence, span_start, span_end, token_start, token_end from rm_record_labels
     where project_id = $1 and record_id = $2 and source = 'weak_supervision' order by task_id, span_start nulls first, confidence desc, label_id`,
    [projectId, recordId],
  );
  return r.rows.map((row) => ({
    taskId: row.task_id,
    runId: row.annotator,
    labelId: row.label_id,
    confidence: Number(row.confidence ?? 0),
    span: row.span_start === null ? null : { start: row.span_start, end: row.span_end!, tokenStart: row.token_start!, tokenEnd: row.token_end! },
  }));
}

export interface WsLabelScore {
  labelId: string;
  /** reference and weak label agree (spans: same label and exact boundaries) */
  tp: number;
  /** weak label without that reference label */
  fp: number;
  /** reference label the weak labels missed */
  fn: number;
  precision: number | null;
  recall: number | null;
}

export interface WsConfusionView {
  taskId: string;
  kind: 'single_label' | 'multi_label' | 'span';
  /** label ids in task order: the rows and columns of `matrix` */
  labelIds: string[];
  /** records with a reference manual label */
  compared: number;
  /** of those, records with a weak label */
  withWeakLabel: number;
  /**
   * single_label only: matrix[i][j] = records whose reference is labelIds[i] and whose weak label is
   * labelIds[j]; the extra last column counts records without a weak label.
   */
  matrix: number[][] | null;
  /** single_label: share of compared records whose weak label equals the reference (records without one count as wrong); null when nothing is compared */
  accuracy: number | null;
  perLabel: WsLabelScore[];
}

/**
 * Weak labels against the reference manual labels (gold, else a single or unanimous answer) on
 * the records that have a reference. Reads only those records' rows.
 */
export async function getWsConfusion(sql: SqlExecutor, projectId: string, task: { id: string; kind: WsConfusionView['kind']; labelIds: string[] }): Promise<WsConfusionView> {
  const r = await sql.query<{ source: string; record_id: string; label_id: string; span_start: number | null; span_end: number | null }>(
    `select l.source, l.record_id, l.label_id, l.span_start, l.span_end from rm_record_labels l
     where l.project_id = $1 and l.task_id = $2 and l.source in ('reference', 'weak_supervision')
       and l.record_id in (select x.record_id from rm_reference x where x.project_id = $1 and x.task_id = $2 and x.basis is not null)`,
    [projectId, task.id],
  );
  const key = (row: { label_id: string; span_start: number | null; span_end: number | null }) => (row.span_start === null ? row.label_id : `${row.label_id}\u0000${row.span_start}\u0000${row.span_end}`);
  const byRecord = new Map<string, { ref: Set<string>; weak: Set<string> }>();
  for (const row of r.rows) {
    let e = byRecord.get(row.record_id);
    if (!e) byRecord.set(row.record_id, (e = { ref: new Set(), weak: new Set() }));
    (row.source === 'reference' ? e.ref : e.weak).add(key(row));
  }
  const records = [...byRecord.values()].filter((e) => e.ref.size > 0);
  const index = new Map(task.labelIds.map((id, i) => [id, i]));
  const scores = new Map(task.labelIds.map((id) => [id, { labelId: id, tp: 0, fp: 0, fn: 0 }]));
  const labelOf = (k: string) => k.split('\u0000')[0]!;
  for (const e of records) {
    for (const k of e.weak) {
      const s = scores.get(labelOf(k));
      if (!s) continue;
      if (e.ref.has(k)) s.tp++;
      else s.fp++;
    }
    for (const k of e.ref) {
      const s = scores.get(labelOf(k));
      if (s && !e.weak.has(k)) s.fn++;
    }
  }
  let matrix: number[][] | null = null;
  let accuracy: number | null = null;
  if (task.kind === 'single_label') {
    const K = task.labelIds.length;
    matrix = Array.from({ length: K }, () => new Array<number>(K + 1).fill(0));
    let correct = 0;
    for (const e of records) {
      const ref = index.get([...e.ref][0]!);
      if (ref === undefined) continue;
      const weak = e.weak.size ? index.get([...e.weak][0]!) : undefined;
      matrix[ref]![weak ?? K]!++;
      if (weak === ref) correct++;
    }
    accuracy = records.length ? correct / records.length : null;
  }
  const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
  return {
    taskId: task.id,
    kind: task.kind,
    labelIds: task.labelIds,
    compared: records.length,
    withWeakLabel: records.filter((e) => e.weak.size > 0).length,
    matrix,
    accuracy,
    perLabel: [...scores.values()].map((s) => ({ ...s, precision: ratio(s.tp, s.tp + s.fp), recall: ratio(s.tp, s.tp + s.fn) })),
  };
}
