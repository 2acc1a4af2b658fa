import type { SqlExecutor } from '@refinery/events';

export interface LabelView {
  id: string;
  name: string;
  color: string;
  hotkey: string | null;
  description: string;
}
export interface TaskView {
  id: string;
  name: string;
  kind: 'single_label' | 'multi_label' | 'span';
  attribute: string | null;
  allowOverlap: boolean;
  labels: LabelView[];
}
export interface LabelingConfigView {
  tasks: TaskView[];
  blindLabeling: boolean;
}

export async function getLabelingConfig(sql: SqlExecutor, projectId: string): Promise<LabelingConfigView> {
  const tasks = await sql.query<{ id: string; name: string; kind: TaskView['kind']; attribute: string | null; allow_overlap: boolean }>(
    'select id, name, kind, attribute, allow_overlap from rm_tasks where project_id = $1 order by ord',
    [projectId],
  );
  const labels = await sql.query<LabelView & { task_id: string }>(
    'select task_id, id, name, color, hotkey, description from rm_task_labels where project_id = $1 order by ord',
    [projectId],
  );
  const settings = await sql.query<{ blind_labeling: boolean }>('select blind_labeling from rm_labeling_settings where project_id = $1', [projectId]);
  return {
    tasks: tasks.rows.map((t) => ({
      id: t.id,
      name: t.name,
      kind: t.kind,
      attribute: t.attribute,
      allowOverlap: t.allow_overlap,
      labels: labels.rows.filter((l) => l.task_id === t.id).map(({ task_id: _t, ...l }) => l),
    })),
    blindLabeling: settings.rows[0]?.blind_labeling ?? false,
  };
}

export interface SpanView {
  labelId: string;
  start: number;
  end: number;
  tokenStart: number;
  tokenEnd: number;
}
export interface AnswerView {
  taskId: string;
  source: 'manual' | 'gold' | 'reference';
  /** the annotator; for `gold` the expert; for `reference` how it was derived (gold, single, unanimous) */
  annotator: string;
  labelIds: string[];
  spans: SpanView[];
  labeledAt: string;
}
export interface ReferenceView {
  taskId: string;
  basis: 'gold' | 'single' | 'unanimous' | null;
  disagreement: boolean;
  annotators: number;
}
export interface CommentView {
  id: string;
  author: string;
  body: string;
  createdAt: string;
}

export async function getRecordLabels(
  sql: SqlExecutor,
  projectId: string,
  recordId: string,
  options: { onlyAnnotator?: string } = {},
): Promise<{ answers: AnswerView[]; reference: ReferenceView[] }> {
  const rows = await sql.query<{
    task_id: string;
    source: AnswerView['source'];
    annotator: string;
    label_id: string;
    span_start: number | null;
    span_end: number | null;
    token_start: number | null;
    token_end: number | null;
    labeled_at: string | Date;
  }>(
    `select task_id, source, annotator, label_id, span_start, span_end, token_start, token_end, labeled_at
     from rm_record_labels where project_id = $1 and record_id = $2
     order by task_id, source, annotator, span_start nulls first, label_id`,
    [projectId, recordId],
  );
  const answers = new Map<string, AnswerView>();
  for (const r of rows.rows) {
    // Blind labeling: an annotator sees only their own answers, no gold and no consensus.
    if (options.onlyAnnotator !== undefined && (r.source !== 'manual' || r.annotator !== options.onlyAnnotator)) continue;
    const key = `${r.task_id}\u0000${r.source}\u0000${r.annotator}`;
    let a = answers.get(key);
    if (!a) {
      a = { taskId: r.task_id, source: r.source, annotator: r.annotator, labelIds: [], spans: [], labeledAt: new Date(r.labeled_at).toISOString() };
      answers.set(key, a);
    }
    if (r.span_start === null) a.labelIds.push(r.label_id);
    else a.spans.push({ labelId: r.label_id, start: r.span_start, end: r.span_end!, tokenStart: r.token_start!, tokenEnd: r.token_end! });
  }
  const reference =
    options.onlyAnnotator !== undefined
      ? []
      : (
          await sql.query<{ task_id: string; basis: ReferenceView['basis']; disagreement: boolean; annotators: number }>(
            'select task_id, basis, disagreement, annotators from rm_reference where project_id = $1 and record_id = $2 order by task_id',
            [projectId, recordId],
          )
        ).rows.map((r) => ({ taskId: r.task_id, basis: r.basis, disagreement: r.disagreement, annotators: r.annotators }));
  return { answers: [...answers.values()], reference };
}

export async function listComments(sql: SqlExecutor, projectId: string, recordId: string): Promise<CommentView[]> {
  const r = await sql.query<{ id: string; author: string; body: string; created_at: string | Date }>(
    'select id::text, author, body, created_at from rm_comments where project_id = $1 and record_id = $2 order by created_at, id',
    [projectId, recordId],
  );
  return r.rows.map((c) => ({ id: c.id, author: c.author, body: c.body, createdAt: new Date(c.created_at).toISOString() }));
}

export interface RecordLabelsView {
  answers: AnswerView[];
  reference: ReferenceView[];
  comments: CommentView[];
}

type LabelTuple = [taskId: string, source: AnswerView['source'], annotator: string, labelId: string, spanStart: number | null, spanEnd: number | null, tokenStart: number | null, tokenEnd: number | null, labeledAt: string];
type ReferenceTuple = [taskId: string, basis: ReferenceView['basis'], disagreement: boolean, annotators: number];
type CommentTuple = [id: string, author: string, body: string, createdAt: string];

/**
 * A record's labels, reference status and comments as one viewer may see them, in one round
 * trip (this is read after every label write). Under blind labeling a viewer who does not see
 * everyone's labels gets only their own manual answers, no gold, no consensus.
 */
export async function getRecordLabelsView(
  sql: SqlExecutor,
  projectId: string,
  recordId: string,
  options: { viewer: string; seesEveryone: boolean; /** also the revision of this event stream (same query; the log's `streams` table) */ streamRevisionOf?: string },
): Promise<RecordLabelsView & { streamRevision?: string | null }> {
  const r = await sql.query<{ blind: boolean; labels: LabelTuple[] | null; reference: ReferenceTuple[] | null; comments: CommentTuple[] | null; revision: string | null }>(
    `select
       coalesce((select blind_labeling from rm_labeling_settings where project_id = $1), false) as blind,
       ${options.streamRevisionOf !== undefined ? '(select revision::text from streams where stream_id = $3)' : 'null::text'} as revision,
       (select json_agg(json_build_array(task_id, source, annotator, label_id, span_start, span_end, token_start, token_end, labeled_at)
                        order by task_id, source, annotator, span_start nulls first, label_id)
          from rm_record_labels where project_id = $1 and record_id = $2) as labels,
       (select json_agg(json_build_array(task_id, basis, disagreement, annotators) order by task_id)
          from rm_reference where project_id = $1 and record_id = $2) as reference,
       (select json_agg(json_build_array(id::text, author, body, created_at) order by created_at, id)
          from rm_comments where project_id = $1 and record_id = $2) as comments`,
    options.streamRevisionOf !== undefined ? [projectId, recordId, options.streamRevisionOf] : [projectId, recordId],
  );
  const row = r.rows[0]!;
  const onlyAnnotator = row.blind && !options.seesEveryone ? options.viewer : undefined;
  const answers = new Map<string, AnswerView>();
  for (const [taskId, source, annotator, labelId, spanStart, spanEnd, tokenStart, tokenEnd, labeledAt] of row.labels ?? []) {
    if (onlyAnnotator !== undefined && (source !== 'manual' || annotator !== onlyAnnotator)) continue;
    const key = `${taskId}\u0000${source}\u0000${annotator}`;
    let a = answers.get(key);
    if (!a) {
      a = { taskId, source, annotator, labelIds: [], spans: [], labeledAt: new Date(labeledAt).toISOString() };
      answers.set(key, a);
    }
    if (spanStart === null) a.labelIds.push(labelId);
    else a.spans.push({ labelId, start: spanStart, end: spanEnd!, tokenStart: tokenStart!, tokenEnd: tokenEnd! });
  }
  return {
    answers: [...answers.values()],
    reference: onlyAnnotator !== undefined ? [] : (row.reference ?? []).map(([taskId, basis, disagreement, annotators]) => ({ taskId, basis, disagreement, annotators })),
    comments: (row.comments ?? []).map(([id, author, body, createdAt]) => ({ id, author, body, createdAt: new Date(createdAt).toISOString() })),
    ...(options.streamRevisionOf !== undefined ? { streamRevision: row.revision } : {}),
  };
}
