import type { SqlExecutor } from '@refinery/events';

/**
 * Live documents are kept as one merged Yjs state per session (`Y.encodeStateAsUpdate`), written
 * debounced. Labels and claims in it are re-read from their truth when a document loads; what
 * only lives here (drafts) survives a restart through this table.
 */
export interface LivePersistence {
  load(sessionId: string): Promise<Uint8Array | undefined>;
  store(projectId: string, sessionId: string, state: Uint8Array): Promise<void>;
}

export async function setupLiveDocuments(sql: SqlExecutor): Promise<void> {
  await sql.exec(`
    create table if not exists live_documents (
      session_id uuid primary key,
      project_id uuid not null,
      state      bytea not null,
      updated_at timestamptz not null default now()
    );
  `);
}

export function sqlPersistence(sql: SqlExecutor): LivePersistence {
  return {
    async load(sessionId) {
      const r = await sql.query<{ state: string }>(`select encode(state, 'base64') as state from live_documents where session_id = $1`, [sessionId]);
      const row = r.rows[0];
      return row ? new Uint8Array(Buffer.from(row.state.replace(/\s+/g, ''), 'base64')) : undefined;
    },
    async store(projectId, sessionId, state) {
      await sql.query(
        `insert into live_documents (session_id, project_id, state, updated_at) values ($1, $2, decode($3, 'base64'), now())
         on conflict (session_id) do update set state = excluded.state, updated_at = now()`,
        [sessionId, projectId, Buffer.from(state).toString('base64')],
      );
    },
  };
}

/** Deletes a project's documents (the project was deleted). */
export async function deleteProjectDocuments(sql: SqlExecutor, projectId: string): Promise<void> {
  await sql.query('delete from live_documents where project_id = $1', [projectId]);
}
