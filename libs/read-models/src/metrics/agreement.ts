import type { SqlExecutor } from '@refinery/events';
import {
  agreementReport,
  MISSING,
  pairwiseSpanAgreement,
  ratingMatrix,
  type AgreementSpan,
  type FleissResult,
  type KrippendorffResult,
  type RatingMatrix,
  type SpanAgreementCounts,
} from '@refinery/weak-supervision';
import { getLabelingConfig, type TaskView } from '../labeling/queries.ts';
import { sourceNames } from './queries.ts';

/** Separators that cannot occur in ids (record ids and label ids are printable text). */
const UNIT = '\u001f';
const LABELS = '\u001e';

export interface AnnotatorRatings {
  /** annotator user ids, one matrix row each (sorted) */
  annotators: string[];
  /** record ids, one matrix column each */
  recordIds: string[];
  /** the category of code `c`: the label ids of an answer (one for single-label tasks, sorted) */
  categories: string[][];
  /** annotator × record codes, `MISSING` where the annotator did not label the record */
  matrix: RatingMatrix;
}

/**
 * The manual classification answers of a task as a dense rating matrix (typed array), for the
 * agreement statistics. The database groups the rows per annotator into two long strings (record
 * ids and answers, in the same order), so a million labels cross the wire as a handful of values
 * instead of a million rows. A multi-label answer is one category: its sorted set of label ids.
 */
export async function loadAnnotatorRatings(sql: SqlExecutor, projectId: string, taskId: string): Promise<AnnotatorRatings> {
  const r = await sql.query<{ annotator: string; records: string; answers: string }>(
    `select annotator, string_agg(record_id, E'\\x1f') as records, string_agg(answer, E'\\x1f') as answers
     from (
       select annotator, record_id, string_agg(label_id, E'\\x1e' order by label_id) as answer
       from rm_record_labels
       where project_id = $1 and task_id = $2 and source = 'manual' and span_start is null
       group by annotator, record_id
     ) a
     group by annotator order by annotator`,
    [projectId, taskId],
  );
  const annotators = r.rows.map((row) => row.annotator);
  const recordIndex = new Map<string, number>();
  const categoryIndex = new Map<string, number>();
  const perAnnotator: { items: Int32Array; codes: Int32Array }[] = [];
  for (const row of r.rows) {
    const records = row.records.split(UNIT);
    const answers = row.answers.split(UNIT);
    const items = new Int32Array(records.length);
    const codes = new Int32Array(records.length);
    for (let k = 0; k < records.length; k++) {
      const id = records[k]!;
      let i = recordIndex.get(id);
      if (i === undefined) recordIndex.set(id, (i = recordIndex.size));
      const answer = answers[k]!;
      let c = categoryIndex.get(answer);
      if (c === undefined) categoryIndex.set(answer, (c = categoryIndex.size));
      items[k] = i;
      codes[k] = c;
    }
    perAnnotator.push({ items, codes });
  }
  const n = recordIndex.size;
  const codes = new Int32Array(annotators.length * n).fill(MISSING);
  perAnnotator.forEach((a, row) => {
    const base = row * n;
    for (let k = 0; k < a.items.length; k++) codes[base + a.items[k]!] = a.codes[k]!;
  });
  return {
    annotators,
    recordIds: [...recordIndex.keys()],
    categories: [...categoryIndex.keys()].map((key) => key.split(LABELS)),
    matrix: ratingMatrix(codes, annotators.length, n, Math.max(1, categoryIndex.size)),
  };
}

/**
 * The manual span answers of a task per annotator and record: `annotations[a][i]` are annotator
 * `a`'s spans on record `i`, `undefined` when `a` marked nothing there (an empty answer is no
 * answer, as for the reference label).
 */
export async function loadAnnotatorSpans(sql: SqlExecutor, projectId: string, taskId: string): Promise<{ annotators: string[]; recordIds: string[]; annotations: (AgreementSpan[] | undefined)[][] }> {
  const spans = await sql.query<{ annotator: string; record_id: string; label_id: string; span_start: number; span_end: number }>(
    `select annotator, record_id, label_id, span_start, span_end from rm_record_labels
     where project_id = $1 and task_id = $2 and source = 'manual' and span_start is not null`,
    [projectId, taskId],
  );
  const annotators = [...new Set(spans.rows.map((r) => r.annotator))].sort();
  const aIndex = new Map(annotators.map((a, i) => [a, i]));
  const recordIndex = new Map<string, number>();
  const annotations: (AgreementSpan[] | undefined)[][] = annotators.map(() => []);
  const slot = (annotator: string, recordId: string) => {
    let i = recordIndex.get(recordId);
    if (i === undefined) recordIndex.set(recordId, (i = recordIndex.size));
    const row = annotations[aIndex.get(annotator)!]!;
    return (row[i] ??= []);
  };
  for (const r of spans.rows) slot(r.annotator, r.record_id).push({ label: r.label_id, start: r.span_start, end: r.span_end });
  for (const row of annotations) row.length = recordIndex.size;
  return { annotators, recordIds: [...recordIndex.keys()], annotations };
}

export interface AnnotatorView {
  id: string;
  name: string | null;
  /** records this annotator answered */
  records: number;
}

export interface PairAgreementView {
  a: string;
  b: string;
  /** records both labeled */
  shared: number;
  agreements: number;
  percentAgreement: number | null;
  cohenKappa: number | null;
}

export interface SpanPairAgreementView {
  a: string;
  b: string;
  /** records both answered */
  records: number;
  exact: SpanAgreementCounts;
  overlap: SpanAgreementCounts;
}

export interface AgreementView {
  taskId: string;
  kind: TaskView['kind'];
  annotators: AnnotatorView[];
  /** records with at least one manual answer */
  records: number;
  /** classification tasks: pairwise percent agreement and Cohen's κ, Fleiss' κ, Krippendorff's α (nominal) */
  nominal: { pairs: PairAgreementView[]; fleiss: FleissResult; krippendorff: KrippendorffResult } | null;
  /** span tasks: pairwise exact-match and overlap F1 */
  spans: { pairs: SpanPairAgreementView[] } | null;
}

/** Inter-annotator agreement of a task's manual labels; undefined when the task does not exist. */
export async function getAgreement(sql: SqlExecutor, projectId: string, taskId: string): Promise<AgreementView | undefined> {
  const task = (await getLabelingConfig(sql, projectId)).tasks.find((t) => t.id === taskId);
  if (!task) return undefined;
  if (task.kind === 'span') {
    const { annotators, recordIds, annotations } = await loadAnnotatorSpans(sql, projectId, taskId);
    const names = await sourceNames(sql, projectId, annotators, []);
    return {
      taskId,
      kind: task.kind,
      annotators: annotators.map((id, a) => ({ id, name: names.get(id) ?? null, records: annotations[a]!.reduce((n, x) => (x ? n + 1 : n), 0) })),
      records: recordIds.length,
      nominal: null,
      spans: { pairs: pairwiseSpanAgreement(annotations).map((p) => ({ a: annotators[p.a]!, b: annotators[p.b]!, records: p.items, exact: p.exact, overlap: p.overlap })) },
    };
  }
  const ratings = await loadAnnotatorRatings(sql, projectId, taskId);
  const { annotators, matrix } = ratings;
  const names = await sourceNames(sql, projectId, annotators, []);
  const report = agreementReport(matrix);
  const answered = annotators.map((_, a) => {
    let n = 0;
    for (let i = a * matrix.items, end = i + matrix.items; i < end; i++) if (matrix.codes[i] !== MISSING) n++;
    return n;
  });
  return {
    taskId,
    kind: task.kind,
    annotators: annotators.map((id, a) => ({ id, name: names.get(id) ?? null, records: answered[a]! })),
    records: matrix.items,
    nominal: {
      pairs: report.pairs.map((p) => ({ a: annotators[p.a]!, b: annotators[p.b]!, shared: p.shared, agreements: p.agreements, percentAgreement: p.percentAgreement, cohenKappa: p.cohenKappa })),
      fleiss: report.fleiss,
      krippendorff: report.krippendorff,
    },
    spans: null,
  };
}
