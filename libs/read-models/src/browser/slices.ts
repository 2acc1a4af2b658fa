import type { Projection } from '@refinery/projector';
import type { Filter, ProjectDeleted, Recorded, SliceEvent, SqlExecutor } from '@refinery/events';

/** Saved slices of the data browser (events on the project stream). */
export const slicesProjection: Projection = {
  name: 'slices',
  version: 1,
  handles: ['SliceSaved', 'SliceDeleted', 'ProjectDeleted'],
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_slices (
        project_id uuid not null,
        id         text not null,
        name       text not null,
        kind       text not null,
        filter     jsonb,
        record_ids jsonb,
        created_by text not null,
        created_at timestamptz not null,
        primary key (project_id, id)
      );
    `);
  },
  async reset(sql) {
    await sql.exec('delete from rm_slices');
  },
  async apply(tx, events) {
    for (const e of events as readonly Recorded<SliceEvent | ProjectDeleted>[]) {
      if (e.type === 'ProjectDeleted') await tx.query('delete from rm_slices where project_id = $1', [e.data.projectId]);
      else if (e.type === 'SliceDeleted') await tx.query('delete from rm_slices where project_id = $1 and id = $2', [e.data.projectId, e.data.sliceId]);
      else {
        await tx.query(
          `insert into rm_slices (project_id, id, name, kind, filter, record_ids, created_by, created_at) values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8)
           on conflict (project_id, id) do update set name = excluded.name, kind = excluded.kind, filter = excluded.filter, record_ids = excluded.record_ids`,
          [
            e.data.projectId,
            e.data.sliceId,
            e.data.name,
            e.data.kind,
            e.data.filter === undefined ? null : JSON.stringify(e.data.filter),
            e.data.recordIds === undefined ? null : JSON.stringify(e.data.recordIds),
            e.meta.actor,
            e.meta.at,
          ],
        );
      }
    }
  },
};

export interface SliceView {
  id: string;
  name: string;
  kind: 'dynamic' | 'static';
  filter: Filter | null;
  recordIds: string[] | null;
  recordCount: number | null;
  createdBy: string;
  createdAt: string;
}

export async function listSlices(sql: SqlExecutor, projectId: string): Promise<SliceView[]> {
  const r = await sql.query<{ id: string; name: string; kind: SliceView['kind']; filter: Filter | null; record_ids: string[] | null; created_by: string; created_at: string | Date }>(
    'select id, name, kind, filter, record_ids, created_by, created_at from rm_slices where project_id = $1 order by lower(name), id',
    [projectId],
  );
  return r.rows.map((s) => ({
    id: s.id,
    name: s.name,
    kind: s.kind,
    filter: s.filter,
    recordIds: s.record_ids,
    recordCount: s.record_ids ? s.record_ids.length : null,
    createdBy: s.created_by,
    createdAt: new Date(s.created_at).toISOString(),
  }));
}
