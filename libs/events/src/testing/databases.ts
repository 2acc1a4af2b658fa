import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPglite } from '../postgres/pglite-driver.ts';
import { openPostgres } from '../postgres/pg-driver.ts';
import type { SqlDatabase } from '../sql.ts';

export interface TestBackend {
  readonly name: 'pglite' | 'postgres';
  /** a fresh, empty database */
  open(): Promise<SqlDatabase>;
  /** drops what `open` created */
  cleanup(): Promise<void>;
}

/**
 * The backends every contract suite runs against: PGlite always, and the PostgreSQL server
 * when TEST_DATABASE_URL is set. In CI the server is required, so its absence is an error
 * there rather than a silent skip.
 */
export function testBackends(): TestBackend[] {
  const backends: TestBackend[] = [pgliteBackend()];
  const url = process.env.TEST_DATABASE_URL;
  if (url) backends.push(postgresBackend(url));
  else if (process.env.CI) throw new Error('TEST_DATABASE_URL must point at a PostgreSQL server in CI');
  else console.warn('TEST_DATABASE_URL is not set: PostgreSQL-server variants of the integration tests do not run');
  return backends;
}

function pgliteBackend(): TestBackend {
  const opened: SqlDatabase[] = [];
  return {
    name: 'pglite',
    async open() {
      const db = await openPglite();
      opened.push(db);
      return db;
    },
    async cleanup() {
      await Promise.all(opened.splice(0).map((db) => db.close()));
    },
  };
}

function postgresBackend(url: string): TestBackend {
  const created: { name: string; db: SqlDatabase }[] = [];
  const admin = () => new pg.Client({ connectionString: url });
  return {
    name: 'postgres',
    async open() {
      const name = `refinery_t_${randomBytes(6).toString('hex')}`;
      const client = admin();
      await client.connect();
      await client.query(`create database ${name}`);
      await client.end();
      const u = new URL(url);
      u.pathname = `/${name}`;
      const db = await openPostgres(u.toString(), { maxConnections: 12 });
      created.push({ name, db });
      return db;
    },
    async cleanup() {
      const all = created.splice(0);
      await Promise.all(all.map((c) => c.db.close()));
      const client = admin();
      await client.connect();
      for (const c of all) await client.query(`drop database if exists ${c.name} with (force)`);
      await client.end();
    },
  };
}
