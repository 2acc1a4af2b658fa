import { createHash } from 'node:crypto';
import pg from 'pg';
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

function clientExecutor(client: pg.PoolClient): SqlExecutor {
  const self: SqlExecutor = {
    dialect: 'pg',
    async query<R>(sql: string, params?: readonly unknown[]) {
      const r = await client.query(prepared(sql, params));
      return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
    },
    async exec(sql: string) {
      await client.query(sql);
    },
    transaction: (work) => work(self),
  };
  return self;
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
      try {
        await client.query('begin');
        const result = await work(clientExecutor(client));
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
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
