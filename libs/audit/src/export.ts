import { createHash } from 'node:crypto';
import {
  catalog,
  formatPosition,
  hasReached,
  InvalidEventError,
  NewerSchemaError,
  SqlArtifactStore,
  START,
  UnknownEventTypeError,
  type ArtifactStore,
  type EventCatalog,
  type EventStore,
  type SqlDatabase,
} from '@refinery/events';
import { AuditError } from './errors.ts';
import { readRawEvents, sha256Strings, type RawEvent } from './log.ts';

/**
 * Verifiable export of the log (docs/audit.md): JSONL, one JSON object a line, each carrying the
 * hash of the line before (`prev`) and its own (`hash` = SHA-256 of `prev` + "\n" + the line's
 * other fields as canonical JSON). Line 1 is a header, then artifacts (each before the first event
 * that names it) and events in log order, and a final manifest with the counts. Altering,
 * dropping or reordering any line breaks the chain at that line.
 */
export const LOG_EXPORT_FORMAT = 'refinery.log-export.v1';
export const GENESIS = '0'.repeat(64);

export interface HeaderLine {
  kind: 'header';
  format: typeof LOG_EXPORT_FORMAT;
  createdAt: string;
  projectId: string | null;
  /** the log position the export ends at */
  head: string;
  /** the schema version of every event type known to the build that wrote the file */
  schemas: Record<string, number>;
}
export interface ArtifactLine {
  kind: 'artifact';
  sha256: string;
  contentType: string;
  size: number;
  base64: string;
}
export interface EventLine {
  kind: 'event';
  /** 1, 2, 3 … : a gap is a missing event */
  n: number;
  event: RawEvent;
}
export interface ManifestLine {
  kind: 'manifest';
  events: number;
  artifacts: number;
  /** hash of the last event or artifact line */
  lastHash: string;
}
export type ExportLine = HeaderLine | ArtifactLine | EventLine | ManifestLine;
type Chained<L> = L & { prev: string; hash: string };

/** JSON with object keys sorted at every level: the same value always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function lineHash(prev: string, body: unknown): string {
  return createHash('sha256').update(prev).update('\n').update(canonicalJson(body)).digest('hex');
}

class Chain {
  last = GENESIS;
  line(body: ExportLine): string {
    const hash = lineHash(this.last, body);
    const out = `${JSON.stringify({ ...body, prev: this.last, hash })}\n`;
    this.last = hash;
    return out;
  }
}

export interface ExportSource {
  db: SqlDatabase;
  store: Pick<EventStore, 'head'>;
  artifacts: Pick<ArtifactStore, 'get'>;
}

export interface ExportResult {
  events: number;
  artifacts: number;
  head: string;
  lastHash: string;
}

const PAGE = 2000;

/**
 * Writes the log (or one project's events plus the global account events) up to the current
 * head. `write` is awaited for every chunk (back-pressure for files and HTTP responses).
 */
export async function exportLog(
  source: ExportSource,
  write: (chunk: string) => Promise<void>,
  options: { projectId?: string; now?: () => Date; onProgress?(events: number): void; events?: EventCatalog } = {},
): Promise<ExportResult> {
  const events = options.events ?? catalog;
  const head = await source.store.head();
  const chain = new Chain();
  const schemas: Record<string, number> = {};
  for (const type of events.types) schemas[type] = events.definition(type).version;
  await write(
    chain.line({ kind: 'header', format: LOG_EXPORT_FORMAT, createdAt: (options.now?.() ?? new Date()).toISOString(), projectId: options.projectId ?? null, head, schemas }),
  );
  const embedded = new Set<string>();
  const known = new SqlArtifactStore(source.db);
  let after = formatPosition(START);
  let n = 0;
  for (;;) {
    const page = await readRawEvents(source.db, { after, until: head, ...(options.projectId ? { projectId: options.projectId } : {}), limit: PAGE });
    if (page.length === 0) break;
    after = page[page.length - 1]!.position;
    let chunk = '';
    for (const e of page) {
      for (const hash of sha256Strings(e.data)) {
        if (embedded.has(hash)) continue;
        // Not every SHA-256 in an event is an artifact (code hashes, token hashes): embed those that are.
        if (!(await known.has(hash))) continue;
        const blob = await source.artifacts.get(hash);
        if (!blob) continue;
        embedded.add(hash);
        chunk += chain.line({ kind: 'artifact', sha256: hash, contentType: blob.contentType, size: blob.bytes.byteLength, base64: Buffer.from(blob.bytes).toString('base64') });
      }
      chunk += chain.line({ kind: 'event', n: ++n, event: e });
    }
    await write(chunk);
    options.onProgress?.(n);
    if (page.length < PAGE) break;
  }
  const lastHash = chain.last;
  await write(chain.line({ kind: 'manifest', events: n, artifacts: embedded.size, lastHash }));
  return { events: n, artifacts: embedded.size, head, lastHash: chain.last };
}

// ---- verify ----------------------------------------------------------------------------------

export interface VerifyProblem {
  /** 1-based line number */
  line: number;
  eventId: string | null;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  events: number;
  artifacts: number;
  /** the first problem found; verification stops there */
  problem: VerifyProblem | null;
  header: HeaderLine | null;
}

export class ExportFileError extends AuditError {
  constructor(readonly problem: VerifyProblem) {
    super('invalid', 'export_file_invalid', `line ${problem.line}${problem.eventId ? ` (event ${problem.eventId})` : ''}: ${problem.reason}`, { ...problem });
    this.name = 'ExportFileError';
  }
}

/**
 * Checks a file line by line: every line parses, names the previous line's hash, and hashes to
 * its own; events are numbered without gaps; the manifest comes last with the right counts.
 * `onLine` sees every verified line (import uses it).
 */
export async function verifyLog(lines: AsyncIterable<string>, onLine?: (line: ExportLine, lineNo: number) => Promise<void> | void): Promise<VerifyReport> {
  let prev = GENESIS;
  let lineNo = 0;
  let events = 0;
  let artifacts = 0;
  let header: HeaderLine | null = null;
  let manifest = false;
  const fail = (line: number, eventId: string | null, reason: string): VerifyReport => ({ ok: false, events, artifacts, problem: { line, eventId, reason }, header });
  for await (const text of lines) {
    lineNo++;
    if (text.trim() === '') {
      if (!manifest) return fail(lineNo, null, 'empty line inside the chain');
      continue;
    }
    if (manifest) return fail(lineNo, null, 'a line after the manifest: the file was appended to');
    let parsed: Chained<ExportLine>;
    try {
      parsed = JSON.parse(text) as Chained<ExportLine>;
    } catch (err) {
      return fail(lineNo, null, `not valid JSON (${(err as Error).message})`);
    }
    const eventId = parsed?.kind === 'event' && typeof parsed.event?.id === 'string' ? parsed.event.id : null;
    if (!parsed || typeof parsed !== 'object' || typeof parsed.hash !== 'string' || typeof parsed.prev !== 'string') return fail(lineNo, eventId, 'a line without prev and hash');
    const { prev: linePrev, hash, ...body } = parsed;
    if (lineNo === 1 && body.kind !== 'header') return fail(1, null, 'the first line is not the export header: the beginning of the file is missing');
    if (linePrev !== prev) {
      return fail(lineNo, eventId, `prev does not match the hash of line ${lineNo - 1}: a line before it is missing, was altered or the lines were reordered`);
    }
    if (lineHash(prev, body) !== hash) return fail(lineNo, eventId, 'the line was altered: its content does not hash to its hash');
    switch (body.kind) {
      case 'header':
        if (lineNo !== 1) return fail(lineNo, null, 'a second header');
        if (body.format !== LOG_EXPORT_FORMAT) return fail(lineNo, null, `unknown format "${String(body.format)}" (this build reads ${LOG_EXPORT_FORMAT})`);
        header = body;
        break;
      case 'artifact': {
        const bytes = Buffer.from(body.base64, 'base64');
        if (createHash('sha256').update(bytes).digest('hex') !== body.sha256) return fail(lineNo, null, `artifact ${body.sha256}: its bytes do not hash to its name`);
        artifacts++;
        break;
      }
      case 'event':
        if (body.n !== events + 1) return fail(lineNo, eventId, `event number ${body.n} follows ${events}: ${body.n > events + 1 ? `events ${events + 1}–${body.n - 1} are missing` : 'events are duplicated or reordered'}`);
        events++;
        break;
      case 'manifest':
        if (body.events !== events || body.artifacts !== artifacts) return fail(lineNo, null, `the manifest counts ${body.events} events and ${body.artifacts} artifacts, the file holds ${events} and ${artifacts}`);
        if (body.lastHash !== prev) return fail(lineNo, null, 'the manifest names another last line');
        manifest = true;
        break;
      default:
        return fail(lineNo, eventId, `unknown line kind "${String((body as { kind?: unknown }).kind)}"`);
    }
    await onLine?.(body, lineNo);
    prev = hash;
  }
  if (lineNo === 0) return fail(1, null, 'the file is empty');
  if (!manifest) return fail(lineNo + 1, null, `the file ends without its manifest after line ${lineNo}: the end of the file (events after event ${events}) is missing`);
  return { ok: true, events, artifacts, problem: null, header };
}

// ---- import ----------------------------------------------------------------------------------

export interface ImportResult {
  events: number;
  artifacts: number;
  /** position of the last imported event in this log (positions are assigned afresh) */
  lastPosition: string;
}

/**
 * Loads a verified export into an empty log, all or nothing: the whole file is verified and every
 * event checked against this build's catalog (known type, schema version not newer, data valid)
 * before anything is written; then events (same ids, streams, revisions, data and metadata, in
 * the same order) and artifacts land in one transaction. Read models follow by projection.
 */
export async function importLog(db: SqlDatabase, readLines: () => AsyncIterable<string>, options: { events?: EventCatalog; onProgress?(events: number): void } = {}): Promise<ImportResult> {
  const events = options.events ?? catalog;
  const existing = await db.query<{ n: number }>('select count(*)::int as n from (select 1 from events limit 1) e');
  if (existing.rows[0]!.n > 0) throw new AuditError('invalid', 'log_not_empty', 'the target log is not empty: import a log export only into an empty data directory or database', {});

  // Pass 1: verify the chain and the catalog compatibility, writing nothing.
  const report = await verifyLog(readLines(), (line, lineNo) => {
    if (line.kind !== 'event') return;
    const e = line.event;
    try {
      const def = events.definition(e.type);
      if (e.schema > def.version) throw new NewerSchemaError(e.type, e.schema, def.version);
      const parsed = def.schema.safeParse(events.upcast(e.type, e.schema, e.data));
      if (!parsed.success) throw new InvalidEventError(e.type, parsed.error.issues);
    } catch (err) {
      const reason =
        err instanceof UnknownEventTypeError
          ? `event type "${e.type}" is unknown to this build: the file comes from a newer version of the product; upgrade to import it`
          : err instanceof NewerSchemaError
            ? `${err.message}`
            : err instanceof InvalidEventError
              ? err.message
              : String(err);
      throw new ExportFileError({ line: lineNo, eventId: e.id, reason });
    }
  });
  if (!report.ok) throw new ExportFileError(report.problem!);

  // Pass 2: write, in one transaction.
  let n = 0;
  let artifacts = 0;
  await db.transaction(async (tx) => {
    const store = new SqlArtifactStore(tx);
    let batch: RawEvent[] = [];
    let bytes = 0;
    const streams = new Map<string, string>();
    const flush = async () => {
      if (batch.length === 0) return;
      const rows = batch.map((e) => ({ id: e.id, stream_id: e.streamId, revision: e.revision, type: e.type, schema: e.schema, data: e.data, meta: e.meta }));
      await tx.query(
        `insert into events (id, stream_id, revision, type, schema, data, meta)
         select id, stream_id, revision, type, schema, data, meta
         from jsonb_to_recordset($1::jsonb) as x(id uuid, stream_id text, revision bigint, type text, schema integer, data jsonb, meta jsonb)`,
        [JSON.stringify(rows)],
      );
      n += batch.length;
      options.onProgress?.(n);
      batch = [];
      bytes = 0;
    };
    for await (const text of readLines()) {
      if (text.trim() === '') continue;
      const line = JSON.parse(text) as Chained<ExportLine>;
      if (line.kind === 'artifact') {
        await store.put(Buffer.from(line.base64, 'base64'), line.contentType);
        artifacts++;
      } else if (line.kind === 'event') {
        batch.push(line.event);
        streams.set(line.event.streamId, line.event.revision);
        bytes += text.length;
        if (batch.length >= 2000 || bytes > 8_000_000) await flush();
      }
    }
    await flush();
    const entries = [...streams].map(([stream_id, revision]) => ({ stream_id, revision }));
    for (let i = 0; i < entries.length; i += 10_000) {
      await tx.query(
        `insert into streams (stream_id, revision) select stream_id, revision from jsonb_to_recordset($1::jsonb) as x(stream_id text, revision bigint)
         on conflict (stream_id) do update set revision = greatest(streams.revision, excluded.revision)`,
        [JSON.stringify(entries.slice(i, i + 10_000))],
      );
    }
  });
  const last = await db.query<{ tx: string; seq: string }>('select tx_id::text as tx, position::text as seq from events order by tx_id desc, position desc limit 1');
  const row = last.rows[0];
  return { events: n, artifacts, lastPosition: row ? `${row.tx}/${row.seq}` : formatPosition(START) };
}

/**
 * Waits until the store's head covers `position`. On a shared PostgreSQL server the head stays
 * below any transaction still open anywhere on the server (the snapshot xmin is cluster-wide),
 * so a rebuild started right after a write may otherwise not see it.
 */
export async function waitForHead(store: Pick<EventStore, 'head'>, position: string, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasReached(await store.head(), position)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
