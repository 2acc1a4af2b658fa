import type { SqlExecutor } from '@refinery/events';

/** Read-model tables (not the log, artifacts or checkpoints) of a database. */
export async function readModelTables(db: SqlExecutor): Promise<string[]> {
  const r = await db.query<{ table_name: string }>(
    `select table_name from information_schema.tables
     where table_schema = current_schema() and table_type = 'BASE TABLE'
       and table_name not in ('events', 'streams', 'artifacts', 'artifact_chunks', 'projection_checkpoints')
       and table_name not like 'reactor%'
     order by table_name`,
  );
  return r.rows.map((row) => row.table_name);
}

/**
 * The rows of a table as sorted JSON strings (columns in name order), optionally only one
 * project's and without the columns that hold log positions; comparable across databases and drivers.
 */
export async function tableRows(db: SqlExecutor, table: string, projectId?: string, options: { ignorePositions?: boolean } = {}): Promise<string[]> {
  const cols = await db.query<{ column_name: string }>(
    `select column_name from information_schema.columns where table_schema = current_schema() and table_name = $1 order by column_name`,
    [table],
  );
  const names = cols.rows.map((c) => c.column_name);
  // rm_projects is keyed by the project id itself
  const column = names.includes('project_id') ? 'project_id' : table === 'rm_projects' ? 'id' : undefined;
  const byProject = projectId !== undefined && column !== undefined;
  // Log positions are local to a log: an imported copy assigns its own (columns tx, seq, last_tx …).
  const skip = options.ignorePositions ? `where key !~ '(^|_)(tx|seq)$'` : '';
  const r = await db.query<{ row: string }>(
    `select (select jsonb_object_agg(key, value) from jsonb_each(to_jsonb(t)) ${skip})::text as row from ${table} t ${byProject ? `where ${column}::text = $1` : ''}`,
    byProject ? [projectId] : [],
  );
  return r.rows.map((row) => row.row).sort();
}
