import type { SqlExecutor } from '@refinery/events';
import { boundedQuery, prepareFilter, type BrowseContext, type QueryOptions } from '../browser/search.ts';
import type { SessionView } from './index.ts';

/**
 * Record claims of team sessions: short leases in a table, not events. A claim is taken when a
 * record is opened, renewed while the annotator is active and lapses after the session's idle
 * timeout; it is high-churn and worthless once lapsed, and what lasts (the label) is in the log.
 * One holder per record and session: the primary key makes taking a claim atomic on every node.
 */
export async function setupClaims(sql: SqlExecutor): Promise<void> {
  await sql.exec(`
    create table if not exists live_claims (
      project_id uuid not null,
      session_id uuid not null,
      record_id  text not null,
      user_id    text not null,
      claimed_at timestamptz not null,
      expires_at timestamptz not null,
      primary key (session_id, record_id)
    );
    create index if not exists live_claims_user on live_claims (session_id, user_id);
    create index if not exists live_claims_expiry on live_claims (expires_at);
  `);
}

export interface Claim {
  recordId: string;
  userId: string;
  claimedAt: string;
  expiresAt: string;
}

export type ClaimOutcome = { ok: true; claim: Claim } | { ok: false; holder: Claim };

interface ClaimRow {
  record_id: string;
  user_id: string;
  claimed_at: string | Date;
  expires_at: string | Date;
}
const toClaim = (r: ClaimRow): Claim => ({ recordId: r.record_id, userId: r.user_id, claimedAt: new Date(r.claimed_at).toISOString(), expiresAt: new Date(r.expires_at).toISOString() });

/** Takes or renews the claim on a record; refused while someone else holds an unexpired one. */
export async function claimRecord(
  sql: SqlExecutor,
  c: { projectId: string; sessionId: string; recordId: string; userId: string; now: Date; timeoutMs: number },
): Promise<ClaimOutcome> {
  const expires = new Date(c.now.getTime() + c.timeoutMs);
  const r = await sql.query<ClaimRow>(
    `insert into live_claims (project_id, session_id, record_id, user_id, claimed_at, expires_at) values ($1, $2, $3, $4, $5, $6)
     on conflict (session_id, record_id) do update
       set user_id = excluded.user_id,
           claimed_at = case when live_claims.user_id = excluded.user_id then live_claims.claimed_at else excluded.claimed_at end,
           expires_at = excluded.expires_at
       where live_claims.user_id = excluded.user_id or live_claims.expires_at <= excluded.claimed_at
     returning record_id, user_id, claimed_at, expires_at`,
    [c.projectId, c.sessionId, c.recordId, c.userId, c.now.toISOString(), expires.toISOString()],
  );
  if (r.rows[0]) return { ok: true, claim: toClaim(r.rows[0]) };
  const holder = await sql.query<ClaimRow>('select record_id, user_id, claimed_at, expires_at from live_claims where session_id = $1 and record_id = $2', [c.sessionId, c.recordId]);
  // Released in between: try once more (a holder row is then the other party's fresh claim).
  if (!holder.rows[0]) return claimRecord(sql, c);
  return { ok: false, holder: toClaim(holder.rows[0]) };
}

/** Releases the caller's claims in a session (one record, or all but `keep`); returns the released record ids. */
export async function releaseClaims(sql: SqlExecutor, sessionId: string, userId: string, only?: { recordId?: string; keep?: string }): Promise<string[]> {
  const r = await sql.query<{ record_id: string }>(
    `delete from live_claims where session_id = $1 and user_id = $2 and ($3::text is null or record_id = $3) and ($4::text is null or record_id <> $4) returning record_id`,
    [sessionId, userId, only?.recordId ?? null, only?.keep ?? null],
  );
  return r.rows.map((x) => x.record_id);
}

/** Unexpired claims of a session. */
export async function activeClaims(sql: SqlExecutor, sessionId: string, now: Date): Promise<Claim[]> {
  const r = await sql.query<ClaimRow>('select record_id, user_id, claimed_at, expires_at from live_claims where session_id = $1 and expires_at > $2 order by record_id', [
    sessionId,
    now.toISOString(),
  ]);
  return r.rows.map(toClaim);
}

/** Deletes lapsed claims (of every session); returns them so live documents can drop them. */
export async function deleteExpiredClaims(sql: SqlExecutor, now: Date): Promise<{ projectId: string; sessionId: string; recordId: string }[]> {
  const r = await sql.query<{ project_id: string; session_id: string; record_id: string }>(
    'delete from live_claims where expires_at <= $1 returning project_id::text, session_id::text, record_id',
    [now.toISOString()],
  );
  return r.rows.map((x) => ({ projectId: x.project_id, sessionId: x.session_id, recordId: x.record_id }));
}

/**
 * The next records a user may be offered, in session order: not labeled by them, labeled
 * (manually, on any task) by fewer than `overlap` annotators, and not claimed by someone else.
 * The caller claims the first it can (two callers racing for one record: one wins, the other
 * takes the next candidate).
 */
export async function offerableRecords(
  db: SqlExecutor,
  ctx: BrowseContext,
  session: SessionView,
  c: { userId: string; overlap: number; now: Date; limit: number },
  options: QueryOptions = {},
): Promise<string[]> {
  const f = prepareFilter(ctx, session.filter, { ...options, dialect: db.dialect }, [session.maxSeq, session.seed, c.userId, c.overlap, session.id, c.now.toISOString()]);
  const order = session.order === 'shuffled' ? `md5($3::text || r.id), r.seq` : 'r.seq';
  const limit = f.p.add(c.limit);
  return boundedQuery(db, options, f.patterns, async (tx) =>
    (
      await tx.query<{ id: string }>(
        `select r.id from rm_records r
         where r.project_id = $1 and r.seq <= $2::bigint and ($3::text is not null) and ${f.where}
           and not exists (select 1 from rm_record_labels l where l.project_id = r.project_id and l.record_id = r.id and l.source = 'manual' and l.annotator = $4)
           and (select count(distinct l.annotator) from rm_record_labels l where l.project_id = r.project_id and l.record_id = r.id and l.source = 'manual') < $5::int
           and not exists (select 1 from live_claims c where c.session_id = $6::uuid and c.record_id = r.id and c.user_id <> $4 and c.expires_at > $7::timestamptz)
         order by ${order} limit ${limit}`,
        f.params,
      )
    ).rows.map((r) => r.id),
  );
}

/** Which of these records belong to the session (its filter, records up to its maxSeq). */
export async function sessionMembers(db: SqlExecutor, ctx: BrowseContext, session: SessionView, recordIds: readonly string[]): Promise<string[]> {
  if (recordIds.length === 0) return [];
  const f = prepareFilter(ctx, session.filter, { dialect: db.dialect }, [session.maxSeq, JSON.stringify(recordIds)]);
  return boundedQuery(db, {}, f.patterns, async (tx) =>
    (
      await tx.query<{ id: string }>(
        `select r.id from rm_records r where r.project_id = $1 and r.seq <= $2::bigint and r.id in (select jsonb_array_elements_text($3::jsonb)) and ${f.where}`,
        f.params,
      )
    ).rows.map((r) => r.id),
  );
}

/** Record ids of a session that carry manual or gold labels (for filling a live document). */
export async function sessionLabeledRecords(db: SqlExecutor, ctx: BrowseContext, session: SessionView, limit: number): Promise<string[]> {
  const f = prepareFilter(ctx, session.filter, { dialect: db.dialect }, [session.maxSeq]);
  const lim = f.p.add(limit);
  return boundedQuery(db, {}, f.patterns, async (tx) =>
    (
      await tx.query<{ id: string }>(
        `select r.id from rm_records r where r.project_id = $1 and r.seq <= $2::bigint and ${f.where}
           and exists (select 1 from rm_record_labels l where l.project_id = r.project_id and l.record_id = r.id and l.source in ('manual', 'gold'))
         order by r.seq limit ${lim}`,
        f.params,
      )
    ).rows.map((r) => r.id),
  );
}

export interface LiveRecordLabels {
  /** distinct annotators with a manual label on any task */
  annotators: string[];
  /** per task: per annotator (or `gold`) the label ids, spans as `labelId:start-end` */
  tasks: Record<string, Record<string, string[]>>;
}

/** The manual and gold labels of some records, shaped for a live document. */
export async function liveLabelsOf(db: SqlExecutor, projectId: string, recordIds: readonly string[]): Promise<Map<string, LiveRecordLabels>> {
  const out = new Map<string, LiveRecordLabels>();
  if (recordIds.length === 0) return out;
  const r = await db.query<{ record_id: string; task_id: string; source: string; annotator: string; label_id: string; span_start: number | null; span_end: number | null }>(
    `select record_id, task_id, source, annotator, label_id, span_start, span_end from rm_record_labels
     where project_id = $1 and record_id in (select jsonb_array_elements_text($2::jsonb)) and source in ('manual', 'gold')
     order by record_id, task_id, source, annotator, span_start nulls first, label_id`,
    [projectId, JSON.stringify(recordIds)],
  );
  for (const id of recordIds) out.set(id, { annotators: [], tasks: {} });
  for (const row of r.rows) {
    const rec = out.get(row.record_id)!;
    const who = row.source === 'gold' ? 'gold' : row.annotator;
    if (row.source === 'manual' && !rec.annotators.includes(row.annotator)) rec.annotators.push(row.annotator);
    const task = (rec.tasks[row.task_id] ??= {});
    (task[who] ??= []).push(row.span_start === null ? row.label_id : `${row.label_id}:${row.span_start}-${row.span_end}`);
  }
  return out;
}

/** A record label event as the live documents need it (`actor` only matters to the log). */
export type LiveLabelEvent =
  | { type: 'RecordLabeled'; data: { taskId: string; annotator: string; labelIds: readonly string[]; spans: readonly { labelId: string; start: number; end: number }[] } }
  | { type: 'GoldLabelSet'; data: { taskId: string; labelIds: readonly string[]; spans: readonly { labelId: string; start: number; end: number }[] } }
  | { type: 'GoldLabelCleared'; data: { taskId: string } };

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A record's live labels after one more of its label events, without the read model: what
 * `liveLabelsOf` reads once the projection has applied the event (an answer replaces the
 * annotator's — or the gold — answer for the task; an empty one clears it), in its order.
 * Project-wide changes (merged or removed labels and tasks) are not folded here.
 */
export function foldLiveLabels(current: LiveRecordLabels | undefined, event: LiveLabelEvent): LiveRecordLabels {
  const tasks: Record<string, Record<string, string[]>> = {};
  for (const [taskId, answers] of Object.entries(current?.tasks ?? {})) tasks[taskId] = { ...answers };
  const who = event.type === 'RecordLabeled' ? event.data.annotator : 'gold';
  const answer =
    event.type === 'GoldLabelCleared'
      ? []
      : [...[...event.data.labelIds].sort(byText), ...[...event.data.spans].sort((a, b) => a.start - b.start || byText(a.labelId, b.labelId)).map((s) => `${s.labelId}:${s.start}-${s.end}`)];
  const task = { ...tasks[event.data.taskId] };
  if (answer.length) task[who] = answer;
  else delete task[who];
  if (Object.keys(task).length) tasks[event.data.taskId] = task;
  else delete tasks[event.data.taskId];
  // the read model's order: tasks by id; in a task gold first, then annotators by id
  const ordered: Record<string, Record<string, string[]>> = {};
  const annotators: string[] = [];
  for (const taskId of Object.keys(tasks).sort(byText)) {
    const answers = tasks[taskId]!;
    const people = Object.keys(answers).filter((k) => k !== 'gold').sort(byText);
    ordered[taskId] = { ...('gold' in answers ? { gold: answers['gold']! } : {}), ...Object.fromEntries(people.map((p) => [p, answers[p]!])) };
    for (const p of people) if (!annotators.includes(p)) annotators.push(p);
  }
  return { annotators, tasks: ordered };
}

/** Same labels, whatever the order of keys and lists (the database's collation may order ids differently). */
export function sameLiveLabels(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).sort().join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}
