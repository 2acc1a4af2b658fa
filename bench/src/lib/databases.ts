import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite, openPostgres, type SqlDatabase } from '@refinery/events';

export const DEFAULT_BENCH_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/refinery_test';

export type BackendName = 'pglite-mem' | 'pglite-disk' | 'postgres';
export const ALL_BACKENDS: readonly BackendName[] = ['pglite-mem', 'pglite-disk', 'postgres'];

export interface BenchDatabase {
  readonly backend: BackendName;
  readonly db: SqlDatabase;
  /** closes the connection(s) and removes the temp folder / drops the temp database */
  dispose(): Promise<void>;
}

export function benchDatabaseUrl(): string {
  return process.env.BENCH_DATABASE_URL || DEFAULT_BENCH_DATABASE_URL;
}

/** `undefined` when the server answers, else the reason it does not. */
export async function serverUnreachable(url = benchDatabaseUrl()): Promise<string | undefined> {
  const attempt = openPostgres(url, { maxConnections: 1 });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
  });
  try {
    const db = await Promise.race([attempt, timeout]);
    await db.close();
    return undefined;
  } catch (err) {
    attempt.then((db) => db.close()).catch(() => undefined);
    return err instanceof Error ? err.message || err.constructor.name : String(err);
  } finally {
    clearTimeout(timer);
  }
}

/** A few server settings that decide commit cost, for the results file. */
export async function serverSettings(url = benchDatabaseUrl()): Promise<Record<string, string>> {
  const db = await openPostgres(url, { maxConnections: 1 });
  try {
    const r = await db.query<{ name: string; setting: string; unit: string | null }>(
      `select name, setting, unit from pg_settings
       where name in ('server_version', 'shared_buffers', 'synchronous_commit', 'fsync', 'wal_level', 'max_connections', 'commit_delay')`,
    );
    return Object.fromEntries(r.rows.map((x) => [x.name, x.unit ? `${x.setting} (${x.unit})` : x.setting]));
  } finally {
    await db.close();
  }
}

/**
 * A fresh, empty database: PGlite in memory, PGlite in a temp folder, or a new database
 * `refinery_bench_<random>` on the server (dropped by `dispose`).
 */
export async function openBenchDatabase(backend: BackendName, options: { maxConnections?: number } = {}): Promise<BenchDatabase> {
  if (backend === 'pglite-mem') {
    const db = await openPglite();
    return { backend, db, dispose: () => db.close() };
  }
  if (backend === 'pglite-disk') {
    const dir = mkdtempSync(join(tmpdir(), 'refinery-bench-'));
    const db = await openPglite(join(dir, 'pgdata'));
    return {
      backend,
      db,
      async dispose() {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = benchDatabaseUrl();
  const name = `refinery_bench_${randomBytes(5).toString('hex')}`;
  await adminQuery(url, `create database ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  let db: SqlDatabase;
  try {
    db = await openPostgres(u.toString(), { maxConnections: options.maxConnections ?? 10 });
  } catch (err) {
    await adminQuery(url, `drop database if exists ${name} with (force)`).catch(() => undefined);
    throw err;
  }
  return {
    backend,
    db,
    async dispose() {
      await db.close();
      await adminQuery(url, `drop database if exists ${name} with (force)`);
    },
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const db = await openPostgres(url, { maxConnections: 1 });
  try {
    await db.exec(sql);
  } finally {
    await db.close();
  }
}
