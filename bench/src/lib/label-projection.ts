import type { Recorded, SqlExecutor } from '@refinery/events';
import type { Projection } from '@refinery/projector';
import type { BenchLabelAssigned } from './events.ts';

/**
 * A realistic projection of label events: one row per event in `<name>_rows` and a per-stream
 * counter in `<name>_stream_counts`, each written with one multi-row statement per batch
 * (`jsonb_to_recordset`), never one query per event.
 */
export function labelProjection(name: string, batchSize: number): Projection & { tables: { rows: string; counts: string } } {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`projection name ${name} must be a plain SQL identifier`);
  const rows = `${name}_rows`;
  const counts = `${name}_stream_counts`;
  return {
    name,
    version: 1,
    handles: ['BenchLabelAssigned'],
    batchSize,
    tables: { rows, counts },
    async setup(sql: SqlExecutor) {
      await sql.exec(`
        create table if not exists ${rows} (
          event_id    uuid primary key,
          position    text not null,
          stream_id   text not null,
          revision    bigint not null,
          record_id   text not null,
          label_id    uuid not null,
          label_name  text not null,
          source      text not null,
          confidence  real not null,
          assigned_by uuid not null,
          at          timestamptz not null
        );
        create table if not exists ${counts} (
          stream_id     text primary key,
          events        bigint not null,
          last_revision bigint not null
        );`);
    },
    async reset(sql: SqlExecutor) {
      await sql.exec(`truncate ${rows}, ${counts}`);
    },
    async apply(tx: SqlExecutor, events: readonly Recorded[]) {
      const perStream = new Map<string, { stream_id: string; events: number; last_revision: string }>();
      const eventRows = events.map((e) => {
        const d = e.data as BenchLabelAssigned['data'];
        const c = perStream.get(e.streamId);
        if (c) {
          c.events++;
          c.last_revision = e.revision.toString();
        } else perStream.set(e.streamId, { stream_id: e.streamId, events: 1, last_revision: e.revision.toString() });
        return {
          event_id: e.id,
          position: e.position,
          stream_id: e.streamId,
          revision: e.revision.toString(),
          record_id: d.recordId,
          label_id: d.labelId,
          label_name: d.labelName,
          source: d.source,
          confidence: d.confidence,
          assigned_by: d.assignedBy,
          at: e.meta.at,
        };
      });
      await tx.query(
        `insert into ${rows} (event_id, position, stream_id, revision, record_id, label_id, label_name, source, confidence, assigned_by, at)
         select event_id, position, stream_id, revision, record_id, label_id, label_name, source, confidence, assigned_by, at
         from jsonb_to_recordset($1::jsonb) as x(event_id uuid, position text, stream_id text, revision bigint, record_id text,
           label_id uuid, label_name text, source text, confidence real, assigned_by uuid, at timestamptz)`,
        [JSON.stringify(eventRows)],
      );
      await tx.query(
        `insert into ${counts} (stream_id, events, last_revision)
         select stream_id, events, last_revision from jsonb_to_recordset($1::jsonb) as x(stream_id text, events bigint, last_revision bigint)
         on conflict (stream_id) do update
           set events = ${counts}.events + excluded.events, last_revision = greatest(${counts}.last_revision, excluded.last_revision)`,
        [JSON.stringify([...perStream.values()])],
      );
    },
  };
}
