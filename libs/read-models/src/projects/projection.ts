import type { Projection } from '@refinery/projector';
import type { ProjectEvent, RecordImportStarted, Recorded } from '@refinery/events';

/** Projects with their name and attribute schema (record counts live with the records). */
export const projectsProjection: Projection = {
  name: 'projects',
  version: 1,
  handles: ['ProjectCreated', 'ProjectRenamed', 'ProjectDeleted', 'RecordImportStarted'],
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_projects (
        id          uuid primary key,
        name        text not null,
        created_at  timestamptz not null,
        created_by  text not null,
        attributes  jsonb not null default '[]'
      );
      create index if not exists rm_projects_created on rm_projects (created_at, id);
    `);
  },
  async reset(sql) {
    await sql.exec('delete from rm_projects');
  },
  async apply(tx, events) {
    for (const e of events as readonly Recorded<ProjectEvent | RecordImportStarted>[]) {
      switch (e.type) {
        case 'ProjectCreated':
          await tx.query(
            `insert into rm_projects (id, name, created_at, created_by) values ($1, $2, $3, $4) on conflict (id) do nothing`,
            [e.data.projectId, e.data.name, e.meta.at, e.meta.actor],
          );
          break;
        case 'ProjectRenamed':
          await tx.query('update rm_projects set name = $2 where id = $1', [e.data.projectId, e.data.name]);
          break;
        case 'ProjectDeleted':
          await tx.query('delete from rm_projects where id = $1', [e.data.projectId]);
          break;
        case 'RecordImportStarted':
          // New attributes are appended in file order; known ones keep their type.
          await tx.query(
            `update rm_projects p set attributes = p.attributes || coalesce((
               select jsonb_agg(a order by ord) from jsonb_array_elements($2::jsonb) with ordinality as x(a, ord)
               where not exists (select 1 from jsonb_array_elements(p.attributes) e where e->>'name' = a->>'name')
             ), '[]'::jsonb)
             where id = $1`,
            [e.data.projectId, JSON.stringify(e.data.attributes)],
          );
          break;
      }
    }
  },
};
