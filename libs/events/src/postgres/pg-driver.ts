import pg from 'pg';
import type { SqlDatabase, SqlExecutor } from '../sql.ts';

function clientExecutor(client: pg.PoolClient): SqlExecutor {
  const self: SqlExecutor = {
    dialect: 'pg',
    async query<R>(sql: string, params?: readonly unknown[]) {
      const r = await client.query(sql, params as unknown[] | undefined);
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
      const r = await pool.query(sql, params as unknown[] | undefined);
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
