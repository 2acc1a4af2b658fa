import type { Projection } from '@refinery/projector';
import type { LabelRemoved, LabelingTaskRemoved, LabelsMerged, ProjectDeleted, Recorded, RecordLabelEvent, SqlExecutor, Span } from '@refinery/events';
import { referenceLabel } from '@refinery/domain';

type Handled = RecordLabelEvent | LabelsMerged | LabelRemoved | LabelingTaskRemoved | ProjectDeleted;

interface LabelRow {
  source: 'manual' | 'gold';
  annotator: string;
  label_id: string;
  span_start: number | null;
  span_end: number | null;
  token_start: number | null;
  token_end: number | null;
}

/**
 * Labels by source, one row per label or span: `manual` (each annotator apart), `gold` (an
 * expert's decision) and `reference` (derived: gold, else a single or unanimous answer). The
 * data browser filters on these rows; `rm_reference` says how each reference came about.
 */
export const recordLabelsProjection: Projection = {
  name: 'record_labels',
  version: 2,
  handles: ['RecordLabeled', 'GoldLabelSet', 'GoldLabelCleared', 'RecordCommented', 'RecordCommentDeleted', 'LabelsMerged', 'LabelRemoved', 'LabelingTaskRemoved', 'ProjectDeleted'],
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_record_labels (
        project_id  uuid not null,
        record_id   text not null,
        task_id     text not null,
        source      text not null,
        annotator   text not null,
        label_id    text not null,
        span_start  integer,
        span_end    integer,
        token_start integer,
        token_end   integer,
        labeled_at  timestamptz not null
      );
      -- weak-supervision confidence (null for every other source)
      alter table rm_record_labels add column if not exists confidence double precision;
      create index if not exists rm_record_labels_record on rm_record_labels (project_id, record_id, task_id);
      create index if not exists rm_record_labels_label on rm_record_labels (project_id, task_id, source, label_id, record_id);
      create table if not exists rm_reference (
        project_id   uuid not null,
        task_id      text not null,
        record_id    text not null,
        basis        text,
        disagreement boolean not null,
        annotators   integer not null,
        primary key (project_id, task_id, record_id)
      );
      create table if not exists rm_comments (
        project_id uuid not null,
        record_id  text not null,
        id         uuid not null,
        author     text not null,
        body       text not null,
        created_at timestamptz not null,
        primary key (project_id, record_id, id)
      );
    `);
  },
  async reset(sql) {
    // Other projections write their own sources into rm_record_labels (heuristics, weak supervision).
    await sql.exec(`delete from rm_record_labels where source in ('manual', 'gold', 'reference'); delete from rm_reference; delete from rm_comments;`);
  },
  async apply(tx, events) {
    for (const e of events as readonly Recorded<Handled>[]) {
      switch (e.type) {
        case 'RecordLabeled':
          await tx.query(`delete from rm_record_labels where project_id = $1 and record_id = $2 and task_id = $3 and source = 'manual' and annotator = $4`, [
            e.data.projectId,
            e.data.recordId,
            e.data.taskId,
            e.data.annotator,
          ]);
          await insertAnswer(tx, e.data.projectId, e.data.recordId, e.data.taskId, 'manual', e.data.annotator, e.data, e.meta.at);
          await recomputeReference(tx, e.data.projectId, e.data.taskId, [e.data.recordId], e.meta.at);
          break;
        case 'GoldLabelSet':
          await tx.query(`delete from rm_record_labels where project_id = $1 and record_id = $2 and task_id = $3 and source = 'gold'`, [
            e.data.projectId,
            e.data.recordId,
            e.data.taskId,
          ]);
          await insertAnswer(tx, e.data.projectId, e.data.recordId, e.data.taskId, 'gold', e.meta.actor, e.data, e.meta.at);
          await recomputeReference(tx, e.data.projectId, e.data.taskId, [e.data.recordId], e.meta.at);
          break;
        case 'GoldLabelCleared':
          await tx.query(`delete from rm_record_labels where project_id = $1 and record_id = $2 and task_id = $3 and source = 'gold'`, [
            e.data.projectId,
            e.data.recordId,
            e.data.taskId,
          ]);
          await recomputeReference(tx, e.data.projectId, e.data.taskId, [e.data.recordId], e.meta.at);
          break;
        case 'RecordCommented':
          await tx.query(
            `insert into rm_comments (project_id, record_id, id, author, body, created_at) values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
            [e.data.projectId, e.data.recordId, e.data.commentId, e.meta.actor, e.data.body, e.meta.at],
          );
          break;
        case 'RecordCommentDeleted':
          await tx.query('delete from rm_comments where project_id = $1 and record_id = $2 and id = $3', [e.data.projectId, e.data.recordId, e.data.commentId]);
          break;
        case 'LabelsMerged': {
          const affected = await affectedRecords(tx, e.data.projectId, e.data.taskId, e.data.sourceLabelIds);
          await tx.query(
            `update rm_record_labels set label_id = $3 where project_id = $1 and task_id = $2 and label_id in (select jsonb_array_elements_text($4::jsonb))`,
            [e.data.projectId, e.data.taskId, e.data.targetLabelId, JSON.stringify(e.data.sourceLabelIds)],
          );
          // A multi-label answer that had both a source and the target now holds the target twice.
          await tx.query(
            `delete from rm_record_labels a using rm_record_labels b
             where a.project_id = $1 and b.project_id = $1 and a.task_id = $2 and b.task_id = $2
               and a.record_id = b.record_id and a.source = b.source and a.annotator = b.annotator and a.label_id = b.label_id
               and a.span_start is not distinct from b.span_start and a.span_end is not distinct from b.span_end
               and a.ctid > b.ctid`,
            [e.data.projectId, e.data.taskId],
          );
          await recomputeReference(tx, e.data.projectId, e.data.taskId, affected, e.meta.at);
          break;
        }
        case 'LabelRemoved': {
          const affected = await affectedRecords(tx, e.data.projectId, e.data.taskId, [e.data.labelId]);
          await tx.query('delete from rm_record_labels where project_id = $1 and task_id = $2 and label_id = $3', [e.data.projectId, e.data.taskId, e.data.labelId]);
          await recomputeReference(tx, e.data.projectId, e.data.taskId, affected, e.meta.at);
          break;
        }
        case 'LabelingTaskRemoved':
          await tx.query('delete from rm_record_labels where project_id = $1 and task_id = $2', [e.data.projectId, e.data.taskId]);
          await tx.query('delete from rm_reference where project_id = $1 and task_id = $2', [e.data.projectId, e.data.taskId]);
          break;
        case 'ProjectDeleted':
          for (const table of ['rm_record_labels', 'rm_reference', 'rm_comments']) await tx.query(`delete from ${table} where project_id = $1`, [e.data.projectId]);
          break;
      }
    }
  },
};

async function insertAnswer(
  tx: SqlExecutor,
  projectId: string,
  recordId: string,
  taskId: string,
  source: string,
  annotator: string,
  answer: { labelIds: string[]; spans: Span[] },
  at: string,
): Promise<void> {
  const rows = [
    ...answer.labelIds.map((labelId) => ({ label_id: labelId, span_start: null, span_end: null, token_start: null, token_end: null })),
    ...answer.spans.map((s) => ({ label_id: s.labelId, span_start: s.start, span_end: s.end, token_start: s.tokenStart, token_end: s.tokenEnd })),
  ];
  if (rows.length === 0) return;
  await tx.query(
    `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, span_start, span_end, token_start, token_end, labeled_at)
     select $1, $2, $3, $4, $5, r.label_id, r.span_start, r.span_end, r.token_start, r.token_end, $7
     from jsonb_to_recordset($6::jsonb) as r(label_id text, span_start integer, span_end integer, token_start integer, token_end integer)`,
    [projectId, recordId, taskId, source, annotator, JSON.stringify(rows), at],
  );
}

async function affectedRecords(tx: SqlExecutor, projectId: string, taskId: string, labelIds: string[]): Promise<string[]> {
  const r = await tx.query<{ record_id: string }>(
    `select distinct record_id from rm_record_labels where project_id = $1 and task_id = $2 and label_id in (select jsonb_array_elements_text($3::jsonb))`,
    [projectId, taskId, JSON.stringify(labelIds)],
  );
  return r.rows.map((row) => row.record_id);
}

/** Re-derives the reference label of each record for the task from its manual and gold rows. */
async function recomputeReference(tx: SqlExecutor, projectId: string, taskId: string, recordIds: readonly string[], at: string): Promise<void> {
  for (let i = 0; i < recordIds.length; i += 1000) {
    const chunk = recordIds.slice(i, i + 1000);
    const ids = JSON.stringify(chunk);
    const r = await tx.query<LabelRow & { record_id: string }>(
      `select record_id, source, annotator, label_id, span_start, span_end, token_start, token_end from rm_record_labels
       where project_id = $1 and task_id = $2 and source in ('manual', 'gold') and record_id in (select jsonb_array_elements_text($3::jsonb))
       order by record_id, source, annotator, label_id, span_start, span_end`,
      [projectId, taskId, ids],
    );
    const byRecord = new Map<string, LabelRow[]>(chunk.map((id) => [id, []]));
    for (const row of r.rows) byRecord.get(row.record_id)?.push(row);
    await tx.query(`delete from rm_record_labels where project_id = $1 and task_id = $2 and source = 'reference' and record_id in (select jsonb_array_elements_text($3::jsonb))`, [
      projectId,
      taskId,
      ids,
    ]);
    await tx.query(`delete from rm_reference where project_id = $1 and task_id = $2 and record_id in (select jsonb_array_elements_text($3::jsonb))`, [projectId, taskId, ids]);
    for (const [recordId, rows] of byRecord) {
      const answers = new Map<string, { labelIds: string[]; spans: Span[] }>();
      let gold: { labelIds: string[]; spans: Span[] } | undefined;
      for (const row of rows) {
        const target = row.source === 'gold' ? (gold ??= { labelIds: [], spans: [] }) : answers.get(row.annotator) ?? answers.set(row.annotator, { labelIds: [], spans: [] }).get(row.annotator)!;
        if (row.span_start === null) target.labelIds.push(row.label_id);
        else target.spans.push({ labelId: row.label_id, start: row.span_start, end: row.span_end!, tokenStart: row.token_start!, tokenEnd: row.token_end! });
      }
      const ref = referenceLabel([...answers.values()], gold);
      if (ref.annotators === 0 && !gold) continue;
      await tx.query(
        `insert into rm_reference (project_id, task_id, record_id, basis, disagreement, annotators) values ($1, $2, $3, $4, $5, $6)`,
        [projectId, taskId, recordId, ref.basis, ref.disagreement, ref.annotators],
      );
      if (ref.basis) await insertAnswer(tx, projectId, recordId, taskId, 'reference', ref.basis, ref, at);
    }
  }
}
