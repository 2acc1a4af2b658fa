import { PGlite, type Transaction } from '@electric-sql/pglite';
import { mkdirSync } from 'node:fs';
import type { SqlDatabase, SqlExecutor } from '../sql.ts';

type Queryable = PGlite | Transaction;

function executor(db: Queryable): SqlExecutor {
  const self: SqlExecutor = {
    dialect: 'pglite',
    async query<R>(sql: string, params?: readonly unknown[]) {
      const result = await db.query<R>(sql, params as unknown[] | undefined);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      if (db instanceof PGlite) return db.transaction((tx) => work(executor(tx)));
      return work(self); // already inside a transaction: join it
    },
    async copyFrom(sql, data) {
      // PGlite reads COPY data from a blob named /dev/blob; no streaming, the data is gathered first.
      const parts: string[] = [];
      for await (const part of data) parts.push(part);
      await db.query(sql.replace(/\bfrom\s+stdin\b/i, `from '/dev/blob'`), [], { blob: new Blob(parts) });
    },
  };
  return self;
}

/**
 * Embedded PostgreSQL (WASM). `dataDir` undefined keeps everything in memory (tests);
 * otherwise the database lives in that folder. PGlite is single-connection: queries from
 * concurrent callers are queued, and a transaction holds the database until it ends.
 */
export async function openPglite(dataDir?: string): Promise<SqlDatabase> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ?? 'memory://');
  const base = executor(db);
  return {
    ...base,
    async listen(channel, onNotify) {
      const unlisten = await db.listen(channel, () => onNotify());
      return unlisten;
    },
    async close() {
      await db.close();
    },
  };
}
