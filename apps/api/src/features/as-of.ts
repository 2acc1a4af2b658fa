import { z } from 'zod';
import { isPosition, type SqlExecutor } from '@refinery/events';
import { AuditError, openAsOf, type AsOfPoint, type AsOfView } from '@refinery/audit';
import type { ApiContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, type AnyRoute } from '../http/routes.ts';

/**
 * Malformed points are the caller's syntax (400); a point outside the project's life is a
 * well-formed request that cannot be answered (422); an unknown project is 404.
 */
export async function withAsOfErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AuditError && (err.code === 'invalid_as_of_point' || err.code === 'invalid_cursor')) throw new HttpError(400, err.code, err.message, err.details);
    throw err;
  }
}

/** `point` is a log position ("<tx>/<seq>") or an ISO 8601 time. */
export function asOfPoint(point: string): AsOfPoint {
  return isPosition(point) ? { position: point } : { time: point };
}

const source = (ctx: ApiContext) => ({ store: ctx.store, db: ctx.db, artifacts: ctx.artifacts });

interface CountRow {
  task_id: string;
  label_id: string;
  source: string;
  records: number;
}

async function labelCounts(db: SqlExecutor, projectId: string): Promise<CountRow[]> {
  const r = await db.query<CountRow>(
    `select task_id, label_id, source, count(distinct record_id)::int as records from rm_record_labels
     where project_id = $1 group by task_id, label_id, source order by task_id, label_id, source`,
    [projectId],
  );
  return r.rows;
}

async function summary(view: AsOfView, projectId: string) {
  const [records, tasks, labels, counts] = await Promise.all([
    view.db.query<{ n: number }>('select count(*)::int as n from rm_records where project_id = $1', [projectId]),
    view.db.query<{ id: string; name: string; kind: string }>('select id, name, kind from rm_tasks where project_id = $1 order by ord', [projectId]),
    view.db.query<{ task_id: string; id: string; name: string }>('select task_id, id, name from rm_task_labels where project_id = $1 order by ord', [projectId]),
    labelCounts(view.db, projectId),
  ]);
  return {
    position: view.position,
    time: view.time,
    records: records.rows[0]!.n,
    tasks: tasks.rows.map((t) => ({ taskId: t.id, name: t.name, kind: t.kind, labels: labels.rows.filter((l) => l.task_id === t.id).map((l) => ({ labelId: l.id, name: l.name })) })),
    /** records carrying each label, per task and source (manual, gold, reference, heuristic, weak_supervision) */
    counts: counts.map((c) => ({ taskId: c.task_id, labelId: c.label_id, source: c.source, records: c.records })),
  };
}

const pointParam = z
  .string()
  .min(1)
  .max(64)
  .describe('a log position ("<tx>/<seq>", as returned by commands) or an ISO 8601 time');

/** records compared per round trip to the views */
const CHUNK = 2000;

interface Group {
  record_id: string;
  task_id: string;
  source: string;
  annotator: string;
  labels: string;
}

async function recordIdsAfter(db: SqlExecutor, projectId: string, cursor: string): Promise<string[]> {
  const r = await db.query<{ record_id: string }>(
    `select distinct record_id collate "C" as record_id from rm_record_labels where project_id = $1 and record_id collate "C" > $2 order by 1 limit $3`,
    [projectId, cursor, CHUNK],
  );
  return r.rows.map((row) => row.record_id);
}

async function groups(db: SqlExecutor, projectId: string, after: string, upTo: string | null): Promise<Map<string, Map<string, string>>> {
  const r = await db.query<Group>(
    `select record_id, task_id, source, annotator,
            string_agg(label_id || coalesce('[' || span_start || '-' || span_end || ']', ''), ',' order by label_id, span_start, span_end) as labels
     from rm_record_labels
     where project_id = $1 and record_id collate "C" > $2 and ($3::text is null or record_id collate "C" <= $3)
     group by record_id, task_id, source, annotator`,
    [projectId, after, upTo],
  );
  const out = new Map<string, Map<string, string>>();
  for (const g of r.rows) {
    let m = out.get(g.record_id);
    if (!m) out.set(g.record_id, (m = new Map()));
    m.set(JSON.stringify([g.task_id, g.source, g.annotator]), g.labels);
  }
  return out;
}

interface RecordChange {
  recordId: string;
  changes: { taskId: string; source: string; annotator: string; before: string[]; after: string[] }[];
}

/** Records whose labels differ between two views, in record id order (byte order), paged by record id. */
async function changedRecords(a: AsOfView, b: AsOfView, projectId: string, cursor: string, limit: number): Promise<{ items: RecordChange[]; nextCursor: string | null }> {
  const items: RecordChange[] = [];
  let from = cursor;
  for (;;) {
    const [idsA, idsB] = await Promise.all([recordIdsAfter(a.db, projectId, from), recordIdsAfter(b.db, projectId, from)]);
    if (idsA.length === 0 && idsB.length === 0) return { items, nextCursor: null };
    // Compare only the range both sides have read completely.
    const fullA = idsA.length === CHUNK ? idsA[idsA.length - 1]! : null;
    const fullB = idsB.length === CHUNK ? idsB[idsB.length - 1]! : null;
    const upTo = fullA !== null && fullB !== null ? (fullA < fullB ? fullA : fullB) : (fullA ?? fullB);
    const [ga, gb] = await Promise.all([groups(a.db, projectId, from, upTo), groups(b.db, projectId, from, upTo)]);
    const ids = [...new Set([...ga.keys(), ...gb.keys()])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    for (const id of ids) {
      const before = ga.get(id) ?? new Map<string, string>();
      const after = gb.get(id) ?? new Map<string, string>();
      const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
      const changes = keys
        .filter((k) => before.get(k) !== after.get(k))
        .map((k) => {
          const [taskId, src, annotator] = JSON.parse(k) as [string, string, string];
          const split = (s: string | undefined) => (s ? s.split(',') : []);
          return { taskId, source: src, annotator, before: split(before.get(k)), after: split(after.get(k)) };
        });
      if (changes.length === 0) continue;
      if (items.length === limit) return { items, nextCursor: items[items.length - 1]!.recordId };
      items.push({ recordId: id, changes });
    }
    if (upTo === null) return { items, nextCursor: null };
    from = upTo;
  }
}

export function asOfRoutes(ctx: ApiContext): AnyRoute[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/as-of',
      summary: 'The project as of a past time or log position: label counts per task, label and source',
      description:
        'Replays the log up to the point into a separate, disposable read model (cached). Give exactly one of `time` and `position`. ' +
        'A time before the project existed or a position beyond the end of the log is a 422. See docs/audit.md.',
      tags: ['audit'],
      permission: 'project:gold',
      params: z.object({ id: z.uuid() }),
      query: z.object({
        time: z.string().min(1).max(64).optional().describe('ISO 8601, e.g. 2026-11-27T10:00:00Z'),
        position: z.string().min(1).max(64).optional().describe('a log position as returned by commands'),
      }),
      responses: { 200: { description: 'label counts as of the point' }, 400: { description: 'malformed point' }, 422: { description: 'a point outside the project’s life' } },
      async handler({ params, query }) {
        return withAsOfErrors(async () => {
          const point: AsOfPoint = {};
          if (query.time !== undefined) point.time = query.time;
          if (query.position !== undefined) point.position = query.position;
          const view = await openAsOf(source(ctx), params.id, point);
          try {
            return { body: await summary(view, params.id) };
          } finally {
            await view.close();
          }
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/projects/:id/as-of/compare',
      summary: 'Compare the project at two points: label count differences and the records whose labels changed (paged)',
      description:
        '`from` and `to` are each a log position or an ISO 8601 time (`to` defaults to now). `changedRecords` lists, per record, each ' +
        '(task, source, annotator) whose labels differ; page with `cursor` = the previous `nextCursor`.',
      tags: ['audit'],
      permission: 'project:gold',
      params: z.object({ id: z.uuid() }),
      query: z.object({
        from: pointParam,
        to: pointParam.optional(),
        cursor: z.string().min(1).max(512).optional().describe('records after this record id (the previous nextCursor)'),
        limit: z.coerce.number().int().min(1).max(500).default(50),
      }),
      responses: { 200: { description: 'the differences' }, 400: { description: 'malformed point' }, 422: { description: 'a point outside the project’s life' } },
      async handler({ params, query }) {
        return withAsOfErrors(async () => {
          const a = await openAsOf(source(ctx), params.id, asOfPoint(query.from));
          try {
            const b = await openAsOf(source(ctx), params.id, query.to !== undefined ? asOfPoint(query.to) : { position: await ctx.store.head() });
            try {
              const [ca, cb] = await Promise.all([labelCounts(a.db, params.id), labelCounts(b.db, params.id)]);
              const key = (c: CountRow) => JSON.stringify([c.task_id, c.label_id, c.source]);
              const merged = new Map<string, { taskId: string; labelId: string; source: string; from: number; to: number; delta: number }>();
              for (const c of ca) merged.set(key(c), { taskId: c.task_id, labelId: c.label_id, source: c.source, from: c.records, to: 0, delta: -c.records });
              for (const c of cb) {
                const m = merged.get(key(c)) ?? { taskId: c.task_id, labelId: c.label_id, source: c.source, from: 0, to: 0, delta: 0 };
                m.to = c.records;
                m.delta = m.to - m.from;
                merged.set(key(c), m);
              }
              const changed = await changedRecords(a, b, params.id, query.cursor ?? '', query.limit);
              return {
                body: {
                  from: { position: a.position, time: a.time },
                  to: { position: b.position, time: b.time },
                  counts: [...merged.values()].filter((m) => m.delta !== 0),
                  changedRecords: changed,
                },
              };
            } finally {
              await b.close();
            }
          } finally {
            await a.close();
          }
        });
      },
    }),
  ];
}
