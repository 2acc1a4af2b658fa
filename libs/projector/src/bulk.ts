import type { SqlExecutor } from '@refinery/events';

/** A column of a bulk insert: its name and SQL type (`jsonb` columns take JSON text or null). */
export type BulkColumn = readonly [name: string, type: string];

/** rows per statement of a bulk insert */
export const BULK_CHUNK = 20_000;

/**
 * Rows for a bulk insert, kept as PostgreSQL array literals, one per column and chunk: a fold
 * that holds a million rows until it writes them holds a few hundred large strings instead of
 * millions of small objects (which the garbage collector walked again and again), and the
 * driver sends them as they are. Values: strings, numbers, booleans, null; `jsonb` columns take
 * JSON text.
 */
export class BulkRows {
  private readonly chunks: string[][] = [];
  private current: string[][];
  private count = 0;
  private size = 0;

  constructor(
    readonly table: string,
    readonly columns: readonly BulkColumn[],
    private readonly chunkRows = BULK_CHUNK,
  ) {
    this.current = columns.map(() => []);
  }

  get length(): number {
    return this.size;
  }

  push(row: readonly unknown[]): void {
    for (let c = 0; c < this.columns.length; c++) this.current[c]!.push(element(row[c]));
    this.size++;
    if (++this.count >= this.chunkRows) this.seal();
  }

  /** Inserts every row pushed so far (one statement per chunk) and forgets them. */
  async insert(tx: SqlExecutor): Promise<void> {
    this.seal();
    const arrays = this.columns.map(([, type], i) => `$${i + 1}::${type === 'jsonb' ? 'text' : type}[]`);
    const names = this.columns.map(([name]) => name);
    const select = this.columns.map(([name, type]) => (type === 'jsonb' ? `r.${name}::jsonb` : `r.${name}`));
    const sql = `insert into ${this.table} (${names.join(', ')}) select ${select.join(', ')} from unnest(${arrays.join(', ')}) as r(${names.join(', ')})`;
    for (const chunk of this.chunks.splice(0)) await tx.query(sql, chunk);
    this.size = 0;
  }

  private seal(): void {
    if (this.count === 0) return;
    this.chunks.push(this.current.map((values) => `{${values.join(',')}}`));
    this.current = this.columns.map(() => []);
    this.count = 0;
  }
}

/** one element of an array literal */
function element(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  const s = String(v);
  return `"${s.includes('\\') || s.includes('"') ? s.replace(/[\\"]/g, '\\$&') : s}"`;
}

/** Inserts rows column-wise (see `BulkRows`). */
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
  const indexes = await tx.query<{ name: string; def: string }>(
    `select c.relname as name, pg_get_indexdef(x.indexrelid) as def
     from pg_index x join pg_class c on c.oid = x.indexrelid
     where x.indrelid = $1::regclass and not x.indisunique`,
    [table],
  );
  const pk = await tx.query<{ name: string; def: string }>(`select conname as name, pg_get_constraintdef(oid) as def from pg_constraint where conrelid = $1::regclass and contype = 'p'`, [table]);
  for (const index of indexes.rows) await tx.query(`drop index ${quoteIdent(index.name)}`);
  for (const c of pk.rows) await tx.query(`alter table ${table} drop constraint ${quoteIdent(c.name)}`);
  await load();
  for (const c of pk.rows) await tx.query(`alter table ${table} add constraint ${quoteIdent(c.name)} ${c.def}`);
  for (const index of indexes.rows) await tx.query(index.def);
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
