import type { Projection } from '@refinery/projector';
import type { Filter, LabelingSessionDistributionSet, LabelingSessionStarted, ProjectDeleted, Recorded, SqlExecutor } from '@refinery/events';
import { FilterError } from '@refinery/domain';
import { boundedQuery, keyset, prepareFilter, type BrowseContext, type OrderPlan, type QueryOptions } from '../browser/search.ts';

/**
 * Labeling sessions: one user working through a slice or a filter, in order or shuffled; a team
 * session (with a distribution: overlap k, claim timeout, optional annotator list) is open to
 * the project's members (docs/live.md).
 */
export const sessionsProjection: Projection = {
  name: 'sessions',
  version: 2,
  handles: ['LabelingSessionStarted', 'LabelingSessionDistributionSet', 'ProjectDeleted'],
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_sessions (
        project_id uuid not null,
        id         uuid not null,
        name       text not null,
        owner      text not null,
        slice_id   text,
        filter     jsonb,
        ord        text not null,
        seed       text not null,
        max_seq    bigint not null,
        total      bigint not null,
        started_at timestamptz not null,
        primary key (project_id, id)
      );
      create index if not exists rm_sessions_owner on rm_sessions (project_id, owner, started_at);
      alter table rm_sessions add column if not exists overlap integer;
      alter table rm_sessions add column if not exists annotators jsonb;
      alter table rm_sessions add column if not exists claim_timeout_s integer;
    `);
  },
  async reset(sql) {
    await sql.exec('delete from rm_sessions');
  },
  async apply(tx, events) {
    for (const e of events as readonly Recorded<LabelingSessionStarted | LabelingSessionDistributionSet | ProjectDeleted>[]) {
      if (e.type === 'ProjectDeleted') {
        await tx.query('delete from rm_sessions where project_id = $1', [e.data.projectId]);
        continue;
      }
      if (e.type === 'LabelingSessionDistributionSet') {
        const d = e.data;
        await tx.query('update rm_sessions set overlap = $3, annotators = $4::jsonb, claim_timeout_s = $5 where project_id = $1 and id = $2', [
          d.projectId,
          d.sessionId,
          d.overlap,
          d.annotators === null ? null : JSON.stringify(d.annotators),
          d.claimTimeoutSeconds,
        ]);
        continue;
      }
      const d = e.data;
      await tx.query(
        `insert into rm_sessions (project_id, id, name, owner, slice_id, filter, ord, seed, max_seq, total, started_at)
         values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::bigint, $10, $11) on conflict (project_id, id) do nothing`,
        [d.projectId, d.sessionId, d.name, d.owner, d.sliceId, d.filter === null ? null : JSON.stringify(d.filter), d.order, d.seed, d.maxSeq, d.total, e.meta.at],
      );
    }
  },
};

/** How a team session hands out records (null for a personal session). */
export interface SessionDistribution {
  /** how many different annotators must label each record */
  overlap: number;
  /** user ids of the annotators (role annotator) assigned; null = every member who may label */
  annotators: string[] | null;
  /** a claim lapses after this long without activity */
  claimTimeoutSeconds: number;
}

export interface SessionView {
  id: string;
  distribution: SessionDistribution | null;
  name: string;
  owner: string;
  sliceId: string | null;
  filter: Filter | null;
  order: 'ordered' | 'shuffled';
  seed: string;
  maxSeq: string;
  total: number;
  startedAt: string;
}

interface SessionRow {
  id: string;
  name: string;
  owner: string;
  slice_id: string | null;
  filter: Filter | null;
  ord: 'ordered' | 'shuffled';
  seed: string;
  max_seq: string;
  total: string;
  started_at: string | Date;
  overlap: number | null;
  annotators: string[] | null;
  claim_timeout_s: number | null;
}
const SELECT = `select id::text, name, owner, slice_id, filter, ord, seed, max_seq::text, total::text, started_at, overlap, annotators, claim_timeout_s from rm_sessions`;
const toView = (r: SessionRow): SessionView => ({
  id: r.id,
  distribution: r.overlap === null ? null : { overlap: r.overlap, annotators: r.annotators, claimTimeoutSeconds: r.claim_timeout_s ?? 120 },
  name: r.name,
  owner: r.owner,
  sliceId: r.slice_id,
  filter: r.filter,
  order: r.ord,
  seed: r.seed,
  maxSeq: r.max_seq,
  total: Number(r.total),
  startedAt: new Date(r.started_at).toISOString(),
});

/** The caller's own sessions and the project's team sessions, newest first. */
export async function listSessions(sql: SqlExecutor, projectId: string, owner: string): Promise<SessionView[]> {
  return (await sql.query<SessionRow>(`${SELECT} where project_id = $1 and (owner = $2 or overlap is not null) order by started_at desc, id`, [projectId, owner])).rows.map(toView);
}

export async function getSession(sql: SqlExecutor, projectId: string, sessionId: string): Promise<SessionView | undefined> {
  const r = await sql.query<SessionRow>(`${SELECT} where project_id = $1 and id = $2`, [projectId, sessionId]);
  return r.rows[0] ? toView(r.rows[0]) : undefined;
}

/** The highest record seq of a project now: a new session covers records up to it. */
export async function currentMaxSeq(sql: SqlExecutor, projectId: string): Promise<string> {
  const r = await sql.query<{ m: string | null }>('select max(seq)::text as m from rm_records where project_id = $1', [projectId]);
  return r.rows[0]?.m ?? '0';
}

/** Counts the records matching a filter among seq ≤ maxSeq. */
export async function countMatching(db: SqlExecutor, ctx: BrowseContext, filter: Filter | null, maxSeq: string, options: QueryOptions = {}): Promise<number> {
  const c = prepareFilter(ctx, filter, { ...options, dialect: db.dialect }, [maxSeq]);
  return boundedQuery(db, options, c.patterns, async (tx) =>
    Number((await tx.query<{ n: string }>(`select count(*)::text as n from rm_records r where r.project_id = $1 and r.seq <= $2::bigint and ${c.where}`, c.params)).rows[0]?.n ?? 0),
  );
}

/** Session members with a manual label by the owner (on any task). */
export async function sessionProgress(db: SqlExecutor, ctx: BrowseContext, session: SessionView, options: QueryOptions = {}): Promise<{ labeled: number; total: number }> {
  const c = prepareFilter(ctx, session.filter, { ...options, dialect: db.dialect }, [session.maxSeq, session.owner]);
  return boundedQuery(db, options, c.patterns, async (tx) => {
    const r = await tx.query<{ total: string; labeled: string }>(
      `select count(*)::text as total,
              count(*) filter (where exists (select 1 from rm_record_labels l where l.project_id = r.project_id and l.record_id = r.id and l.source = 'manual' and l.annotator = $3))::text as labeled
       from rm_records r where r.project_id = $1 and r.seq <= $2::bigint and ${c.where}`,
      c.params,
    );
    return { total: Number(r.rows[0]?.total ?? 0), labeled: Number(r.rows[0]?.labeled ?? 0) };
  });
}

function sessionPlan(session: SessionView, seedParam: string): OrderPlan {
  return session.order === 'shuffled'
    ? { key: `md5(${seedParam}::text || r.id)`, keyCast: 'text', direction: 'asc', fingerprint: `session:${session.id}` }
    : { key: null, keyCast: 'text', direction: 'asc', fingerprint: `session:${session.id}` };
}

function encode(session: SessionView, k: string | null, s: string) {
  return Buffer.from(JSON.stringify({ x: session.id, k, s })).toString('base64url');
}
function decode(session: SessionView, cursor: string): { k: string | null; s: string } {
  let c: { x?: unknown; k?: unknown; s?: unknown } | undefined;
  try {
    c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    c = undefined;
  }
  if (!c || c.x !== session.id || typeof c.s !== 'string' || !/^\d{1,19}$/.test(c.s) || !(c.k === null || (typeof c.k === 'string' && /^[0-9a-f]{32}$/.test(c.k)))) {
    throw new FilterError('invalid_cursor', 'the cursor is not one this session returned', { path: 'cursor', cursor });
  }
  return { k: c.k as string | null, s: c.s };
}

export interface SessionPage {
  recordIds: string[];
  nextCursor: string | null;
  prevCursor: string | null;
}

/**
 * A page of the session's record ids in session order, by keyset in either direction: the
 * database sorts and stops after `limit` rows, nothing is materialised.
 * `next` without a cursor starts at the beginning, `prev` without a cursor at the end.
 */
export async function sessionRecords(
  db: SqlExecutor,
  ctx: BrowseContext,
  session: SessionView,
  page: { cursor?: string; limit: number; direction: 'next' | 'prev' },
  options: QueryOptions = {},
): Promise<SessionPage> {
  const c = prepareFilter(ctx, session.filter, { ...options, dialect: db.dialect }, [session.maxSeq, session.seed]);
  const plan = sessionPlan(session, '$3');
  const cursor = page.cursor !== undefined ? decode(session, page.cursor) : undefined;
  const reverse = page.direction === 'prev';
  const ks = keyset(plan, c.p, cursor, reverse);
  const limit = c.p.add(page.limit + 1);
  const rows = await boundedQuery(db, options, c.patterns, async (tx) =>
    (
      await tx.query<{ id: string; seq: string; k: string | null }>(
        `select r.id, r.seq::text as seq, ${plan.key ?? 'null'} as k from rm_records r
         where r.project_id = $1 and r.seq <= $2::bigint and ($3::text is not null) and ${c.where} and ${ks.after}
         order by ${ks.orderBy} limit ${limit}`,
        c.params,
      )
    ).rows,
  );
  const more = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  if (reverse) items.reverse();
  const first = items[0];
  const last = items[items.length - 1];
  const hasBefore = reverse ? more : cursor !== undefined;
  const hasAfter = reverse ? cursor !== undefined : more;
  return {
    recordIds: items.map((r) => r.id),
    nextCursor: hasAfter && last ? encode(session, last.k, last.seq) : null,
    prevCursor: hasBefore && first ? encode(session, first.k, first.seq) : null,
  };
}
export * from './claims.ts';
