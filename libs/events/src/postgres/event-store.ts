import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { EventCatalog } from '../catalog.ts';
import { pollingSubscription } from '../polling-subscription.ts';
import { START, formatPosition, maxPosition, parsePosition } from '../checkpoint.ts';
import type { Event, NewEvent, Recorded } from '../envelope.ts';
import type { SqlDatabase, SqlExecutor } from '../sql.ts';
import {
  IdempotencyConflictError,
  WrongExpectedRevisionError,
  type AppendOptions,
  type AppendResult,
  type Appender,
  type EventStore,
  type ReadAllOptions,
  type ReadAllResult,
  type Subscription,
  type SubscriptionOptions,
} from '../store.ts';
import { migrateEventStore } from './schema.ts';

export const NOTIFY_CHANNEL = 'refinery_events';

interface EventRow {
  id: string;
  stream_id: string;
  revision: string;
  tx: string;
  seq: string;
  type: string;
  schema: number;
  data: unknown;
  meta: { actor: string; at: string; correlationId?: string; causationId?: string };
}

const SELECT_COLUMNS = `id::text, stream_id, revision::text, tx_id::text as tx, position::text as seq, type, schema, data, meta`;

export interface PostgresEventStoreOptions {
  catalog: EventCatalog;
  /** the clock, injectable for tests */
  now?: () => Date;
}

/** The event store on PostgreSQL, the same code for PGlite and a server. */
export class PostgresEventStore implements EventStore {
  private readonly appended = new EventEmitter();
  private readonly now: () => Date;
  private unlisten: (() => Promise<void>) | undefined;

  private constructor(
    readonly db: SqlDatabase,
    private readonly catalog: EventCatalog,
    now?: () => Date,
  ) {
    this.now = now ?? (() => new Date());
    this.appended.setMaxListeners(0);
  }

  static async open(db: SqlDatabase, options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    await migrateEventStore(db);
    const store = new PostgresEventStore(db, options.catalog, options.now);
    // Appends from other processes arrive as NOTIFY; appends from this one also emit locally.
    store.unlisten = await db.listen(NOTIFY_CHANNEL, () => store.appended.emit('appended'));
    return store;
  }

  async append<E extends Event>(streamId: string, events: readonly NewEvent<E>[], options: AppendOptions): Promise<AppendResult> {
    const result = await this.appendAlone(streamId, events, options);
    this.appended.emit('appended');
    return result;
  }

  /**
   * An append outside a caller's transaction, as one statement: lock the stream row, check the
   * expected revision, insert the events, move or create the stream row and notify — one round
   * trip where a transaction took five (begin, lock, insert, advance, commit); a label write is
   * mostly this. A statement is atomic on its own, so any conflict aborts all of it: an event id
   * already in the log (a retry: answered as the first append was) or a concurrent first append
   * to the same new stream (a revision conflict).
   */
  private async appendAlone<E extends Event>(streamId: string, events: readonly NewEvent<E>[], options: AppendOptions): Promise<AppendResult> {
    const { expected, prepared, meta } = this.prepare(events, options);
    const rows = prepared.map((e, i) => ({ id: e.id, ord: i + 1, type: e.type, schema: e.schema, data: e.data }));
    const kind = typeof expected === 'bigint' ? 'revision' : expected;
    // Other processes learn of appends through NOTIFY; PGlite has no other processes.
    const notify = this.db.dialect === 'pg';
    let result;
    for (let attempt = 0; ; attempt++) {
      try {
        result = await this.db.query<{ current: string; present: boolean; accepted: number; tx: string | null; seq: string | null; revision: string | null }>(
          `with cur as materialized (select revision from streams where stream_id = $3 for update),
           base as materialized (select coalesce((select revision from cur), -1) as current, exists (select 1 from cur) as present),
           ok as materialized (
             select current, present from base
             where case $5::text when 'any' then true when 'no_stream' then not present when 'stream_exists' then present
                   else present and current = $6::bigint end
           ),
           inserted as (
             insert into events (id, stream_id, revision, type, schema, data, meta)
             select x.id, $3, ok.current + x.ord, x.type, x.schema, x.data, $2::jsonb
             from ok, jsonb_to_recordset($1::jsonb) as x(id uuid, ord bigint, type text, schema integer, data jsonb)
             order by x.ord
             returning tx_id, position, revision
           ),
           advanced as (update streams set revision = ok.current + $4 from ok where stream_id = $3 and ok.present returning 1),
           created as (insert into streams (stream_id, revision) select $3, ok.current + $4 from ok where not ok.present returning 1)${
             // a CTE that modifies nothing runs only when referenced: the select list asks for it
             notify ? `, notified as (select pg_notify('${NOTIFY_CHANNEL}', '') from inserted limit 1)` : ''
           }
           select base.current::text as current, base.present, (select count(*) from ok)::int as accepted,
                  i.tx_id::text as tx, i.position::text as seq, i.revision::text as revision${notify ? ', (select count(*) from notified) as notified' : ''}
           from base left join inserted i on true
           order by i.position`,
          [JSON.stringify(rows), JSON.stringify(meta), streamId, prepared.length, kind, typeof expected === 'bigint' ? expected.toString() : null],
        );
      } catch (err) {
        const constraint = (err as { code?: string; constraint?: string }).code === '23505' ? (err as { constraint?: string }).constraint : undefined;
        if (constraint === 'events_id_key') {
          // A retried append that already landed: answer it as it was (or refuse ids used elsewhere).
          const replay = await this.previousAppend(this.db, streamId, prepared);
          if (replay) return replay;
          throw new IdempotencyConflictError(prepared.map((e) => e.id));
        }
        if (constraint === 'events_stream_id_revision_key' || constraint === 'streams_pkey') {
          // Another first append to this new stream committed while this one waited for it: with
          // 'any' this one goes after it (the row exists now, so the next try locks it).
          if (expected === 'any' && attempt < 3) continue;
          throw new WrongExpectedRevisionError(streamId, expected, await this.streamRevision(streamId));
        }
        throw err;
      }
      break;
    }
    const head = result.rows[0]!;
    if (head.accepted === 0) {
      // A retried append that already landed fails the revision check: answer it as it was.
      const replay = await this.previousAppend(this.db, streamId, prepared);
      if (replay) return replay;
      throw new WrongExpectedRevisionError(streamId, expected, head.present ? BigInt(head.current) : undefined);
    }
    const last = result.rows[result.rows.length - 1]!;
    return { revision: BigInt(last.revision!), position: formatPosition({ tx: BigInt(last.tx!), seq: BigInt(last.seq!) }) };
  }

  async transaction<T>(work: (appender: Appender) => Promise<T>): Promise<T> {
    const result = await this.db.transaction((tx) => work({ append: (s, e, o) => this.appendIn(tx, s, e, o) }));
    this.appended.emit('appended');
    return result;
  }

  /** Validates and encodes the events (the catalog's schemas) and builds the append's metadata. */
  private prepare<E extends Event>(events: readonly NewEvent<E>[], options: AppendOptions) {
    if (events.length === 0) throw new Error('append needs at least one event');
    const prepared = events.map((e) => {
      const { data, schema } = this.catalog.prepare(e.type, e.data);
      return { id: e.id ?? randomUUID(), type: e.type, data, schema };
    });
    const meta = {
      actor: options.actor,
      at: this.now().toISOString(),
      ...(options.correlationId ? { correlationId: options.correlationId } : {}),
      ...(options.causationId ? { causationId: options.causationId } : {}),
    };
    return { expected: options.expectedRevision ?? 'any', prepared, meta };
  }

  private async appendIn<E extends Event>(
    tx: SqlExecutor,
    streamId: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const { expected, prepared, meta } = this.prepare(events, options);

    let current = await this.lockStream(tx, streamId);
    let claimed = false;
    if (current === undefined && expected !== 'stream_exists' && typeof expected !== 'bigint') {
      // A new stream: claim its row before writing events. Two first appends find no row to lock;
      // the second waits here for the first to commit, then finds the row (and locks it) instead
      // of colliding on the events' (stream, revision) key with a bare unique violation.
      const r = await tx.query('insert into streams (stream_id, revision) values ($1, $2) on conflict do nothing', [
        streamId,
        (BigInt(prepared.length) - 1n).toString(),
      ]);
      if (r.rowCount === 1) claimed = true;
      else current = await this.lockStream(tx, streamId);
    }
    try {
      checkExpected(streamId, expected, current);
    } catch (err) {
      // A retried append that already landed fails the revision check: answer it as it was.
      const replay = await this.previousAppend(tx, streamId, prepared);
      if (replay) return replay;
      throw err;
    }

    if (!claimed && current === undefined) throw new Error(`append to ${streamId}: the stream row vanished`); // rows are never deleted
    const first = current === undefined ? 0n : current + 1n;
    const last = first + BigInt(prepared.length - 1);
    const rows = prepared.map((e, i) => ({
      id: e.id,
      stream_id: streamId,
      revision: (first + BigInt(i)).toString(),
      type: e.type,
      schema: e.schema,
      data: e.data,
    }));
    // Event ids are idempotency keys: rows whose id is already in the log are skipped here and
    // sorted out below, so the common path needs no lookup first. The stream's revision moves
    // (unless this append created the row) and other processes are notified in the same
    // statement, only when every row went in: one round trip instead of three per append.
    const advance = claimed
      ? ''
      : `, advanced as (update streams set revision = $4 where stream_id = $3 and (select count(*) from inserted) = $5 returning 1)`;
    // Other processes learn of appends through NOTIFY; PGlite has no other processes.
    const notify = this.db.dialect === 'pg' ? `, pg_notify('${NOTIFY_CHANNEL}', '') as notified` : '';
    const inserted = await tx.query<{ tx: string; seq: string }>(
      `with inserted as (
         insert into events (id, stream_id, revision, type, schema, data, meta)
         select id, stream_id, revision, type, schema, data, $2::jsonb
         from jsonb_to_recordset($1::jsonb) as x(id uuid, stream_id text, revision bigint, type text, schema integer, data jsonb)
         order by revision
         on conflict (id) do nothing
         returning tx_id, position
       )${advance}
       select tx_id::text as tx, position::text as seq${notify} from inserted`,
      claimed
        ? [JSON.stringify(rows), JSON.stringify(meta)]
        : [JSON.stringify(rows), JSON.stringify(meta), streamId, last.toString(), prepared.length],
    );
    if (inserted.rows.length !== prepared.length) {
      const replay = inserted.rows.length === 0 ? await this.previousAppend(tx, streamId, prepared) : undefined;
      if (replay) return replay;
      throw new IdempotencyConflictError(prepared.map((e) => e.id));
    }
    const lastRow = inserted.rows.reduce((a, b) => (BigInt(a.seq) > BigInt(b.seq) ? a : b));
    return { revision: last, position: formatPosition({ tx: BigInt(lastRow.tx), seq: BigInt(lastRow.seq) }) };
  }

  /** Re-appending events whose ids are already in the log is a no-op returning the first result. */
  private async previousAppend(
    tx: SqlExecutor,
    streamId: string,
    prepared: { id: string; type: string }[],
  ): Promise<AppendResult | undefined> {
    const existing = await tx.query<{ id: string; stream_id: string; revision: string; type: string; tx: string; seq: string }>(
      `select id::text, stream_id, revision::text, type, tx_id::text as tx, position::text as seq
       from events where id in (select value::uuid from jsonb_array_elements_text($1::jsonb))`,
      [JSON.stringify(prepared.map((e) => e.id))],
    );
    if (existing.rows.length === 0) return undefined;
    const byId = new Map(existing.rows.map((r) => [r.id, r]));
    const sameAppend =
      existing.rows.length === prepared.length &&
      prepared.every((e) => byId.get(e.id)?.stream_id === streamId && byId.get(e.id)?.type === e.type);
    if (!sameAppend) throw new IdempotencyConflictError(existing.rows.map((r) => r.id));
    const last = existing.rows.reduce((a, b) => (BigInt(a.revision) > BigInt(b.revision) ? a : b));
    return { revision: BigInt(last.revision), position: formatPosition({ tx: BigInt(last.tx), seq: BigInt(last.seq) }) };
  }

  private async lockStream(tx: SqlExecutor, streamId: string): Promise<bigint | undefined> {
    const r = await tx.query<{ revision: string }>('select revision::text from streams where stream_id = $1 for update', [streamId]);
    return r.rows[0] ? BigInt(r.rows[0].revision) : undefined;
  }

  async streamRevision(streamId: string): Promise<bigint | undefined> {
    const r = await this.db.query<{ revision: string }>('select revision::text from streams where stream_id = $1', [streamId]);
    return r.rows[0] ? BigInt(r.rows[0].revision) : undefined;
  }

  async readStream(streamId: string, options: { fromRevision?: bigint; limit?: number } = {}): Promise<Recorded[]> {
    const r = await this.db.query<EventRow>(
      `select ${SELECT_COLUMNS} from events where stream_id = $1 and events.revision >= $2 order by events.revision limit $3`,
      [streamId, (options.fromRevision ?? 0n).toString(), options.limit ?? 1_000_000],
    );
    return r.rows.map((row) => this.toRecorded(row));
  }

  async readAll(after: string, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const from = parsePosition(after);
    const limit = options.limit ?? 1000;
    const params: unknown[] = [from.tx.toString(), from.seq.toString(), limit];
    let typeFilter = '';
    if (options.types) {
      params.push([...options.types]);
      // `= any(array)` keeps the planner on the (tx_id, position) index; a sub-select made it sort the log.
      typeFilter = `and type = any($4::text[])`;
    }
    // One round trip: the snapshot's xmin, the next page, and the newest event below xmin (for a
    // short page) in one statement — the log tail is read after every append, so three
    // statements per read were a large share of the server's work per label.
    // The xmin cut is applied to the ordered rows here rather than in WHERE: a range predicate
    // on tx_id let the planner (without fresh statistics, e.g. right after a bulk append) swap
    // the ordered index scan for a sort of the rest of the log.
    const r = await this.db.query<Partial<EventRow> & { snap_xmin: string; below_tx: string | null; below_seq: string | null }>(
      `with snap as materialized (select pg_snapshot_xmin(pg_current_snapshot()) as xmin)
       select e.*, snap.xmin::text as snap_xmin, below.tx::text as below_tx, below.seq::text as below_seq
       from snap
       left join lateral (
         select ${SELECT_COLUMNS}, tx_id as o_tx, position as o_seq from events
         where (tx_id, position) > ($1::text::xid8, $2::bigint) ${typeFilter}
         order by tx_id, position limit $3
       ) e on true
       left join lateral (
         select tx_id as tx, position as seq from events where tx_id < snap.xmin order by tx_id desc, position desc limit 1
       ) below on true
       order by e.o_tx, e.o_seq`,
      params,
    );
    const first = r.rows[0];
    if (!first) throw new Error('readAll: the snapshot row is missing');
    const xmin = BigInt(first.snap_xmin);
    const rows = first.id === null || first.id === undefined ? [] : (r.rows as EventRow[]);
    let visible = rows.length;
    for (let i = 0; i < rows.length; i++) {
      if (BigInt(rows[i]!.tx) >= xmin) {
        visible = i;
        break;
      }
    }
    const events = rows.slice(0, visible).map((row) => this.toRecorded(row));
    let checkpoint = events.length ? parsePosition(events[events.length - 1]!.position) : from;
    // A short page means every event below xmin has been seen, including skipped types:
    // move to the last of them, so a waiter for any of them is released. (Not (xmin - 1, max):
    // that moves with every transaction, event or not, and a reader writing its checkpoint
    // would chase its own tail.)
    if (events.length < limit && first.below_tx !== null) {
      checkpoint = maxPosition(checkpoint, { tx: BigInt(first.below_tx), seq: BigInt(first.below_seq!) });
    }
    return { events, checkpoint: formatPosition(checkpoint), ...(visible < rows.length ? { heldBack: true } : {}) };
  }

  async head(): Promise<string> {
    const r = await this.db.query<{ tx: string; seq: string }>(
      `with snap as materialized (select pg_snapshot_xmin(pg_current_snapshot()) as xmin)
       select tx_id::text as tx, position::text as seq from events, snap where tx_id < snap.xmin
       order by tx_id desc, position desc limit 1`,
      [],
    );
    const row = r.rows[0];
    return formatPosition(row ? { tx: BigInt(row.tx), seq: BigInt(row.seq) } : START);
  }

  async newestCommitted(): Promise<string> {
    const r = await this.db.query<{ tx: string; seq: string }>(`select tx_id::text as tx, position::text as seq from events order by tx_id desc, position desc limit 1`);
    const row = r.rows[0];
    return formatPosition(row ? { tx: BigInt(row.tx), seq: BigInt(row.seq) } : START);
  }

  subscribe(after: string, options: SubscriptionOptions): Subscription {
    return pollingSubscription((a, o) => this.readAll(a, o), this.appended, after, options);
  }

  /** Subscribe to "something was appended" without reading (for projector wake-ups). */
  onAppended(listener: () => void): () => void {
    this.appended.on('appended', listener);
    return () => this.appended.off('appended', listener);
  }

  private toRecorded(row: EventRow): Recorded {
    return {
      id: row.id,
      streamId: row.stream_id,
      revision: BigInt(row.revision),
      position: formatPosition({ tx: BigInt(row.tx), seq: BigInt(row.seq) }),
      type: row.type,
      data: this.catalog.upcast(row.type, row.schema, row.data),
      meta: { ...row.meta, schema: row.schema },
    };
  }

  async close(): Promise<void> {
    this.appended.removeAllListeners();
    await this.unlisten?.();
  }
}

function checkExpected(streamId: string, expected: AppendOptions['expectedRevision'], current: bigint | undefined): void {
  if (expected === undefined || expected === 'any') return;
  if (expected === 'no_stream' && current === undefined) return;
  if (expected === 'stream_exists' && current !== undefined) return;
  if (typeof expected === 'bigint' && current === expected) return;
  throw new WrongExpectedRevisionError(streamId, expected, current);
}
