import type { Projection } from '@refinery/projector';
import type { GoldLabelSet, LabelingTaskRemoved, ProjectDeleted, Recorded, RecordLabeled } from '@refinery/events';

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
    await sql.exec('delete from rm_label_activity;');
  },
  async apply(tx, events) {
    for (const e of events as readonly Recorded<Handled>[]) {
      switch (e.type) {
        case 'RecordLabeled':
        case 'GoldLabelSet': {
          const d = e.data;
          const source = e.type === 'RecordLabeled' ? 'manual' : 'gold';
          const annotator = e.type === 'RecordLabeled' ? e.data.annotator : e.meta.actor;
          const [txId, seq] = e.position.split('/');
          await tx.query(
            `insert into rm_label_activity (project_id, task_id, source, annotator, day, answers, last_tx, last_seq)
             values ($1, $2, $3, $4, ($5::timestamptz at time zone 'UTC')::date, 1, $6, $7)
             on conflict (project_id, task_id, source, annotator, day) do update set answers = rm_label_activity.answers + 1, last_tx = excluded.last_tx, last_seq = excluded.last_seq
             where (rm_label_activity.last_tx, rm_label_activity.last_seq) < (excluded.last_tx, excluded.last_seq)`,
            [d.projectId, d.taskId, source, annotator, e.meta.at, txId, seq],
          );
          break;
        }
        case 'LabelingTaskRemoved':
          await tx.query('delete from rm_label_activity where project_id = $1 and task_id = $2', [e.data.projectId, e.data.taskId]);
          break;
        case 'ProjectDeleted':
          await tx.query('delete from rm_label_activity where project_id = $1', [e.data.projectId]);
          break;
      }
    }
  },
};
