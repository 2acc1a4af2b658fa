import {
  catalog,
  openDatabase,
  PostgresEventStore,
  SqlArtifactStore,
  type SqlDatabase,
} from '@refinery/events';
import type { RuntimeConfig } from './config.ts';

/** The shared infrastructure every app process opens: database, event log, artifacts. */
export interface Platform {
  db: SqlDatabase;
  store: PostgresEventStore;
  artifacts: SqlArtifactStore;
  /** embedded (PGlite) or server */
  mode: 'embedded' | 'server';
  close(): Promise<void>;
}

export async function openPlatform(config: Pick<RuntimeConfig, 'databaseUrl' | 'dataDir' | 'databaseMaxConnections'>): Promise<Platform> {
  const db = await openDatabase({
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: config.dataDir }),
    maxConnections: config.databaseMaxConnections,
  });
  return platformOn(db, config.databaseUrl ? 'server' : 'embedded');
}

/** The platform over an already opened database (tests, tools). */
export async function platformOn(db: SqlDatabase, mode: Platform['mode']): Promise<Platform> {
  const store = await PostgresEventStore.open(db, { catalog });
  return {
    db,
    store,
    artifacts: new SqlArtifactStore(db),
    mode,
    async close() {
      await store.close();
      await db.close();
    },
  };
}
