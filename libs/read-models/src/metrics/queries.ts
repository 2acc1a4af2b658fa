import type { SqlExecutor } from '@refinery/events';
import { getLabelingConfig, type TaskView } from '../labeling/queries.ts';

/** Where a label comes from (the `source` column of `rm_record_labels`; `crowd`: answers through crowd links, by pseudonym). */
export type LabelSource = 'manual' | 'crowd' | 'gold' | 'reference' | 'heuristic' | 'weak_supervision';
export const LABEL_SOURCES: readonly LabelSource[] = ['manual', 'crowd', 'gold', 'reference', 'heuristic', 'weak_supervision'];

export interface DistributionView {
  source: LabelSource;
  /** the annotator (manual), pseudonym (crowd) or heuristic id (heuristic); null for sources that are one series */
  sourceId: string | null;
  /** display name of the annotator or heuristic, when known */
  name: string | null;
  /** labels (classification) or spans (extraction) per label id */
  counts: Record<string, number>;
  total: number;
}

export interface ConfusionView {
  /** the labels compared against the reference */
  source: 'heuristic' | 'weak_supervision';
  sourceId: string | null;
  name: string | null;
  /** row and column order: the task's label ids; the last column is "abstained" (no vote) */
  labelIds: string[];
  /** `matrix[r][c]`: records whose reference is `labelIds[r]` and whose vote is `labelIds[c]`; `c = labelIds.length` = no vote */
  matrix: number[][];
  /** records with a reference label that this source voted on */
  voted: number;
  /** of those, votes equal to the reference */
  correct: number;
}

export interface ConfidenceHistogramView {
  /** equal-width bins over [0, 1]; bin i holds confidence in [i/bins, (i+1)/bins) (the last includes 1) */
  bins: number;
  /** per label id, counts per bin */
  byLabel: Record<string, number[]>;
  total: number;
}

export interface TaskMetricsView {
  taskId: string;
  name: string;
  kind: TaskView['kind'];
  labels: { id: string; name: string; color: string }[];
  distribution: DistributionView[];
  /** classification tasks only (empty for span tasks) */
  confusion: ConfusionView[];
  /** null when the task has no weak-supervision labels with a confidence */
  confidence: ConfidenceHistogramView | null;
}

export interface ProgressView {
  taskId: string;
  /** UTC day of the events, YYYY-MM-DD */
  day: string;
  source: 'manual' | 'gold';
  annotator: string;
  name: string | null;
  /** answers given that day (a changed answer counts again) */
  answers: number;
}

export interface ProjectMetricsView {
  tasks: TaskMetricsView[];
  progress: ProgressView[];
}

export interface MetricsOptions {
  /** only this task */
  taskId?: string;
  /** bins of the confidence histogram (default 10) */
  confidenceBins?: number;
  /**
   * reuse figures computed at the same checkpoints of the read models behind them (default true);
   * false where rows change without a projection checkpoint moving (tests that apply events by hand)
   */
  cache?: boolean;
}

const toInt = (v: string | number) => (typeof v === 'number' ? v : Number(v));

/**
 * Label distribution, confusion matrices, the weak-supervision confidence histogram and progress
 * over time of a project (or one task). Every figure is one SQL aggregate over the read model, so
 * this runs on the live database and on a time-travel copy alike.
 */
export async function getProjectMetrics(sql: SqlExecutor, projectId: string, options: MetricsOptions = {}): Promise<ProjectMetricsView> {
  if (options.confidenceBins !== undefined && (!Number.isInteger(options.confidenceBins) || options.confidenceBins < 2 || options.confidenceBins > 100)) {
    throw new RangeError(`confidenceBins must be an integer from 2 to 100, got ${options.confidenceBins}`);
  }
  if (options.cache === false) return computeProjectMetrics(sql, projectId, options);
  // The figures change only when a read model behind them advances, and a projection writes its
  // rows and its checkpoint in one transaction: the checkpoints are the cache key.
  const checkpoints = await sql.query<{ c: string | null }>(
    `select string_agg(name || '@' || version || '@' || checkpoint, ',' order by name) as c from projection_checkpoints where name = any($1::text[])`,
    [METRICS_SOURCES],
  );
  const key = `${projectId}|${options.taskId ?? ''}|${options.confidenceBins ?? 10}|${checkpoints.rows[0]?.c ?? ''}`;
  let cache = metricsCache.get(sql);
  if (!cache) metricsCache.set(sql, (cache = new Map()));
  const hit = cache.get(key);
  if (hit) return structuredClone(await hit);
  const computed = computeProjectMetrics(sql, projectId, options);
  cache.set(key, computed);
  computed.catch(() => cache.delete(key));
  // a small LRU: the newest keys of a database stay
  if (cache.size > METRICS_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return structuredClone(await computed);
}

/** read models the metrics are computed from (their checkpoints key the cache) */
const METRICS_SOURCES = ['labeling_config', 'record_labels', 'heuristics', 'weak_supervision', 'metrics', 'identity'];
const METRICS_CACHE_SIZE = 32;
const metricsCache = new WeakMap<SqlExecutor, Map<string, Promise<ProjectMetricsView>>>();

async function computeProjectMetrics(sql: SqlExecutor, projectId: string, options: MetricsOptions): Promise<ProjectMetricsView> {
  const config = await getLabelingConfig(sql, projectId);
  const tasks = options.taskId === undefined ? config.tasks : config.tasks.filter((t) => t.id === options.taskId);
  const taskFilter = options.taskId === undefined ? '' : ' and task_id = $2';
  const params = options.taskId === undefined ? [projectId] : [projectId, options.taskId];
  const bins = options.confidenceBins ?? 10;

  const [distribution, confusion, confidence, progress] = await Promise.all([
    sql.query<{ task_id: string; source: LabelSource; source_id: string | null; label_id: string; n: string | number }>(
      `select task_id, source, case when source in ('manual', 'crowd', 'heuristic') then annotator end as source_id, label_id, count(*) as n
       from rm_record_labels where project_id = $1${taskFilter}
       group by 1, 2, 3, 4`,
      params,
    ),
    // One vote per record and source (heuristics vote one label; the label model predicts one).
    sql.query<{ task_id: string; source: 'heuristic' | 'weak_supervision'; source_id: string | null; reference: string; predicted: string; n: string | number }>(
      `select r.task_id, v.source, case when v.source = 'heuristic' then v.annotator end as source_id, r.label_id as reference, v.label_id as predicted, count(*) as n
       from rm_record_labels r
       join rm_record_labels v on v.project_id = r.project_id and v.task_id = r.task_id and v.record_id = r.record_id
         and v.source in ('heuristic', 'weak_supervision') and v.span_start is null
       where r.project_id = $1${taskFilter.replace('task_id', 'r.task_id')} and r.source = 'reference' and r.span_start is null
       group by 1, 2, 3, 4, 5`,
      params,
    ),
    sql.query<{ task_id: string; label_id: string; bin: number; n: string | number }>(
      `select task_id, label_id, least(greatest(floor(confidence * ${bins})::int, 0), ${bins - 1}) as bin, count(*) as n
       from rm_record_labels where project_id = $1${taskFilter} and source = 'weak_supervision' and confidence is not null
       group by 1, 2, 3`,
      params,
    ),
    sql.query<{ task_id: string; day: string; source: 'manual' | 'gold'; annotator: string; answers: number }>(
      `select task_id, to_char(day, 'YYYY-MM-DD') as day, source, annotator, answers from rm_label_activity
       where project_id = $1${taskFilter} order by day, source, annotator, task_id`,
      params,
    ),
  ]);

  const names = await sourceNames(
    sql,
    projectId,
    [...distribution.rows.filter((r) => r.source === 'manual').map((r) => r.source_id!), ...progress.rows.map((r) => r.annotator)],
    distribution.rows.filter((r) => r.source === 'heuristic').map((r) => r.source_id!),
  );

  const out: TaskMetricsView[] = tasks.map((task) => {
    const labelIds = task.labels.map((l) => l.id);
    const series = new Map<string, DistributionView>();
    for (const r of distribution.rows) {
      if (r.task_id !== task.id) continue;
      const key = `${r.source}\u0000${r.source_id ?? ''}`;
      let s = series.get(key);
      if (!s) {
        s = { source: r.source, sourceId: r.source_id, name: r.source_id === null ? null : (names.get(r.source_id) ?? null), counts: {}, total: 0 };
        series.set(key, s);
      }
      s.counts[r.label_id] = toInt(r.n);
      s.total += toInt(r.n);
    }
    const dist = [...series.values()].sort((a, b) => LABEL_SOURCES.indexOf(a.source) - LABEL_SOURCES.indexOf(b.source) || (a.name ?? a.sourceId ?? '').localeCompare(b.name ?? b.sourceId ?? ''));
    const referenceCounts = dist.find((d) => d.source === 'reference')?.counts ?? {};

    const matrices = new Map<string, ConfusionView>();
    if (task.kind !== 'span') {
      for (const r of confusion.rows) {
        if (r.task_id !== task.id) continue;
        const ri = labelIds.indexOf(r.reference);
        const ci = labelIds.indexOf(r.predicted);
        if (ri < 0 || ci < 0) continue;
        const key = `${r.source}\u0000${r.source_id ?? ''}`;
        let m = matrices.get(key);
        if (!m) {
          m = {
            source: r.source,
            sourceId: r.source_id,
            name: r.source_id === null ? null : (names.get(r.source_id) ?? null),
            labelIds,
            matrix: labelIds.map(() => new Array<number>(labelIds.length + 1).fill(0)),
            voted: 0,
            correct: 0,
          };
          matrices.set(key, m);
        }
        m.matrix[ri]![ci]! += toInt(r.n);
        m.voted += toInt(r.n);
        if (ri === ci) m.correct += toInt(r.n);
      }
      // Heuristics that never met a reference label still get a matrix (all abstained).
      for (const d of dist) {
        if (d.source !== 'heuristic' && d.source !== 'weak_supervision') continue;
        const key = `${d.source}\u0000${d.sourceId ?? ''}`;
        if (!matrices.has(key)) {
          matrices.set(key, { source: d.source, sourceId: d.sourceId, name: d.name, labelIds, matrix: labelIds.map(() => new Array<number>(labelIds.length + 1).fill(0)), voted: 0, correct: 0 });
        }
      }
      for (const m of matrices.values()) {
        m.matrix.forEach((row, ri) => {
          const voted = row.slice(0, labelIds.length).reduce((a, b) => a + b, 0);
          row[labelIds.length] = Math.max(0, (referenceCounts[labelIds[ri]!] ?? 0) - voted);
        });
      }
    }

    let hist: ConfidenceHistogramView | null = null;
    for (const r of confidence.rows) {
      if (r.task_id !== task.id) continue;
      hist ??= { bins, byLabel: {}, total: 0 };
      const counts = (hist.byLabel[r.label_id] ??= new Array<number>(bins).fill(0));
      counts[r.bin] = toInt(r.n);
      hist.total += toInt(r.n);
    }

    return {
      taskId: task.id,
      name: task.name,
      kind: task.kind,
      labels: task.labels.map((l) => ({ id: l.id, name: l.name, color: l.color })),
      distribution: dist,
      confusion: [...matrices.values()].sort((a, b) => (a.source === b.source ? (a.name ?? '').localeCompare(b.name ?? '') : a.source === 'weak_supervision' ? -1 : 1)),
      confidence: hist,
    };
  });

  const taskIds = new Set(tasks.map((t) => t.id));
  return {
    tasks: out,
    progress: progress.rows
      .filter((r) => taskIds.has(r.task_id))
      .map((r) => ({ taskId: r.task_id, day: r.day, source: r.source, annotator: r.annotator, name: names.get(r.annotator) ?? null, answers: r.answers })),
  };
}

/** Display names of users (by id) and heuristics (by id) of the project. */
export async function sourceNames(sql: SqlExecutor, projectId: string, userIds: readonly string[], heuristicIds: readonly string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const users = [...new Set(userIds)].filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  if (users.length) {
    const r = await sql.query<{ id: string; display_name: string }>(`select id::text, display_name from rm_users where id in (select jsonb_array_elements_text($1::jsonb)::uuid)`, [JSON.stringify(users)]);
    for (const u of r.rows) names.set(u.id, u.display_name);
  }
  const hs = [...new Set(heuristicIds)];
  if (hs.length) {
    const r = await sql.query<{ id: string; name: string }>(`select id, name from rm_heuristics where project_id = $1 and id in (select jsonb_array_elements_text($2::jsonb))`, [projectId, JSON.stringify(hs)]);
    for (const h of r.rows) names.set(h.id, h.name);
  }
  return names;
}
