import type { Projection } from '@refinery/projector';
import type { LabelingConfigEvent, ProjectDeleted, Recorded } from '@refinery/events';

/** Labeling tasks, their labels and the project's labeling settings. */
export const labelingConfigProjection: Projection = {
  name: 'labeling_config',
  version: 1,
  handles: [
    'LabelingTaskAdded',
    'LabelingTaskRenamed',
    'LabelingTaskRemoved',
    'LabelAdded',
    'LabelChanged',
    'LabelsMerged',
    'LabelRemoved',
    'LabelingSettingsChanged',
    'ProjectDeleted',
  ],
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_tasks (
        project_id    uuid not null,
        id            text not null,
        name          text not null,
        kind          text not null,
        attribute     text,
        allow_overlap boolean not null,
        ord           bigint not null,
        primary key (project_id, id)
      );
      create table if not exists rm_task_labels (
        project_id  uuid not null,
        task_id     text not null,
        id          text not null,
        name        text not null,
        color       text not null,
        hotkey      text,
        description text not null,
        ord         bigint not null,
        primary key (project_id, task_id, id)
      );
      create table if not exists rm_labeling_settings (
        project_id     uuid primary key,
        blind_labeling boolean not null
      );
    `);
  },
  async reset(sql) {
    await sql.exec('delete from rm_tasks; delete from rm_task_labels; delete from rm_labeling_settings;');
  },
  async apply(tx, events) {
    for (const e of events as readonly Recorded<LabelingConfigEvent | ProjectDeleted>[]) {
      const ord = e.position.split('/')[1]!;
      switch (e.type) {
        case 'LabelingTaskAdded':
          await tx.query(
            `insert into rm_tasks (project_id, id, name, kind, attribute, allow_overlap, ord) values ($1, $2, $3, $4, $5, $6, $7)
             on conflict (project_id, id) do nothing`,
            [e.data.projectId, e.data.taskId, e.data.name, e.data.kind, e.data.attribute, e.data.allowOverlap, ord],
          );
          break;
        case 'LabelingTaskRenamed':
          await tx.query('update rm_tasks set name = $3 where project_id = $1 and id = $2', [e.data.projectId, e.data.taskId, e.data.name]);
          break;
        case 'LabelingTaskRemoved':
          await tx.query('delete from rm_tasks where project_id = $1 and id = $2', [e.data.projectId, e.data.taskId]);
          await tx.query('delete from rm_task_labels where project_id = $1 and task_id = $2', [e.data.projectId, e.data.taskId]);
          break;
        case 'LabelAdded':
          await tx.query(
            `insert into rm_task_labels (project_id, task_id, id, name, color, hotkey, description, ord) values ($1, $2, $3, $4, $5, $6, $7, $8)
             on conflict (project_id, task_id, id) do nothing`,
            [e.data.projectId, e.data.taskId, e.data.labelId, e.data.name, e.data.color, e.data.hotkey, e.data.description, ord],
          );
          break;
        case 'LabelChanged':
          await tx.query(
            `update rm_task_labels set name = $4, color = $5, hotkey = $6, description = $7 where project_id = $1 and task_id = $2 and id = $3`,
            [e.data.projectId, e.data.taskId, e.data.labelId, e.data.name, e.data.color, e.data.hotkey, e.data.description],
          );
          break;
        case 'LabelsMerged':
          await tx.query(
            `delete from rm_task_labels where project_id = $1 and task_id = $2 and id in (select jsonb_array_elements_text($3::jsonb))`,
            [e.data.projectId, e.data.taskId, JSON.stringify(e.data.sourceLabelIds)],
          );
          break;
        case 'LabelRemoved':
          await tx.query('delete from rm_task_labels where project_id = $1 and task_id = $2 and id = $3', [e.data.projectId, e.data.taskId, e.data.labelId]);
          break;
        case 'LabelingSettingsChanged':
          await tx.query(
            `insert into rm_labeling_settings (project_id, blind_labeling) values ($1, $2)
             on conflict (project_id) do update set blind_labeling = excluded.blind_labeling`,
            [e.data.projectId, e.data.blindLabeling],
          );
          break;
        case 'ProjectDeleted':
          for (const table of ['rm_tasks', 'rm_task_labels', 'rm_labeling_settings']) {
            await tx.query(`delete from ${table} where project_id = $1`, [e.data.projectId]);
          }
          break;
      }
    }
  },
};
