/** Calls and types of the metrics and agreement routes (docs/metrics.md). */
import { request } from './client';

export type LabelSource = 'manual' | 'crowd' | 'gold' | 'reference' | 'heuristic' | 'weak_supervision';

/** Which state of the project the figures describe: the live read models, or a past point. */
export interface AsOfPoint {
  live: boolean;
  position: string | null;
  time: string | null;
}

export interface DistributionSeries {
  source: LabelSource;
  sourceId: string | null;
  name: string | null;
  counts: Record<string, number>;
  total: number;
}

export interface ConfusionMatrix {
  source: 'heuristic' | 'weak_supervision';
  sourceId: string | null;
  name: string | null;
  labelIds: string[];
  /** rows: reference label; columns: the source's vote, the last column "no vote" */
  matrix: number[][];
  voted: number;
  correct: number;
}

export interface TaskMetrics {
  taskId: string;
  name: string;
  kind: 'single_label' | 'multi_label' | 'span';
  labels: { id: string; name: string; color: string }[];
  distribution: DistributionSeries[];
  confusion: ConfusionMatrix[];
  confidence: { bins: number; byLabel: Record<string, number[]>; total: number } | null;
}

export interface ProgressPoint {
  taskId: string;
  day: string;
  source: 'manual' | 'gold';
  annotator: string;
  name: string | null;
  answers: number;
}

export interface ProjectMetrics {
  asOf: AsOfPoint;
  tasks: TaskMetrics[];
  progress: ProgressPoint[];
}

export interface SpanCounts {
  matched: number;
  spansA: number;
  spansB: number;
  f1: number | null;
  precision: number | null;
  recall: number | null;
}

export interface Agreement {
  asOf: AsOfPoint;
  taskId: string;
  kind: TaskMetrics['kind'];
  annotators: { id: string; name: string | null; records: number }[];
  records: number;
  nominal: {
    pairs: { a: string; b: string; shared: number; agreements: number; percentAgreement: number | null; cohenKappa: number | null }[];
    fleiss: { kappa: number | null; items: number; ratings: number; observedAgreement: number | null; expectedAgreement: number | null };
    krippendorff: { alpha: number | null; units: number; pairableValues: number; observedDisagreement: number | null; expectedDisagreement: number | null };
  } | null;
  spans: { pairs: { a: string; b: string; records: number; exact: SpanCounts; overlap: SpanCounts }[] } | null;
}

export interface MetricsQuery {
  task?: string | null;
  /** ISO 8601 time: compute on the project as it was then */
  asOf?: string | null;
  after?: string | null;
  signal?: AbortSignal;
}

const enc = encodeURIComponent;

export function getMetrics(projectId: string, query: MetricsQuery = {}): Promise<ProjectMetrics> {
  const { signal, ...q } = query;
  return request<ProjectMetrics>('GET', `/api/projects/${enc(projectId)}/metrics`, { query: q, ...(signal ? { signal } : {}) });
}

export function getAgreement(projectId: string, task: string, query: Omit<MetricsQuery, 'task'> = {}): Promise<Agreement> {
  const { signal, ...q } = query;
  return request<Agreement>('GET', `/api/projects/${enc(projectId)}/agreement`, { query: { task, ...q }, ...(signal ? { signal } : {}) });
}
