import type { Filter, SqlExecutor } from '@refinery/events';
import { tokenize } from '@refinery/domain';
import { boundedQuery, prepareFilter, type BrowseContext, type QueryOptions } from '../browser/search.ts';
import { wsMinConfidences } from '../weak-supervision/queries.ts';

/**
 * Export columns, refinery-compatible: every attribute, then per task
 * `<attr>__<task>__MANUAL` (`__<task>__MANUAL` for record-level tasks), `…__WEAK_SUPERVISION`
 * and `…__WEAK_SUPERVISION__confidence`. MANUAL is the reference label (gold, else a single or
 * unanimous answer). Span tasks give one entry per token of the attribute.
 */
export interface ExportTask {
  id: string;
  kind: 'single_label' | 'multi_label' | 'span';
  attribute: string | null;
  prefix: string;
  labelNames: Map<string, string>;
  /** the task's configured minimum weak-supervision confidence (weak labels below it are omitted); absent: none */
  minConfidence?: number;
}

export interface ExportPlan {
  columns: string[];
  attributes: string[];
  tasks: ExportTask[];
}

export async function exportPlan(sql: SqlExecutor, ctx: BrowseContext): Promise<ExportPlan> {
  const labels = await sql.query<{ task_id: string; id: string; name: string }>('select task_id, id, name from rm_task_labels where project_id = $1 order by ord', [ctx.projectId]);
  const attributes = [...ctx.attributes.keys()];
  const minimums = await wsMinConfidences(sql, ctx.projectId);
  const tasks: ExportTask[] = [...ctx.tasks].map(([id, t]) => ({
    id,
    kind: t.kind,
    attribute: t.attribute,
    prefix: `${t.attribute ?? ''}__${t.name}`,
    labelNames: new Map(labels.rows.filter((l) => l.task_id === id).map((l) => [l.id, l.name])),
    ...(minimums.get(id) ? { minConfidence: minimums.get(id)! } : {}),
  }));
  const columns = [...attributes];
  for (const t of tasks) columns.push(`${t.prefix}__MANUAL`, `${t.prefix}__WEAK_SUPERVISION`, `${t.prefix}__WEAK_SUPERVISION__confidence`);
  return { columns, attributes, tasks };
}

type LabelTuple = [taskId: string, source: string, labelId: string, tokenStart: number | null, tokenEnd: number | null, confidence: number | null];

export type ExportRow = Record<string, unknown>;

function rowOf(plan: ExportPlan, values: Record<string, unknown>, labels: LabelTuple[] | null, minConfidence: number | undefined): ExportRow {
  const out: ExportRow = {};
  for (const a of plan.attributes) out[a] = values[a] ?? null;
  for (const t of plan.tasks) {
    const mine = (labels ?? []).filter((l) => l[0] === t.id);
    const ref = mine.filter((l) => l[1] === 'reference');
    // the export's own minimum wins over the task's configured one
    const min = minConfidence ?? t.minConfidence;
    const ws = mine.filter((l) => l[1] === 'weak_supervision' && (min === undefined || (l[5] ?? -Infinity) >= min));
    const name = (id: string) => t.labelNames.get(id) ?? id;
    if (t.kind === 'span') {
      const text = t.attribute ? values[t.attribute] : null;
      const n = typeof text === 'string' ? tokenize(text).length : 0;
      const tokens = (rows: LabelTuple[]) => {
        if (rows.length === 0 || n === 0) return { names: null, conf: null };
        const names: (string | null)[] = new Array(n).fill(null);
        const conf: (number | null)[] = new Array(n).fill(null);
        for (const l of rows) for (let i = l[3] ?? 0; i < Math.min(l[4] ?? 0, n); i++) {
          names[i] = name(l[2]);
          conf[i] = l[5];
        }
        return { names, conf };
      };
      const m = tokens(ref);
      const w = tokens(ws);
      out[`${t.prefix}__MANUAL`] = m.names;
      out[`${t.prefix}__WEAK_SUPERVISION`] = w.names;
      out[`${t.prefix}__WEAK_SUPERVISION__confidence`] = w.conf;
    } else {
      const pick = (rows: LabelTuple[]) => {
        if (rows.length === 0) return null;
        // in the task's label order
        const order = [...t.labelNames.keys()];
        const ids = [...new Set(rows.map((l) => l[2]))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
        const names = ids.map(name);
        return t.kind === 'multi_label' ? names : names[0]!;
      };
      out[`${t.prefix}__MANUAL`] = pick(ref);
      out[`${t.prefix}__WEAK_SUPERVISION`] = pick(ws);
      out[`${t.prefix}__WEAK_SUPERVISION__confidence`] = ws.length ? Math.max(...ws.map((l) => l[5] ?? 0)) : null;
    }
  }
  return out;
}

/**
 * Reads the export in keyset pages of `pageSize` records (by seq), each page one query with
 * its labels aggregated per record: at most one page is held in memory.
 */
export async function* exportRows(
  db: SqlExecutor,
  ctx: BrowseContext,
  plan: ExportPlan,
  request: { filter: Filter | null; maxSeq?: string; minConfidence?: number; pageSize?: number },
  options: QueryOptions = {},
): AsyncGenerator<ExportRow[]> {
  const c = prepareFilter(ctx, request.filter, { ...options, dialect: db.dialect }, [request.maxSeq ?? '9223372036854775807']);
  const afterParam = c.p.add('0');
  const limit = c.p.add(request.pageSize ?? 1000);
  const sql = `select r.seq::text as seq, r."values",
      (select jsonb_agg(jsonb_build_array(l.task_id, l.source, l.label_id, l.token_start, l.token_end, l.confidence))
       from rm_record_labels l where l.project_id = r.project_id and l.record_id = r.id and l.source in ('reference', 'weak_supervision')) as labels
    from rm_records r where r.project_id = $1 and r.seq <= $2::bigint and ${c.where} and r.seq > ${afterParam}::bigint
    order by r.seq limit ${limit}`;
  const params = [...c.params];
  const afterIndex = Number(afterParam.slice(1)) - 1;
  for (;;) {
    const rows = await boundedQuery(db, options, c.patterns, async (tx) => (await tx.query<{ seq: string; values: Record<string, unknown>; labels: LabelTuple[] | null }>(sql, params)).rows);
    if (rows.length === 0) return;
    yield rows.map((r) => rowOf(plan, r.values, r.labels, request.minConfidence));
    params[afterIndex] = rows[rows.length - 1]!.seq;
    if (rows.length < (request.pageSize ?? 1000)) return;
  }
}

// --- formats ---

/** One CSV field per RFC 4180: quoted when it holds a comma, quote, CR or LF; quotes doubled. Lists are JSON. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
