import { BulkRows, insertRows, withIndexesDeferred, type BulkColumn, type CatchUp, type Projection } from '@refinery/projector';
import type { CrowdRecordLabeled, LabelRemoved, LabelingTaskRemoved, LabelsMerged, ProjectDeleted, Recorded, RecordLabelEvent, SqlExecutor, Span } from '@refinery/events';
import { referenceLabel } from '@refinery/domain';

type Handled = RecordLabelEvent | CrowdRecordLabeled | LabelsMerged | LabelRemoved | LabelingTaskRemoved | ProjectDeleted;

interface LabelRow {
  source: 'manual' | 'gold' | 'crowd';
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
 * `crowd` rows (v3) are answers given through crowd links, one annotator per pseudonym: their own
 * source, never part of the reference (docs/crowd.md).
 */
export const recordLabelsProjection: Projection = {
  name: 'record_labels',
  version: 3,
  handles: ['RecordLabeled', 'CrowdRecordLabeled', 'GoldLabelSet', 'GoldLabelCleared', 'RecordCommented', 'RecordCommentDeleted', 'LabelsMerged', 'LabelRemoved', 'LabelingTaskRemoved', 'ProjectDeleted'],
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
      -- the data browser's disagreement filter: a few percent of the references at most
      create index if not exists rm_reference_disagreement on rm_reference (project_id, task_id, record_id) where disagreement;
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
    await sql.exec(`delete from rm_record_labels where source in ('manual', 'gold', 'reference', 'crowd'); truncate rm_reference, rm_comments;`);
  },
  async apply(tx, events) {
    // Label events are gathered into runs and written with a few multi-row statements per run
    // (under load a batch holds many); other events end a run and are applied in order.
    let run: LabelRun | undefined;
    const flush = async () => {
      if (run) await applyLabelRun(tx, run);
      run = undefined;
    };
    for (const e of events as readonly Recorded<Handled>[]) {
      switch (e.type) {
        case 'RecordLabeled':
          (run ??= new LabelRun()).answer(e.data.projectId, e.data.recordId, e.data.taskId, 'manual', e.data.annotator, e.data, e.meta.at);
          break;
        case 'CrowdRecordLabeled':
          (run ??= new LabelRun()).answer(e.data.projectId, e.data.recordId, e.data.taskId, 'crowd', e.data.pseudonym, e.data, e.meta.at);
          break;
        case 'GoldLabelSet':
          (run ??= new LabelRun()).answer(e.data.projectId, e.data.recordId, e.data.taskId, 'gold', e.meta.actor, e.data, e.meta.at);
          break;
        case 'GoldLabelCleared':
          (run ??= new LabelRun()).answer(e.data.projectId, e.data.recordId, e.data.taskId, 'gold', e.meta.actor, { labelIds: [], spans: [] }, e.meta.at);
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
          await flush();
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
          await recomputeReferences(tx, affected.map((recordId) => ({ projectId: e.data.projectId, taskId: e.data.taskId, recordId, at: e.meta.at })), false);
          break;
        }
        case 'LabelRemoved': {
          await flush();
          const affected = await affectedRecords(tx, e.data.projectId, e.data.taskId, [e.data.labelId]);
          await tx.query('delete from rm_record_labels where project_id = $1 and task_id = $2 and label_id = $3', [e.data.projectId, e.data.taskId, e.data.labelId]);
          await recomputeReferences(tx, affected.map((recordId) => ({ projectId: e.data.projectId, taskId: e.data.taskId, recordId, at: e.meta.at })), false);
          break;
        }
        case 'LabelingTaskRemoved':
          await flush();
          await tx.query('delete from rm_record_labels where project_id = $1 and task_id = $2', [e.data.projectId, e.data.taskId]);
          await tx.query('delete from rm_reference where project_id = $1 and task_id = $2', [e.data.projectId, e.data.taskId]);
          break;
        case 'ProjectDeleted':
          await flush();
          for (const table of ['rm_record_labels', 'rm_reference', 'rm_comments']) await tx.query(`delete from ${table} where project_id = $1`, [e.data.projectId]);
          break;
      }
    }
    await flush();
  },
  catchUp: () => new RecordLabelsFold(),
};

async function affectedRecords(tx: SqlExecutor, projectId: string, taskId: string, labelIds: string[]): Promise<string[]> {
  const r = await tx.query<{ record_id: string }>(
    // only manual and gold rows go into a reference (records with just other sources keep theirs)
    `select distinct record_id from rm_record_labels
     where project_id = $1 and task_id = $2 and source in ('manual', 'gold') and label_id in (select jsonb_array_elements_text($3::jsonb))`,
    [projectId, taskId, JSON.stringify(labelIds)],
  );
  return r.rows.map((row) => row.record_id);
}

interface AnswerRow {
  project_id: string;
  record_id: string;
  task_id: string;
  source: string;
  annotator: string;
  label_id: string;
  span_start: number | null;
  span_end: number | null;
  token_start: number | null;
  token_end: number | null;
  labeled_at: string;
}

interface ReferenceKey {
  projectId: string;
  taskId: string;
  recordId: string;
  /** when the event that changed it happened (the reference rows' labeled_at) */
  at: string;
}

const refKey = (projectId: string, taskId: string, recordId: string) => `${projectId.toLowerCase()}\u0000${taskId}\u0000${recordId}`;

/**
 * Manual and gold answers of consecutive label events: the last answer per annotator (or the
 * gold decision) per record and task wins, an empty answer clears it.
 */
class LabelRun {
  /** key: record key + source + annotator ('' for gold, whose rows are replaced whoever decided) */
  readonly answers = new Map<string, { projectId: string; recordId: string; taskId: string; source: 'manual' | 'gold' | 'crowd'; annotator: string; answer: { labelIds: string[]; spans: Span[] }; at: string }>();
  readonly touched = new Map<string, ReferenceKey>();

  answer(projectId: string, recordId: string, taskId: string, source: 'manual' | 'gold' | 'crowd', annotator: string, answer: { labelIds: string[]; spans: Span[] }, at: string): void {
    const key = refKey(projectId, taskId, recordId);
    this.answers.set(`${key}\u0000${source}\u0000${source === 'gold' ? '' : annotator}`, { projectId, recordId, taskId, source, annotator, answer, at });
    // crowd answers are not part of the reference: nothing to recompute
    if (source !== 'crowd') this.touched.set(key, { projectId, taskId, recordId, at });
  }
}

function answerRows(projectId: string, recordId: string, taskId: string, source: string, annotator: string, answer: { labelIds: string[]; spans: Span[] }, at: string): AnswerRow[] {
  const base = { project_id: projectId, record_id: recordId, task_id: taskId, source, annotator, labeled_at: at };
  return [
    ...answer.labelIds.map((labelId) => ({ ...base, label_id: labelId, span_start: null, span_end: null, token_start: null, token_end: null })),
    ...answer.spans.map((s) => ({ ...base, label_id: s.labelId, span_start: s.start, span_end: s.end, token_start: s.tokenStart, token_end: s.tokenEnd })),
  ];
}

const ANSWER_ROWS = `jsonb_to_recordset($1::jsonb) as r(project_id uuid, record_id text, task_id text, source text, annotator text, label_id text,
  span_start integer, span_end integer, token_start integer, token_end integer, labeled_at timestamptz)`;

/** One statement: replace the run's answers, and drop the reference of every record and task it touched. */
async function applyLabelRun(tx: SqlExecutor, run: LabelRun): Promise<void> {
  const replaced = [...run.answers.values()];
  const rows = replaced.flatMap((a) => answerRows(a.projectId, a.recordId, a.taskId, a.source, a.annotator, a.answer, a.at));
  const keys = replaced.map((a) => ({ project_id: a.projectId, record_id: a.recordId, task_id: a.taskId, source: a.source, annotator: a.annotator }));
  const touched = [...run.touched.values()];
  const refs = touched.map((t) => ({ project_id: t.projectId, record_id: t.recordId, task_id: t.taskId }));
  await tx.query(
    `with answers as (
       delete from rm_record_labels l
       using jsonb_to_recordset($2::jsonb) as k(project_id uuid, record_id text, task_id text, source text, annotator text)
       where l.project_id = k.project_id and l.record_id = k.record_id and l.task_id = k.task_id and l.source = k.source
         and (k.source = 'gold' or l.annotator = k.annotator)
     ), reference_rows as (
       delete from rm_record_labels l
       using jsonb_to_recordset($3::jsonb) as k(project_id uuid, record_id text, task_id text)
       where l.project_id = k.project_id and l.record_id = k.record_id and l.task_id = k.task_id and l.source = 'reference'
     ), reference as (
       delete from rm_reference f
       using jsonb_to_recordset($3::jsonb) as k(project_id uuid, record_id text, task_id text)
       where f.project_id = k.project_id and f.record_id = k.record_id and f.task_id = k.task_id
     )
     insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, span_start, span_end, token_start, token_end, labeled_at)
     select r.project_id, r.record_id, r.task_id, r.source, r.annotator, r.label_id, r.span_start, r.span_end, r.token_start, r.token_end, r.labeled_at from ${ANSWER_ROWS}`,
    [JSON.stringify(rows), JSON.stringify(keys), JSON.stringify(refs)],
  );
  await recomputeReferences(tx, touched, true);
}

/**
 * Re-derives the reference label of each record and task from its manual and gold rows: one
 * read and one write per thousand keys (plus one delete unless the caller already cleared them).
 */
async function recomputeReferences(tx: SqlExecutor, keys: readonly ReferenceKey[], cleared: boolean): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const chunk = keys.slice(i, i + 1000);
    const ids = JSON.stringify(chunk.map((k) => ({ project_id: k.projectId, record_id: k.recordId, task_id: k.taskId })));
    if (!cleared) {
      await tx.query(
        `with reference_rows as (
           delete from rm_record_labels l
           using jsonb_to_recordset($1::jsonb) as k(project_id uuid, record_id text, task_id text)
           where l.project_id = k.project_id and l.record_id = k.record_id and l.task_id = k.task_id and l.source = 'reference'
         )
         delete from rm_reference f
         using jsonb_to_recordset($1::jsonb) as k(project_id uuid, record_id text, task_id text)
         where f.project_id = k.project_id and f.record_id = k.record_id and f.task_id = k.task_id`,
        [ids],
      );
    }
    const r = await tx.query<LabelRow & { project_id: string; task_id: string; record_id: string }>(
      `select l.project_id::text, l.task_id, l.record_id, l.source, l.annotator, l.label_id, l.span_start, l.span_end, l.token_start, l.token_end
       from jsonb_to_recordset($1::jsonb) as k(project_id uuid, record_id text, task_id text)
       join rm_record_labels l on l.project_id = k.project_id and l.record_id = k.record_id and l.task_id = k.task_id
       where l.source in ('manual', 'gold')
       order by l.source, l.annotator, l.label_id, l.span_start, l.span_end`,
      [ids],
    );
    const byKey = new Map<string, LabelRow[]>(chunk.map((k) => [refKey(k.projectId, k.taskId, k.recordId), []]));
    for (const row of r.rows) byKey.get(refKey(row.project_id, row.task_id, row.record_id))?.push(row);
    const references: { project_id: string; task_id: string; record_id: string; basis: string | null; disagreement: boolean; annotators: number }[] = [];
    const labels: AnswerRow[] = [];
    for (const k of chunk) {
      const rows = byKey.get(refKey(k.projectId, k.taskId, k.recordId)) ?? [];
      const answers = new Map<string, { labelIds: string[]; spans: Span[] }>();
      let gold: { labelIds: string[]; spans: Span[] } | undefined;
      for (const row of rows) {
        const target = row.source === 'gold' ? (gold ??= { labelIds: [], spans: [] }) : answers.get(row.annotator) ?? answers.set(row.annotator, { labelIds: [], spans: [] }).get(row.annotator)!;
        if (row.span_start === null) target.labelIds.push(row.label_id);
        else target.spans.push({ labelId: row.label_id, start: row.span_start, end: row.span_end!, tokenStart: row.token_start!, tokenEnd: row.token_end! });
      }
      const ref = referenceLabel([...answers.values()], gold);
      if (ref.annotators === 0 && !gold) continue;
      references.push({ project_id: k.projectId, task_id: k.taskId, record_id: k.recordId, basis: ref.basis, disagreement: ref.disagreement, annotators: ref.annotators });
      if (ref.basis) labels.push(...answerRows(k.projectId, k.recordId, k.taskId, 'reference', ref.basis, ref, k.at));
    }
    if (references.length === 0) continue;
    await tx.query(
      `with reference as (
         insert into rm_reference (project_id, task_id, record_id, basis, disagreement, annotators)
         select f.project_id, f.task_id, f.record_id, f.basis, f.disagreement, f.annotators
         from jsonb_to_recordset($2::jsonb) as f(project_id uuid, task_id text, record_id text, basis text, disagreement boolean, annotators integer)
       )
       insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, span_start, span_end, token_start, token_end, labeled_at)
       select r.project_id, r.record_id, r.task_id, r.source, r.annotator, r.label_id, r.span_start, r.span_end, r.token_start, r.token_end, r.labeled_at from ${ANSWER_ROWS}`,
      [JSON.stringify(labels), JSON.stringify(references)],
    );
  }
}

// ---- catch-up: the read model folded in memory ----------------------------------------------

type Answer = { labelIds: string[]; spans: Span[] };
interface Given {
  annotator: string;
  answer: Answer;
  at: string;
}
interface RecordTask {
  projectId: string;
  taskId: string;
  recordId: string;
  manual: Map<string, Given>;
  crowd: Map<string, Given>;
  gold?: Given;
  /** when the reference last had to be derived again (its rows' labeled_at) */
  refAt?: string;
}

const OWN_SOURCES = "('manual', 'gold', 'reference', 'crowd')";
const LABEL_COLUMNS: BulkColumn[] = [
  ['project_id', 'uuid'],
  ['record_id', 'text'],
  ['task_id', 'text'],
  ['source', 'text'],
  ['annotator', 'text'],
  ['label_id', 'text'],
  ['span_start', 'integer'],
  ['span_end', 'integer'],
  ['token_start', 'integer'],
  ['token_end', 'integer'],
  ['labeled_at', 'timestamptz'],
];
const REFERENCE_COLUMNS: BulkColumn[] = [
  ['project_id', 'uuid'],
  ['task_id', 'text'],
  ['record_id', 'text'],
  ['basis', 'text'],
  ['disagreement', 'boolean'],
  ['annotators', 'integer'],
];
const COMMENT_COLUMNS: BulkColumn[] = [
  ['project_id', 'uuid'],
  ['record_id', 'text'],
  ['id', 'uuid'],
  ['author', 'text'],
  ['body', 'text'],
  ['created_at', 'timestamptz'],
];

/**
 * The same read model as `apply` over the same events, kept in memory from the start of the log
 * and written once: every answer replaced in memory, each reference derived once per record at
 * the end. Merges, removals and deletions also touch the rows other projections write into
 * rm_record_labels (heuristics, weak supervision): those statements run first, in log order.
 */
class RecordLabelsFold implements CatchUp {
  /** project (lower case) → task → record */
  private readonly items = new Map<string, Map<string, Map<string, RecordTask>>>();
  private readonly lowered = new Map<string, string>();
  private readonly comments = new Map<string, { projectId: string; recordId: string; id: string; author: string; body: string; at: string }>();
  /** structural events, replayed against the other projections' rows */
  private readonly foreign: Recorded<Handled>[] = [];

  add(events: readonly Recorded[]): void {
    for (const e of events as readonly Recorded<Handled>[]) {
      switch (e.type) {
        case 'RecordLabeled':
          this.item(e.data.projectId, e.data.taskId, e.data.recordId, e.meta.at).manual.set(e.data.annotator, { annotator: e.data.annotator, answer: e.data, at: e.meta.at });
          break;
        case 'CrowdRecordLabeled': {
          const it = this.item(e.data.projectId, e.data.taskId, e.data.recordId, undefined);
          it.crowd.set(e.data.pseudonym, { annotator: e.data.pseudonym, answer: e.data, at: e.meta.at });
          break;
        }
        case 'GoldLabelSet':
          this.item(e.data.projectId, e.data.taskId, e.data.recordId, e.meta.at).gold = { annotator: e.meta.actor, answer: e.data, at: e.meta.at };
          break;
        case 'GoldLabelCleared':
          this.item(e.data.projectId, e.data.taskId, e.data.recordId, e.meta.at).gold = undefined;
          break;
        case 'RecordCommented': {
          const key = `${e.data.projectId.toLowerCase()}\u0000${e.data.recordId}\u0000${e.data.commentId.toLowerCase()}`;
          if (!this.comments.has(key)) this.comments.set(key, { projectId: e.data.projectId, recordId: e.data.recordId, id: e.data.commentId, author: e.meta.actor, body: e.data.body, at: e.meta.at });
          break;
        }
        case 'RecordCommentDeleted':
          this.comments.delete(`${e.data.projectId.toLowerCase()}\u0000${e.data.recordId}\u0000${e.data.commentId.toLowerCase()}`);
          break;
        case 'LabelsMerged': {
          this.foreign.push(e);
          const sources = new Set(e.data.sourceLabelIds);
          const map = (l: string) => (sources.has(l) ? e.data.targetLabelId : l);
          for (const it of this.ofTask(e.data.projectId, e.data.taskId)) {
            if (hasLabel(it, sources)) it.refAt = e.meta.at;
            for (const g of givenOf(it)) g.answer = mergedAnswer(g.answer, map);
          }
          break;
        }
        case 'LabelRemoved': {
          this.foreign.push(e);
          const removed = new Set([e.data.labelId]);
          for (const it of this.ofTask(e.data.projectId, e.data.taskId)) {
            if (hasLabel(it, removed)) it.refAt = e.meta.at;
            for (const g of givenOf(it)) {
              if (g.answer.labelIds.includes(e.data.labelId) || g.answer.spans.some((s) => s.labelId === e.data.labelId)) {
                g.answer = { labelIds: g.answer.labelIds.filter((l) => l !== e.data.labelId), spans: g.answer.spans.filter((s) => s.labelId !== e.data.labelId) };
              }
            }
          }
          break;
        }
        case 'LabelingTaskRemoved':
          this.foreign.push(e);
          this.items.get(this.lower(e.data.projectId))?.delete(e.data.taskId);
          break;
        case 'ProjectDeleted':
          this.foreign.push(e);
          this.items.delete(this.lower(e.data.projectId));
          for (const [key, c] of this.comments) if (this.lower(c.projectId) === this.lower(e.data.projectId)) this.comments.delete(key);
          break;
      }
    }
  }

  async finish(tx: SqlExecutor): Promise<void> {
    for (const e of this.foreign) {
      const other = `source not in ${OWN_SOURCES}`;
      switch (e.type) {
        case 'LabelsMerged':
          await tx.query(
            `update rm_record_labels set label_id = $3 where project_id = $1 and task_id = $2 and ${other} and label_id in (select jsonb_array_elements_text($4::jsonb))`,
            [e.data.projectId, e.data.taskId, e.data.targetLabelId, JSON.stringify(e.data.sourceLabelIds)],
          );
          await tx.query(
            `delete from rm_record_labels a using rm_record_labels b
             where a.project_id = $1 and b.project_id = $1 and a.task_id = $2 and b.task_id = $2 and a.${other}
               and a.record_id = b.record_id and a.source = b.source and a.annotator = b.annotator and a.label_id = b.label_id
               and a.span_start is not distinct from b.span_start and a.span_end is not distinct from b.span_end
               and a.ctid > b.ctid`,
            [e.data.projectId, e.data.taskId],
          );
          break;
        case 'LabelRemoved':
          await tx.query(`delete from rm_record_labels where project_id = $1 and task_id = $2 and label_id = $3 and ${other}`, [e.data.projectId, e.data.taskId, e.data.labelId]);
          break;
        case 'LabelingTaskRemoved':
          await tx.query(`delete from rm_record_labels where project_id = $1 and task_id = $2 and ${other}`, [e.data.projectId, e.data.taskId]);
          break;
        case 'ProjectDeleted':
          await tx.query(`delete from rm_record_labels where project_id = $1 and ${other}`, [e.data.projectId]);
          break;
      }
    }
    // Sorted by record: the (project, record, task) index and the heap fill in order.
    const items: RecordTask[] = [];
    for (const project of [...this.items.keys()].sort()) {
      const ofProject = [...this.items.get(project)!.values()].flatMap((byRecord) => [...byRecord.values()]);
      items.push(...ofProject.sort((a, b) => cmp(a.recordId, b.recordId) || cmp(a.taskId, b.taskId)));
    }
    const rows = new BulkRows('rm_record_labels', LABEL_COLUMNS);
    const references = new BulkRows('rm_reference', REFERENCE_COLUMNS);
    const push = (it: RecordTask, source: string, annotator: string, a: Answer, at: string) => {
      for (const l of a.labelIds) rows.push([it.projectId, it.recordId, it.taskId, source, annotator, l, null, null, null, null, at]);
      for (const x of a.spans) rows.push([it.projectId, it.recordId, it.taskId, source, annotator, x.labelId, x.start, x.end, x.tokenStart, x.tokenEnd, at]);
    };
    for (const it of items) {
      const manual = [...it.manual.values()].sort((a, b) => cmp(a.annotator, b.annotator));
      for (const g of manual) push(it, 'manual', g.annotator, g.answer, g.at);
      for (const g of it.crowd.values()) push(it, 'crowd', g.annotator, g.answer, g.at);
      if (it.gold) push(it, 'gold', it.gold.annotator, it.gold.answer, it.gold.at);
      if (it.refAt === undefined) continue;
      // As the incremental path reads them back: answers with rows only, labels in order.
      const gold = it.gold && !isEmpty(it.gold.answer) ? ordered(it.gold.answer) : undefined;
      const ref = referenceLabel(manual.filter((g) => !isEmpty(g.answer)).map((g) => ordered(g.answer)), gold);
      if (ref.annotators === 0 && !gold) continue;
      references.push([it.projectId, it.taskId, it.recordId, ref.basis, ref.disagreement, ref.annotators]);
      if (ref.basis) push(it, 'reference', ref.basis, ref, it.refAt);
    }
    await withIndexesDeferred(tx, 'rm_record_labels', rows.length, () => rows.insert(tx));
    await references.insert(tx);
    await insertRows(
      tx,
      'rm_comments',
      COMMENT_COLUMNS,
      [...this.comments.values()].map((c) => [c.projectId, c.recordId, c.id, c.author, c.body, c.at]),
    );
  }

  private item(projectId: string, taskId: string, recordId: string, refAt: string | undefined): RecordTask {
    const project = this.lower(projectId);
    let tasks = this.items.get(project);
    if (!tasks) this.items.set(project, (tasks = new Map()));
    let records = tasks.get(taskId);
    if (!records) tasks.set(taskId, (records = new Map()));
    let it = records.get(recordId);
    if (!it) records.set(recordId, (it = { projectId, taskId, recordId, manual: new Map(), crowd: new Map() }));
    // crowd answers are not part of the reference
    if (refAt !== undefined) it.refAt = refAt;
    return it;
  }

  private ofTask(projectId: string, taskId: string): Iterable<RecordTask> {
    return this.items.get(this.lower(projectId))?.get(taskId)?.values() ?? [];
  }

  private lower(id: string): string {
    let l = this.lowered.get(id);
    if (l === undefined) this.lowered.set(id, (l = id.toLowerCase()));
    return l;
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const isEmpty = (a: Answer) => a.labelIds.length === 0 && a.spans.length === 0;
const ordered = (a: Answer): Answer => ({
  labelIds: [...a.labelIds].sort(cmp),
  spans: [...a.spans].sort((x, y) => cmp(x.labelId, y.labelId) || x.start - y.start || x.end - y.end),
});

function givenOf(it: RecordTask): Given[] {
  return [...it.manual.values(), ...it.crowd.values(), ...(it.gold ? [it.gold] : [])];
}

/** whether a manual or gold answer holds one of the labels (the records whose reference is derived again) */
function hasLabel(it: RecordTask, labels: ReadonlySet<string>): boolean {
  const holds = (g: Given) => g.answer.labelIds.some((l) => labels.has(l)) || g.answer.spans.some((s) => labels.has(s.labelId));
  return [...it.manual.values()].some(holds) || (it.gold !== undefined && holds(it.gold));
}

/** labels renamed by a merge; an answer holding a source and the target keeps one of them */
function mergedAnswer(a: Answer, map: (l: string) => string): Answer {
  const labelIds: string[] = [];
  for (const l of a.labelIds) {
    const m = map(l);
    if (!labelIds.includes(m)) labelIds.push(m);
  }
  const spans: Span[] = [];
  for (const s of a.spans) {
    const m = { ...s, labelId: map(s.labelId) };
    if (!spans.some((x) => x.labelId === m.labelId && x.start === m.start && x.end === m.end)) spans.push(m);
  }
  return { labelIds, spans };
}
