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
  const store = await PostgresEventStore.open(db, { catalog });
  return {
    db,
    store,
    artifacts: new SqlArtifactStore(db),
    mode: config.databaseUrl ? 'server' : 'embedded',
    async close() {
      await store.close();
      await db.close();
    },
  };
}
