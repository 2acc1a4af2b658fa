import type { CatchUp, Projection } from '@refinery/projector';
import type { GoldLabelSet, LabelingTaskRemoved, ProjectDeleted, Recorded, RecordLabeled, SqlExecutor } from '@refinery/events';

type Handled = RecordLabeled | GoldLabelSet | LabelingTaskRemoved | ProjectDeleted;

/**
 * The metrics read model. Most metrics are SQL aggregates over `rm_record_labels` (written by the
 * labeling, heuristics and weak-supervision projections); this projection adds what those rows
 * cannot say, and an index for the aggregates:
 *
 * - `rm_label_activity`: answers per task, annotator and UTC day of the event (progress over
 *   time counts every answer given, including changed ones, which the current labels forget);
 * - a covering index on `rm_record_labels` so the aggregates and the agreement loader read the
 *   index in (source, annotator, record) order instead of the table.
 */
export const metricsProjection: Projection = {
  name: 'metrics',
  version: 2,
  handles: ['RecordLabeled', 'GoldLabelSet', 'LabelingTaskRemoved', 'ProjectDeleted'],
  // Dashboards, not a writer waiting for its own write: gather events between batches.
  coalesceMs: 100,
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_label_activity (
        project_id uuid not null,
        task_id    text not null,
        source     text not null,
        annotator  text not null,
        day        date not null,
        answers    integer not null,
        -- log position (transaction, sequence) of the last event counted: a replayed event is not counted twice
        last_tx    bigint not null,
        last_seq   bigint not null,
        primary key (project_id, task_id, source, annotator, day)
      );
      -- version 1 had no positions (it rebuilds itself as version 2)
      alter table rm_label_activity add column if not exists last_tx bigint not null default 0;
      alter table rm_label_activity add column if not exists last_seq bigint not null default 0;
      do $$ begin
        if to_regclass('rm_record_labels') is not null then
          create index if not exists rm_record_labels_metrics on rm_record_labels (project_id, task_id, source, annotator, record_id, label_id)
            include (span_start, span_end, confidence);
        end if;
      end $$;
    `);
  },
  async reset(sql) {
    await sql.exec('truncate rm_label_activity;');
  },
  async apply(tx, events) {
    // Answers are counted set-based: consecutive answers are gathered and written with one
    // statement; a deletion ends the run first, so event order holds within the batch.
    let run: ActivityRow[] = [];
    const flush = async () => {
      if (run.length) await countAnswers(tx, run);
      run = [];
    };
    for (const e of events as readonly Recorded<Handled>[]) {
      switch (e.type) {
        case 'RecordLabeled':
        case 'GoldLabelSet': {
          const d = e.data;
          const [txId, seq] = e.position.split('/') as [string, string];
          run.push({
            project_id: d.projectId,
            task_id: d.taskId,
            source: e.type === 'RecordLabeled' ? 'manual' : 'gold',
            annotator: e.type === 'RecordLabeled' ? e.data.annotator : e.meta.actor,
            at: e.meta.at,
            tx: txId,
            seq,
          });
          break;
        }
        case 'LabelingTaskRemoved':
          await flush();
          await tx.query('delete from rm_label_activity where project_id = $1 and task_id = $2', [e.data.projectId, e.data.taskId]);
          break;
        case 'ProjectDeleted':
          await flush();
          await tx.query('delete from rm_label_activity where project_id = $1', [e.data.projectId]);
          break;
      }
    }
    await flush();
  },
  catchUp: () => new ActivityFold(),
};

/** The same counters as `apply` over the same events, summed in memory and written once. */
class ActivityFold implements CatchUp {
  private readonly rows = new Map<string, { project_id: string; task_id: string; source: string; annotator: string; day: string; answers: number; last_tx: string; last_seq: string }>();

  add(events: readonly Recorded[]): void {
    for (const e of events as readonly Recorded<Handled>[]) {
      switch (e.type) {
        case 'RecordLabeled':
        case 'GoldLabelSet': {
          const d = e.data;
          const source = e.type === 'RecordLabeled' ? 'manual' : 'gold';
          const annotator = e.type === 'RecordLabeled' ? e.data.annotator : e.meta.actor;
          const day = utcDay(e.meta.at);
          const key = `${d.projectId.toLowerCase()}\u0000${d.taskId}\u0000${source}\u0000${annotator}\u0000${day}`;
          const [txId, seq] = e.position.split('/') as [string, string];
          const row = this.rows.get(key);
          if (row) {
            row.answers++;
            row.last_tx = txId;
            row.last_seq = seq;
          } else {
            this.rows.set(key, { project_id: d.projectId, task_id: d.taskId, source, annotator, day, answers: 1, last_tx: txId, last_seq: seq });
          }
          break;
        }
        case 'LabelingTaskRemoved':
          for (const [key, row] of this.rows) if (row.task_id === e.data.taskId && row.project_id.toLowerCase() === e.data.projectId.toLowerCase()) this.rows.delete(key);
          break;
        case 'ProjectDeleted':
          for (const [key, row] of this.rows) if (row.project_id.toLowerCase() === e.data.projectId.toLowerCase()) this.rows.delete(key);
          break;
      }
    }
  }

  async finish(tx: SqlExecutor): Promise<void> {
    const rows = [...this.rows.values()];
    for (let i = 0; i < rows.length; i += 10_000) {
      await tx.query(
        `insert into rm_label_activity (project_id, task_id, source, annotator, day, answers, last_tx, last_seq)
         select * from jsonb_to_recordset($1::jsonb) as r(project_id uuid, task_id text, source text, annotator text, day date, answers integer, last_tx bigint, last_seq bigint)`,
        [JSON.stringify(rows.slice(i, i + 10_000))],
      );
    }
  }
}

/** the UTC date of an ISO time, as `(at at time zone 'UTC')::date` gives it */
function utcDay(at: string): string {
  return /^\d{4}-\d{2}-\d{2}T[^+-]*Z$/.test(at) ? at.slice(0, 10) : new Date(at).toISOString().slice(0, 10);
}

interface ActivityRow {
  project_id: string;
  task_id: string;
  source: string;
  annotator: string;
  at: string;
  tx: string;
  seq: string;
}

/**
 * Adds a run of answers to the counters in one statement: grouped by (project, task, source,
 * annotator, UTC day), an answer counted only if it lies after the row's last counted position
 * (replaying events counts nothing twice), the row's position then moved to the group's last.
 */
async function countAnswers(tx: SqlExecutor, rows: readonly ActivityRow[]): Promise<void> {
  await tx.query(
    `with e as (
       select r.project_id, r.task_id, r.source, r.annotator, (r.at at time zone 'UTC')::date as day, r.tx, r.seq
       from jsonb_to_recordset($1::jsonb) as r(project_id uuid, task_id text, source text, annotator text, at timestamptz, tx bigint, seq bigint)
     ), counted as (
       select e.project_id, e.task_id, e.source, e.annotator, e.day, count(*)::integer as answers, max(array[e.tx, e.seq]) as last
       from e
       left join rm_label_activity a
         on a.project_id = e.project_id and a.task_id = e.task_id and a.source = e.source and a.annotator = e.annotator and a.day = e.day
       where a.project_id is null or (e.tx, e.seq) > (a.last_tx, a.last_seq)
       group by e.project_id, e.task_id, e.source, e.annotator, e.day
     )
     insert into rm_label_activity (project_id, task_id, source, annotator, day, answers, last_tx, last_seq)
     select project_id, task_id, source, annotator, day, answers, last[1], last[2] from counted
     on conflict (project_id, task_id, source, annotator, day) do update
       set answers = rm_label_activity.answers + excluded.answers, last_tx = excluded.last_tx, last_seq = excluded.last_seq`,
    [JSON.stringify(rows)],
  );
}
