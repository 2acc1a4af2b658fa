import { formatPosition, isPosition, parsePosition, type SqlExecutor } from '@refinery/events';
import { AuditError } from '../errors.ts';

export interface HistoryEntry {
  eventId: string;
  /** the event's log position; also the cursor after this entry */
  position: string;
  type: string;
  streamId: string;
  /** user id (or `system`, a worker name) */
  actor: string;
  actorName: string | null;
  at: string;
  recordId: string | null;
  taskId: string | null;
  /** what changed (e.g. `answer:<record>:<task>:<annotator>`); null for events that change no tracked aspect */
  aspect: string | null;
  before: unknown;
  after: unknown;
  summary: string;
}

export interface HistoryPage {
  items: HistoryEntry[];
  /** pass as `cursor` for the next (older) page; null at the beginning of the history */
  nextCursor: string | null;
}

export interface HistoryQuery {
  recordId?: string;
  /** events caused by this user */
  actor?: string;
  types?: readonly string[];
  /** entries older than this position (a `nextCursor`) */
  cursor?: string;
  /** 1–500 */
  limit: number;
}

export const HISTORY_MAX_LIMIT = 500;

export class InvalidCursorError extends AuditError {
  constructor(cursor: string) {
    super('invalid', 'invalid_cursor', `cursor "${cursor}" is not one returned as nextCursor (expected "<transaction>/<sequence>")`, { cursor });
    this.name = 'InvalidCursorError';
  }
}

interface Row {
  event_id: string;
  tx: string;
  seq: string;
  type: string;
  stream_id: string;
  actor: string;
  actor_name: string | null;
  at: string | Date;
  record_id: string | null;
  task_id: string | null;
  aspect: string | null;
  before: unknown;
  after: unknown;
  summary: string;
}

/** A page of a project's timeline, newest first, optionally for one record and/or one actor. */
export async function readHistory(sql: SqlExecutor, projectId: string, q: HistoryQuery): Promise<HistoryPage> {
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > HISTORY_MAX_LIMIT) throw new AuditError('invalid', 'invalid_limit', `limit must be an integer from 1 to ${HISTORY_MAX_LIMIT}`, { limit: q.limit });
  const params: unknown[] = [projectId];
  let where = 'h.project_id = $1';
  if (q.recordId !== undefined) {
    params.push(q.recordId);
    where += ` and h.record_id = $${params.length}`;
  }
  if (q.actor !== undefined) {
    params.push(q.actor);
    where += ` and h.actor = $${params.length}`;
  }
  if (q.types?.length) {
    params.push([...q.types]);
    where += ` and h.type = any($${params.length}::text[])`;
  }
  if (q.cursor !== undefined) {
    if (!isPosition(q.cursor)) throw new InvalidCursorError(q.cursor);
    const c = parsePosition(q.cursor);
    params.push(c.tx.toString(), c.seq.toString());
    where += ` and (h.tx, h.seq) < ($${params.length - 1}::bigint, $${params.length}::bigint)`;
  }
  params.push(q.limit + 1);
  const r = await sql.query<Row>(
    `select h.event_id::text, h.tx::text, h.seq::text, h.type, h.stream_id, h.actor, u.display_name as actor_name, h.at, h.record_id, h.task_id, h.aspect, h.before, h.after, h.summary
     from audit_history h left join rm_users u on u.id::text = h.actor
     where ${where} order by h.tx desc, h.seq desc limit $${params.length}`,
    params,
  );
  const more = r.rows.length > q.limit;
  const items = r.rows.slice(0, q.limit).map(
    (row): HistoryEntry => ({
      eventId: row.event_id,
      position: formatPosition({ tx: BigInt(row.tx), seq: BigInt(row.seq) }),
      type: row.type,
      streamId: row.stream_id,
      actor: row.actor,
      actorName: row.actor_name,
      at: new Date(row.at).toISOString(),
      recordId: row.record_id,
      taskId: row.task_id,
      aspect: row.aspect,
      before: row.before,
      after: row.after,
      summary: row.summary,
    }),
  );
  return { items, nextCursor: more ? items[items.length - 1]!.position : null };
}
