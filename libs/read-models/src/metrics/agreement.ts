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

/** Separator that cannot occur in record ids (printable text). */
const UNIT = '\u001f';

export interface AnnotatorRatings {
  /** annotator user ids, one matrix row each (sorted) */
  annotators: string[];
  /** record ids, one matrix column each */
  recordIds: string[];
  /** the category of code `c`: the task's labels first (one id each), then label sets of multi-label answers */
  categories: string[][];
  /** annotator × record codes, `MISSING` where the annotator did not label the record */
  matrix: RatingMatrix;
}

/**
 * The manual (and crowd) classification answers of a task as a dense rating matrix (typed array), for the
 * agreement statistics. One query per annotator (run concurrently; each an index range of the
 * metrics index) returns two long strings: the record ids and the label numbers (positions in the
 * task's label list), so a million labels cross the wire as a handful of values instead of a
 * million rows, and the label ids never need to be looked up. A multi-label answer is one
 * category: its sorted set of label ids.
 */
export async function loadAnnotatorRatings(sql: SqlExecutor, projectId: string, taskId: string, labelIds?: readonly string[]): Promise<AnnotatorRatings> {
  const labels = labelIds ?? (await getLabelingConfig(sql, projectId)).tasks.find((t) => t.id === taskId)?.labels.map((l) => l.id) ?? [];
  // the task's annotators by a skip scan of the index (a few probes, not a scan of the labels)
  // (once per source: people's `manual` answers and the pseudonyms' `crowd` answers, see docs/crowd.md)
  const bySource = await Promise.all(
    (['manual', 'crowd'] as const).map(async (source) => {
      const a = await sql.query<{ annotator: string }>(
        `with recursive a as (
           (select annotator from rm_record_labels where project_id = $1 and task_id = $2 and source = $3 order by annotator limit 1)
           union all
           select (select r.annotator from rm_record_labels r where r.project_id = $1 and r.task_id = $2 and r.source = $3 and r.annotator > a.annotator order by r.annotator limit 1)
           from a where a.annotator is not null
         )
         select annotator from a where annotator is not null`,
        [projectId, taskId, source],
      );
      return a.rows.map((r) => ({ annotator: r.annotator, source }));
    }),
  );
  const sources = bySource.flat().sort((x, y) => (x.annotator < y.annotator ? -1 : x.annotator > y.annotator ? 1 : 0));
  const annotators = sources.map((r) => r.annotator);
  const rows = await Promise.all(
    sources.map(({ annotator, source }) =>
      sql
        .query<{ records: string | null; labels: string | null }>(
          `select string_agg(record_id, E'\\x1f') as records, string_agg(coalesce(array_position($4::text[], label_id), 0)::text, ',') as labels
           from rm_record_labels
           where project_id = $1 and task_id = $2 and source = $5 and annotator = $3 and span_start is null`,
          [projectId, taskId, annotator, labels, source],
        )
        .then((r) => r.rows[0] ?? { records: null, labels: null }),
    ),
  );

  // item indices: the first annotator to mention a record numbers it
  const recordIndex = new Map<string, number>();
  const perAnnotator = rows.map((row) => {
    const records = row.records ? row.records.split(UNIT) : [];
    const items = new Int32Array(records.length);
    for (let k = 0; k < records.length; k++) {
      const id = records[k]!;
      let i = recordIndex.get(id);
      if (i === undefined) recordIndex.set(id, (i = recordIndex.size));
      items[k] = i;
    }
    return { items, labels: parseInts(row.labels ?? '', records.length) };
  });

  // codes 0 … K-1 are the task's labels; label sets (multi-label answers) get codes after them
  const n = recordIndex.size;
  const k0 = Math.max(1, labels.length);
  const setIndex = new Map<string, number>();
  const codes = new Int32Array(annotators.length * n).fill(MISSING);
  perAnnotator.forEach((p, row) => {
    const base = row * n;
    let sets: Map<number, number[]> | undefined;
    for (let k = 0; k < p.items.length; k++) {
      const label = p.labels[k]! - 1;
      if (label < 0) continue; // a label the task no longer has (removed while we read)
      const at = base + p.items[k]!;
      if (codes[at] === MISSING) codes[at] = label;
      else {
        sets ??= new Map();
        const set = sets.get(at) ?? sets.set(at, [codes[at]!]).get(at)!;
        set.push(label);
      }
    }
    for (const [at, set] of sets ?? []) {
      const key = set.sort((x, y) => x - y).join(',');
      let c = setIndex.get(key);
      if (c === undefined) setIndex.set(key, (c = k0 + setIndex.size));
      codes[at] = c;
    }
  });
  const categories = [...labels.map((l) => [l]), ...[...setIndex.keys()].map((key) => key.split(',').map((i) => labels[Number(i)]!))];
  return {
    annotators,
    recordIds: [...recordIndex.keys()],
    categories,
    matrix: ratingMatrix(codes, annotators.length, n, k0 + setIndex.size),
  };
}

/** Parses `count` comma-separated non-negative integers without allocating a string per number. */
function parseInts(text: string, count: number): Int32Array {
  const out = new Int32Array(count);
  let k = 0;
  let v = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 44) {
      out[k++] = v;
      v = 0;
    } else v = v * 10 + (c - 48);
  }
  if (text.length) out[k] = v;
  return out;
}

/**
 * The manual (and crowd) span answers of a task per annotator and record: `annotations[a][i]` are annotator
 * `a`'s spans on record `i`, `undefined` when `a` marked nothing there (an empty answer is no
 * answer, as for the reference label).
 */
export async function loadAnnotatorSpans(sql: SqlExecutor, projectId: string, taskId: string): Promise<{ annotators: string[]; recordIds: string[]; annotations: (AgreementSpan[] | undefined)[][] }> {
  const spans = await sql.query<{ annotator: string; record_id: string; label_id: string; span_start: number; span_end: number }>(
    `select annotator, record_id, label_id, span_start, span_end from rm_record_labels
     where project_id = $1 and task_id = $2 and source in ('manual', 'crowd') and span_start is not null`,
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
  const ratings = await loadAnnotatorRatings(sql, projectId, taskId, task.labels.map((l) => l.id));
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
