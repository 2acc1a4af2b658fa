import type { SqlExecutor } from '@refinery/events';

/** A column of a bulk insert: its name and SQL type (`jsonb` columns take JSON text or null). */
export type BulkColumn = readonly [name: string, type: string];

/** rows per COPY chunk of a bulk load */
export const BULK_CHUNK = 20_000;

/**
 * Rows for a bulk load, kept as COPY text (one string per chunk of rows): a fold that holds a
 * million rows until it writes them holds a few hundred large strings instead of millions of
 * small objects (which the garbage collector walked again and again), and the driver sends them
 * as they are with `COPY … FROM STDIN` (pg-copy-streams on a server, /dev/blob in PGlite) —
 * cheaper for the server than the `unnest` of array literals it replaced. Values: strings,
 * numbers, booleans, null; `jsonb` columns take JSON text.
 *
 * `stream(tx)` starts writing sealed chunks through an open transaction as they fill (a fold
 * whose rows need no later state writes them while it still reads the log).
 */
export class BulkRows {
  private readonly chunks: string[] = [];
  private current: string[] = [];
  private size = 0;
  private sink: { tx: SqlExecutor; pending: Promise<void> } | undefined;

  constructor(
    readonly table: string,
    readonly columns: readonly BulkColumn[],
    private readonly chunkRows = BULK_CHUNK,
  ) {}

  /** rows pushed and not yet written by `insert` (streamed ones included) */
  get length(): number {
    return this.size;
  }

  push(row: readonly unknown[]): void {
    this.current.push(copyLine(row, this.columns.length));
    this.size++;
    if (this.current.length >= this.chunkRows) this.seal();
  }

  /** From now on, every full chunk is written through `tx` at once (one COPY each, in order). */
  stream(tx: SqlExecutor): void {
    if (this.sink) throw new Error(`${this.table}: already streaming`);
    this.sink = { tx, pending: Promise.resolve() };
    for (const chunk of this.chunks.splice(0)) this.send(chunk);
  }

  /** Writes every row pushed so far (after the streamed chunks, through `tx`) and forgets them. */
  async insert(tx: SqlExecutor): Promise<void> {
    this.seal();
    const sink = this.sink;
    this.sink = undefined;
    this.size = 0;
    if (sink) {
      if (sink.tx !== tx) throw new Error(`${this.table}: insert must use the transaction the rows stream through`);
      await sink.pending;
      return;
    }
    const chunks = this.chunks.splice(0);
    if (chunks.length) await copyRows(tx, this.table, this.columns, chunks);
  }

  private seal(): void {
    if (this.current.length === 0) return;
    const chunk = this.current.join('');
    this.current = [];
    if (this.sink) this.send(chunk);
    else this.chunks.push(chunk);
  }

  private send(chunk: string): void {
    const sink = this.sink!;
    // In order, one at a time; a failure skips the rest and surfaces in `insert`.
    sink.pending = sink.pending.then(() => copyRows(sink.tx, this.table, this.columns, [chunk]));
    sink.pending.catch(() => undefined);
  }
}

async function copyRows(tx: SqlExecutor, table: string, columns: readonly BulkColumn[], chunks: readonly string[]): Promise<void> {
  await tx.copyFrom(`copy ${table} (${columns.map(([name]) => name).join(', ')}) from stdin`, chunks);
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One row in COPY's text format: fields separated by tabs, `\N` for null, backslash escapes. */
export function copyLine(row: readonly unknown[], width = row.length): string {
  let line = '';
  for (let c = 0; c < width; c++) {
    if (c > 0) line += '\t';
    line += copyField(row[c]);
  }
  return line + '\n';
}

function copyField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  const s = String(v);
  return SPECIAL.test(s) ? s.replace(SPECIALS, (c) => ESCAPES[c]!) : s;
}

/** Inserts rows in one COPY (see `BulkRows`). */
export async function insertRows(tx: SqlExecutor, table: string, columns: readonly BulkColumn[], rows: readonly (readonly unknown[])[]): Promise<void> {
  const bulk = new BulkRows(table, columns);
  for (const row of rows) bulk.push(row);
  await bulk.insert(tx);
}

/**
 * Runs `load` with the table's secondary indexes and primary key dropped, and builds them again
 * afterwards, when the table holds fewer rows than are about to be inserted: building an index
 * once is several times cheaper than maintaining it row by row (rm_record_labels, 0.8M rows:
 * 15 s with its three indexes, 0.8 s + 9.6 s without and built after). Inside the caller's
 * transaction: a failure restores them, and other sessions wait for the table (ACCESS
 * EXCLUSIVE) until it commits. Unique indexes other than the primary key are kept.
 */
export async function withIndexesDeferred(tx: SqlExecutor, table: string, inserting: number, load: () => Promise<void>): Promise<void> {
  if (inserting < 10_000) return load();
  const present = await tx.query<{ n: number }>(`select count(*)::int as n from (select 1 from ${table} limit $1) x`, [inserting]);
  if ((present.rows[0]?.n ?? 0) >= inserting) return load();
  const rebuild = await dropIndexes(tx, table);
  await load();
  await rebuild();
}

/**
 * Drops the table's secondary indexes and primary key (unique indexes other than the primary
 * key are kept) and returns what builds them again — for a load into an empty table that starts
 * before its size is known (a fold streaming its rows, `BulkRows.stream`). Same transaction rules
 * as `withIndexesDeferred`.
 */
export async function dropIndexes(tx: SqlExecutor, table: string): Promise<() => Promise<void>> {
  const indexes = await tx.query<{ name: string; def: string }>(
    `select c.relname as name, pg_get_indexdef(x.indexrelid) as def
     from pg_index x join pg_class c on c.oid = x.indexrelid
     where x.indrelid = $1::regclass and not x.indisunique`,
    [table],
  );
  const pk = await tx.query<{ name: string; def: string }>(`select conname as name, pg_get_constraintdef(oid) as def from pg_constraint where conrelid = $1::regclass and contype = 'p'`, [table]);
  for (const index of indexes.rows) await tx.query(`drop index ${quoteIdent(index.name)}`);
  for (const c of pk.rows) await tx.query(`alter table ${table} drop constraint ${quoteIdent(c.name)}`);
  return async () => {
    // The sorts of the builds fit in memory (the server's default, 64 MB, spilled to disk).
    if (tx.dialect === 'pg') await tx.query(`select set_config('maintenance_work_mem', '256MB', true)`);
    for (const c of pk.rows) await tx.query(`alter table ${table} add constraint ${quoteIdent(c.name)} ${c.def}`);
    for (const index of indexes.rows) await tx.query(index.def);
  };
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
