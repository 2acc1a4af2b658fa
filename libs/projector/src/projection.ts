import type { Recorded, SqlDatabase, SqlExecutor } from '@refinery/events';

/**
 * A read model built from the log. `apply` runs inside the transaction that also stores the
 * projection's checkpoint, so a crash at any point neither loses nor doubles an event.
 */
export interface Projection {
  readonly name: string;
  /** bump when the code changes in a way that needs the read model rebuilt; it then rebuilds itself */
  readonly version: number;
  /** event types it reads; the log is read filtered to these */
  readonly handles: readonly string[];
  /** events per transaction (default 200); lower it for projections of large events */
  readonly batchSize?: number;
  /**
   * After a batch that emptied the backlog, wait this long (ms) before the next one, so events
   * arriving meanwhile share a transaction. For read models no one reads their own write from
   * interactively (history, dashboards): at a few hundred labels/s, one transaction per interval
   * instead of one per event — less work for the database, more room for the read models that
   * label writes wait on. Default 0.
   */
  readonly coalesceMs?: number;
  /** creates its tables; idempotent */
  setup(sql: SqlExecutor): Promise<void>;
  /** removes every row it wrote, before a rebuild */
  reset(sql: SqlExecutor): Promise<void>;
  apply(tx: SqlExecutor, events: readonly Recorded[]): Promise<void>;
  /**
   * Optional fast path from an empty read model (after a reset or a version change, and in a
   * fresh as-of view): the events up to the head are folded in memory, page by page, and the
   * final rows written once, in the transaction that stores the checkpoint. It must leave
   * exactly the rows `apply` leaves over the same events (each projection has a spec for that).
   */
  catchUp?(): CatchUp;
}

/** An in-memory fold of a read model from the start of the log (see `Projection.catchUp`). */
export interface CatchUp {
  /**
   * Optional, PostgreSQL server only: called once before the first `add` with the executor that
   * `finish` will get, so that rows which need no later state can be written while the log is
   * still read and folded (`dropIndexes` + `BulkRows.stream`): the server loads them on its own
   * core meanwhile. In the runner it is the final transaction, open for the whole catch-up — it
   * holds a transaction id, so events appended meanwhile stay invisible to readers of the log
   * until it commits, as they already did during the final write.
   */
  begin?(tx: SqlExecutor): Promise<void>;
  /** folds a page of the projection's events, in log order */
  add(events: readonly Recorded[]): void;
  /** writes the folded read model into its (empty) tables */
  finish(tx: SqlExecutor): Promise<void>;
}

export const PROJECTOR_SCHEMA = `
create table if not exists projection_checkpoints (
  name        text primary key,
  version     integer not null,
  checkpoint  text not null,
  owner       text,
  lease_until timestamptz not null default 'epoch',
  updated_at  timestamptz not null default now(),
  last_error  text
);
`;

/**
 * Creates the checkpoint table and the consumers' own tables (projections and reactors share
 * `projection_checkpoints`); safe to call from several processes at once.
 */
export async function setupCheckpoints(db: SqlDatabase, consumers: readonly { setup?(sql: SqlExecutor): Promise<void> }[]): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(7263002)');
    await tx.exec(PROJECTOR_SCHEMA);
    for (const c of consumers) await c.setup?.(tx);
  });
}
