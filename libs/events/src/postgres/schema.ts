import type { SqlExecutor } from '../sql.ts';

/**
 * The log: one `events` table. `position` comes from a sequence, `tx_id` is the writing
 * transaction; readers order by the pair (see checkpoint.ts). `streams` holds each stream's
 * last revision and is the row locked for optimistic concurrency.
 */
export const EVENT_STORE_SCHEMA = `
create table if not exists events (
  position   bigint generated always as identity primary key,
  tx_id      xid8 not null default pg_current_xact_id(),
  id         uuid not null unique,
  stream_id  text not null,
  revision   bigint not null,
  type       text not null,
  schema     integer not null,
  data       jsonb not null,
  meta       jsonb not null,
  unique (stream_id, revision)
);
create index if not exists events_tx_position on events (tx_id, position);
create table if not exists streams (
  stream_id  text primary key,
  revision   bigint not null
);
create table if not exists artifacts (
  hash         text primary key,
  size         bigint not null,
  content_type text not null,
  chunks       integer not null,
  created_at   timestamptz not null default now()
);
create table if not exists artifact_chunks (
  hash   text not null references artifacts (hash) on delete cascade,
  idx    integer not null,
  bytes  bytea not null,
  primary key (hash, idx)
);
`;

export async function migrateEventStore(sql: SqlExecutor): Promise<void> {
  // Concurrent first starts of several processes must not race on CREATE TABLE.
  await sql.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(7263001)');
    await tx.exec(EVENT_STORE_SCHEMA);
  });
}
