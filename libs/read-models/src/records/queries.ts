import type { SqlExecutor } from '@refinery/events';

export type AttributeValue = string | number | boolean | null;

export interface RecordView {
  id: string;
  seq: number;
  values: Record<string, AttributeValue>;
}

export interface RecordPage {
  records: RecordView[];
  total: number;
  nextCursor: string | null;
}

interface RecordRow {
  id: string;
  seq: string;
  values: Record<string, AttributeValue>;
}

/** Cursors are opaque to clients: the last seen `seq`, base64url-encoded. */
export function encodeCursor(seq: number | bigint): string {
  return Buffer.from(`s:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): bigint | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^s:(\d{1,19})$/.exec(text);
  return m ? BigInt(m[1]!) : undefined;
}

export async function listRecords(sql: SqlExecutor, projectId: string, page: { limit: number; after?: bigint }): Promise<RecordPage> {
  const r = await sql.query<RecordRow>(
    `select id, seq::text, "values" from rm_records where project_id = $1 and rm_records.seq > $2 order by rm_records.seq limit $3`,
    [projectId, (page.after ?? 0n).toString(), page.limit + 1],
  );
  const total = await sql.query<{ n: string }>('select record_count::text as n from rm_project_stats where project_id = $1', [projectId]);
  const rows = r.rows.slice(0, page.limit);
  const more = r.rows.length > page.limit;
  return {
    records: rows.map((row) => ({ id: row.id, seq: Number(row.seq), values: row.values })),
    total: Number(total.rows[0]?.n ?? 0),
    nextCursor: more && rows.length ? encodeCursor(BigInt(rows[rows.length - 1]!.seq)) : null,
  };
}

export async function getRecord(sql: SqlExecutor, projectId: string, id: string): Promise<RecordView | undefined> {
  const r = await sql.query<RecordRow>(`select id, seq::text, "values" from rm_records where project_id = $1 and id = $2`, [projectId, id]);
  const row = r.rows[0];
  return row ? { id: row.id, seq: Number(row.seq), values: row.values } : undefined;
}

/**
 * A record and the revision of an event stream in one query (the log's `streams` table is in the
 * same database with the PostgreSQL event store): a label write needs both, the record for its
 * text and the project stream's revision to know its cached configuration is current.
 */
export async function getRecordAndStreamRevision(
  sql: SqlExecutor,
  projectId: string,
  id: string,
  streamId: string,
): Promise<{ record: RecordView | undefined; streamRevision: bigint | undefined }> {
  const r = await sql.query<{ revision: string | null; id: string | null; seq: string | null; values: Record<string, AttributeValue> | null }>(
    `select s.revision::text as revision, r.id, r.seq::text as seq, r."values"
     from (select 1) one
     left join streams s on s.stream_id = $3
     left join rm_records r on r.project_id = $1 and r.id = $2`,
    [projectId, id, streamId],
  );
  const row = r.rows[0]!;
  return {
    record: row.id !== null ? { id: row.id, seq: Number(row.seq), values: row.values! } : undefined,
    streamRevision: row.revision !== null ? BigInt(row.revision) : undefined,
  };
}

/** Which of these ids already exist in the project (for primary-key imports). */
export async function existingRecordIds(sql: SqlExecutor, projectId: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const r = await sql.query<{ id: string }>(
    `select id from rm_records where project_id = $1 and id in (select jsonb_array_elements_text($2::jsonb))`,
    [projectId, JSON.stringify(ids)],
  );
  return r.rows.map((row) => row.id);
}
