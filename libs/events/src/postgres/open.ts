import type { SqlDatabase } from '../sql.ts';
import { openPglite } from './pglite-driver.ts';
import { openPostgres } from './pg-driver.ts';

export interface DatabaseConfig {
  /** a PostgreSQL server; when unset the embedded PGlite database is used */
  databaseUrl?: string;
  /** folder of the embedded database; undefined = in memory */
  dataDir?: string;
  maxConnections?: number;
}

/** Choosing the backend is configuration, never a code change. */
export function openDatabase(config: DatabaseConfig): Promise<SqlDatabase> {
  if (config.databaseUrl) return openPostgres(config.databaseUrl, { maxConnections: config.maxConnections });
  return openPglite(config.dataDir);
}
