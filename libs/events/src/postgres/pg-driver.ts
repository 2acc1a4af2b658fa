import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import type { SqlDatabase, SqlExecutor } from '../sql.ts';

const statementNames = new Map<string, string>();
const MAX_PREPARED = 500;

/**
 * A query with parameters runs as a named prepared statement: each connection parses and
 * analyses it once instead of on every call (the product sends the same few hundred statement
 * texts over and over; parsing them was a large share of the server's CPU per label).
 * Statements without parameters (DDL, scripts of several statements) run as they are.
 */
function prepared(sql: string, params: readonly unknown[] | undefined): string | pg.QueryConfig {
  if (params === undefined) return sql;
  let name = statementNames.get(sql);
  if (name === undefined) {
    // Bounded: texts built per request (data-browser filters) beyond the first few hundred run
    // unprepared rather than pile up in every connection's memory on the server.
    if (statementNames.size >= MAX_PREPARED) return { text: sql, values: params as unknown[] };
    name = `rfy_${createHash('sha1').update(sql).digest('base64url').slice(0, 20)}`;
    statementNames.set(sql, name);
  }
  return { name, text: sql, values: params as unknown[] };
}

function clientExecutor(client: pg.PoolClient): SqlExecutor & { end(): void } {
  // Work still queued on the executor after its transaction ended (a bulk load streaming in the
  // background, see BulkRows.stream) must fail, not run outside it on a connection handed back.
  let ended = false;
  const open = () => {
    if (ended) throw new Error('the transaction has ended');
  };
  const self = {
    dialect: 'pg' as const,
    async query<R>(sql: string, params?: readonly unknown[]) {
      open();
      const r = await client.query(prepared(sql, params));
      return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(sql: string) {
      open();
      await client.query(sql);
    },
    transaction: <T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> => work(self),
    async copyFrom(sql: string, data: Iterable<string> | AsyncIterable<string>) {
      open();
      await copyInto(client, sql, data);
    },
    end() {
      ended = true;
    },
  };
  return self;
}

/** COPY … FROM STDIN through pg-copy-streams (the connection does nothing else meanwhile). */
async function copyInto(client: pg.PoolClient, sql: string, data: Iterable<string> | AsyncIterable<string>): Promise<void> {
  await pipeline(Readable.from(data, { objectMode: false }), client.query(copyFromStdin(sql)));
}

/** A PostgreSQL server through a `pg` pool (scale-out mode, `DATABASE_URL`). */
export async function openPostgres(connectionString: string, options: { maxConnections?: number } = {}): Promise<SqlDatabase> {
  const pool = new pg.Pool({ connectionString, max: options.maxConnections ?? 10 });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', (err) => console.error('postgres pool error:', err.message));
  await pool.query('select 1');
  const listeners: pg.Client[] = [];

  return {
    dialect: 'pg',
    async query<R>(sql: string, params?: readonly unknown[]) {
      const r = await pool.query(prepared(sql, params));
      return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      const tx = clientExecutor(client);
      try {
        await client.query('begin');
        const result = await work(tx);
        tx.end();
        await client.query('commit');
        return result;
      } catch (err) {
        tx.end();
        await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async copyFrom(sql, data) {
      const client = await pool.connect();
      try {
        await copyInto(client, sql, data);
      } finally {
        client.release();
      }
    },
    async listen(channel, onNotify) {
      // LISTEN needs a connection of its own that stays open.
      const client = new pg.Client({ connectionString });
      client.on('error', (err) => console.error('postgres listen connection error:', err.message));
      await client.connect();
      client.on('notification', (n) => n.channel === channel && onNotify());
      await client.query(`listen ${pg.escapeIdentifier(channel)}`);
      listeners.push(client);
      return async () => {
        listeners.splice(listeners.indexOf(client), 1);
        await client.end().catch(() => undefined);
      };
    },
    async close() {
      await Promise.all(listeners.splice(0).map((c) => c.end().catch(() => undefined)));
      await pool.end();
    },
  };
}
