import type { Projection } from '@refinery/projector';
import type { ProjectDeleted, RecordsImported, Recorded } from '@refinery/events';

/**
 * Records with their attribute values, in import order (`seq`), and a record count per
 * project kept in the same projection so the two always agree.
 */
export const recordsProjection: Projection = {
  name: 'records',
  version: 1,
  handles: ['RecordsImported', 'ProjectDeleted'],
  // RecordsImported carries up to a thousand records: keep transactions moderate.
  batchSize: 20,
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_records (
        project_id  uuid not null,
        id          text not null,
        seq         bigint generated always as identity,
        import_id   uuid not null,
        "values"    jsonb not null,
        primary key (project_id, id)
      );
      create index if not exists rm_records_seq on rm_records (project_id, seq);
      -- equals / in filters on attribute values probe this: values @> {"attr": v} (docs/data-browser.md)
      create index if not exists rm_records_values on rm_records using gin ("values" jsonb_path_ops);
      create table if not exists rm_project_stats (
        project_id    uuid primary key,
        record_count  bigint not null default 0
      );
    `);
  },
  async reset(sql) {
    await sql.exec('truncate rm_records restart identity; delete from rm_project_stats;');
  },
  async apply(tx, events) {
    for (const e of events as readonly Recorded<RecordsImported | ProjectDeleted>[]) {
      if (e.type === 'ProjectDeleted') {
        await tx.query('delete from rm_records where project_id = $1', [e.data.projectId]);
        await tx.query('delete from rm_project_stats where project_id = $1', [e.data.projectId]);
        continue;
      }
      const inserted = await tx.query(
        `insert into rm_records (project_id, id, import_id, "values")
         select $1, r.id, $2, r."values"
         from rows from (jsonb_to_recordset($3::jsonb) as (id text, "values" jsonb)) with ordinality as r(id, "values", ord)
         order by ord
         on conflict (project_id, id) do nothing`,
        [e.data.projectId, e.data.importId, JSON.stringify(e.data.records)],
      );
      await tx.query(
        `insert into rm_project_stats (project_id, record_count) values ($1, $2)
         on conflict (project_id) do update set record_count = rm_project_stats.record_count + excluded.record_count`,
        [e.data.projectId, inserted.rowCount],
      );
    }
  },
};
