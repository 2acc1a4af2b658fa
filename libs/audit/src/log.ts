import { catalog, formatPosition, parsePosition, type EventCatalog, type LogPosition, type Recorded, type SqlExecutor } from '@refinery/events';

/** A stored row of the log as written (data not upcast), for export and the readers below. */
export interface RawEvent {
  id: string;
  streamId: string;
  revision: string;
  position: string;
  type: string;
  schema: number;
  data: unknown;
  meta: { actor: string; at: string; correlationId?: string; causationId?: string };
}

interface EventRow {
  id: string;
  stream_id: string;
  revision: string;
  tx: string;
  seq: string;
  type: string;
  schema: number;
  data: unknown;
  meta: RawEvent['meta'];
}

const COLUMNS = `id::text, stream_id, revision::text, tx_id::text as tx, position::text as seq, type, schema, data, meta`;

export interface LogRange {
  /** exclusive lower bound (a checkpoint) */
  after: string;
  /** inclusive upper bound (a checkpoint) */
  until: string;
  /** only these event types (all when undefined) */
  types?: readonly string[];
  /**
   * only events of this project: those whose data names it, plus the global events without a
   * project (accounts, API tokens, invitations to the site) that the read models also need
   */
  projectId?: string;
  limit: number;
}

/**
 * Reads the log between two checkpoints straight from the `events` table, filtered by project
 * in SQL: the store's `readAll` has no project filter, and an as-of view of one project in a
 * shared log should not parse every other project's events.
 */
export async function readRawEvents(sql: SqlExecutor, range: LogRange): Promise<RawEvent[]> {
  const from = parsePosition(range.after);
  const to = parsePosition(range.until);
  const params: unknown[] = [from.tx.toString(), from.seq.toString(), to.tx.toString(), to.seq.toString(), range.limit];
  let filter = '';
  if (range.types) {
    params.push([...range.types]);
    filter += ` and type = any($${params.length}::text[])`;
  }
  if (range.projectId) {
    params.push(range.projectId);
    filter += ` and (data->>'projectId' = $${params.length} or data->>'projectId' is null)`;
  }
  // The filters apply to the ordered index scan of the range (`offset 0` keeps the planner from
  // pulling them in): estimating the project filter as very selective, it otherwise sorted the
  // whole rest of the log for every page (1.1 s a page in a 1M-event log, 10 ms this way).
  const text = `select ${COLUMNS} from (
       select * from events
       where (tx_id, position) > ($1::text::xid8, $2::bigint) and (tx_id, position) <= ($3::text::xid8, $4::bigint)
       order by tx_id, position offset 0
     ) events
     where true ${filter}
     order by tx_id, position limit $5`;
  // The pg driver prepares statements, and after a few pages PostgreSQL switches to the generic
  // plan, which cannot see how many rows the range holds: it sorted the rest of the log for every
  // page (0.7 s and 400 MB of temp files per page at 1M events, against 12 ms planned with the
  // values). Planned with the values every time, in a transaction of its own.
  const r =
    sql.dialect === 'pg'
      ? await sql.transaction(async (tx) => {
          await tx.query(`select set_config('plan_cache_mode', 'force_custom_plan', true)`);
          return tx.query<EventRow>(text, params);
        })
      : await sql.query<EventRow>(text, params);
  return r.rows.map((row) => ({
    id: row.id,
    streamId: row.stream_id,
    revision: row.revision,
    position: formatPosition({ tx: BigInt(row.tx), seq: BigInt(row.seq) }),
    type: row.type,
    schema: row.schema,
    data: row.data,
    meta: row.meta,
  }));
}

/** The event as readers see it: data upcast to the current version (throws NewerSchemaError for a newer one). */
export function toRecorded(raw: RawEvent, events: EventCatalog = catalog): Recorded {
  return {
    id: raw.id,
    streamId: raw.streamId,
    revision: BigInt(raw.revision),
    position: raw.position,
    type: raw.type,
    data: events.upcast(raw.type, raw.schema, raw.data),
    meta: { ...raw.meta, schema: raw.schema },
  };
}

/** The first and last position of the log (START when empty), ignoring visibility: callers cap with `head()`. */
export async function eventAt(sql: SqlExecutor, seq: bigint, direction: 'from' | 'upTo'): Promise<{ position: LogPosition; at: string } | undefined> {
  const r = await sql.query<{ tx: string; seq: string; at: string }>(
    direction === 'from'
      ? `select tx_id::text as tx, position::text as seq, meta->>'at' as at from events where position >= $1 order by position limit 1`
      : `select tx_id::text as tx, position::text as seq, meta->>'at' as at from events where position <= $1 order by position desc limit 1`,
    [seq.toString()],
  );
  const row = r.rows[0];
  return row ? { position: { tx: BigInt(row.tx), seq: BigInt(row.seq) }, at: row.at } : undefined;
}

/**
 * Artifact hashes an event's data points at under a key naming an artifact (`votesArtifact`,
 * `resultArtifact`, `artifacts: [...]`): the read models read those while projecting. Other
 * SHA-256 values (a code hash, an uploaded file's hash) are not needed to rebuild read models.
 */
export function artifactReferences(data: unknown, out = new Set<string>()): Set<string> {
  walk(data, false, 0, out);
  return out;
}

const SHA256 = /^[0-9a-f]{64}$/;

function walk(value: unknown, named: boolean, depth: number, out: Set<string>): void {
  if (depth > 5 || value === null) return;
  if (typeof value === 'string') {
    if (named && SHA256.test(value)) out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    // Large arrays are record batches, never artifact lists.
    if (value.length > 256) return;
    for (const v of value) walk(v, named, depth + 1, out);
    return;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(v, named || /artifact/i.test(k), depth + 1, out);
  }
}

/** Every SHA-256 string in the data (for the export, which embeds all referenced blobs it can find). */
export function sha256Strings(data: unknown, out = new Set<string>()): Set<string> {
  walk(data, true, 0, out);
  return out;
}
