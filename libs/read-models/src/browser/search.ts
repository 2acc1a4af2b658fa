import type { Filter, SqlExecutor } from '@refinery/events';
import { FilterError, inlineSlices, regexPatterns, usesBackReferences, type SliceDefinition } from '@refinery/domain';
import { attributeExpr, compileFilter, Params, type AttributeType } from './filter-sql.ts';

export interface BrowseContext {
  projectId: string;
  attributes: Map<string, AttributeType>;
  tasks: Map<string, { name: string; kind: 'single_label' | 'multi_label' | 'span'; attribute: string | null }>;
  slices: Map<string, SliceDefinition>;
  blindLabeling: boolean;
}

/** Attribute types, tasks and slices of a project: what a filter may refer to. */
export async function loadBrowseContext(sql: SqlExecutor, projectId: string): Promise<BrowseContext | undefined> {
  const p = await sql.query<{ attributes: { name: string; type: AttributeType }[] }>('select attributes from rm_projects where id = $1', [projectId]);
  if (!p.rows[0]) return undefined;
  const tasks = await sql.query<{ id: string; name: string; kind: 'single_label' | 'multi_label' | 'span'; attribute: string | null }>(
    'select id, name, kind, attribute from rm_tasks where project_id = $1 order by ord',
    [projectId],
  );
  const slices = await sql.query<{ id: string; kind: 'dynamic' | 'static'; filter: Filter | null; record_ids: string[] | null }>(
    'select id, kind, filter, record_ids from rm_slices where project_id = $1',
    [projectId],
  );
  const blind = await sql.query<{ blind_labeling: boolean }>('select blind_labeling from rm_labeling_settings where project_id = $1', [projectId]);
  return {
    projectId,
    attributes: new Map(p.rows[0].attributes.map((a) => [a.name, a.type])),
    tasks: new Map(tasks.rows.map((t) => [t.id, { name: t.name, kind: t.kind, attribute: t.attribute }])),
    slices: new Map(slices.rows.map((s) => [s.id, { id: s.id, kind: s.kind, filter: s.filter, recordIds: s.record_ids }])),
    blindLabeling: blind.rows[0]?.blind_labeling ?? false,
  };
}

export interface QueryOptions {
  /** blind labeling: label conditions and returned labels are limited to this annotator's manual labels */
  onlyAnnotator?: string;
  /** statement_timeout on the PostgreSQL server (PGlite cannot interrupt a running statement) */
  timeoutMs?: number;
  /** let the planner use hash joins for searches again (benchmarks compare both) */
  plannerDefaults?: boolean;
  /** equals / in conditions of rare values also probe the GIN index on record values (default true; benchmarks compare) */
  indexProbes?: boolean;
}

/** An equals / in value with at most this many records in the project counts as rare (docs/data-browser.md). */
export const RARE_PROBE_MAX = 5000;

/**
 * Which equals / in probes to use: asks the GIN index how many of the project's records each
 * condition's documents match, stopping at RARE_PROBE_MAX + 1 (a bitmap scan: a few ms even for a
 * common value). Rare ones go into the search, where the planner starts from the index; common
 * ones are left out, as walking the records in page order stops early for them (with the probe
 * the planner fetched and sorted every match: 94 → 543 ms for a 20% value, run 3).
 */
export async function rareProbes(tx: SqlExecutor, ctx: BrowseContext, filter: Filter | undefined | null, options: QueryOptions): Promise<Set<string>> {
  const rare = new Set<string>();
  if (!filter || options.indexProbes === false) return rare;
  const groups: string[][] = [];
  compileFilter(inlineSlices(filter, ctx.slices), { attributes: ctx.attributes, tasks: new Set(ctx.tasks.keys()), probe: (docs) => (groups.push([...docs]), false) }, new Params([ctx.projectId]));
  if (!groups.length) return rare;
  await tx.query(`select set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true)`);
  try {
    for (const docs of groups) {
      const p = new Params([ctx.projectId]);
      const cond = docs.map((d) => `r."values" @> ${p.add(d)}::jsonb`).join(' or ');
      const r = await tx.query<{ n: number }>(`select count(*)::int as n from (select 1 from rm_records r where r.project_id = $1 and (${cond}) limit ${p.add(RARE_PROBE_MAX + 1)}) m`, p.values);
      if ((r.rows[0]?.n ?? 0) <= RARE_PROBE_MAX) rare.add(probeKey(docs));
    }
  } finally {
    await tx.query(`select set_config('enable_seqscan', 'on', true), set_config('enable_indexscan', 'on', true)`);
  }
  return rare;
}

const probeKey = (docs: readonly string[]) => JSON.stringify(docs);

export interface CompiledFilter {
  where: string;
  params: unknown[];
  patterns: { pattern: string; path: string }[];
}

/** Inlines slices and compiles; `$1` is the project id. Throws FilterError for unknown names. */
export function prepareFilter(
  ctx: BrowseContext,
  filter: Filter | undefined | null,
  options: QueryOptions & { dialect: 'pg' | 'pglite'; probes?: ReadonlySet<string> },
  extra: readonly unknown[] = [],
): CompiledFilter & { p: Params } {
  const p = new Params([ctx.projectId, ...extra]);
  if (!filter) return { where: 'true', params: p.values, patterns: [], p };
  const inlined = inlineSlices(filter, ctx.slices);
  const patterns = regexPatterns(inlined);
  if (options.dialect === 'pglite') {
    for (const { pattern, path } of patterns) {
      if (usesBackReferences(pattern)) {
        throw new FilterError(
          'regex_not_supported',
          `${path}: back-references (\\1…\\9) are refused on the embedded database, which cannot interrupt a slow match; use the server or drop them`,
          { path, pattern },
        );
      }
    }
  }
  const where = compileFilter(
    inlined,
    { attributes: ctx.attributes, tasks: new Set(ctx.tasks.keys()), ...(options.onlyAnnotator !== undefined ? { onlyAnnotator: options.onlyAnnotator } : {}),
      ...(options.probes?.size ? { probe: (docs: readonly string[]) => options.probes!.has(probeKey(docs)) } : {}) },
    p,
  );
  return { where, params: p.values, patterns, p };
}

/** Runs `work` in a transaction bounded by statement_timeout; maps timeouts and regex errors to FilterError. */
export async function boundedQuery<T>(db: SqlExecutor, options: QueryOptions, patterns: readonly { pattern: string; path: string }[], work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  try {
    return await db.transaction(async (tx) => {
      if (tx.dialect === 'pg' && options.timeoutMs) await tx.query(`select set_config('statement_timeout', $1, true)`, [`${Math.round(options.timeoutMs)}ms`]);
      for (const { pattern, path } of patterns) {
        // PostgreSQL's regex dialect (ARE) differs from JavaScript's: compile it where it runs.
        try {
          await tx.query(`select '' ~ $1::text`, [pattern]);
        } catch (err) {
          if (isRegexError(err)) throw new FilterError('invalid_regex', `${path}: PostgreSQL refuses the regular expression: ${(err as Error).message}`, { path, pattern });
          throw err;
        }
      }
      return await work(tx);
    });
  } catch (err) {
    if (err instanceof FilterError) throw err;
    const code = (err as { code?: string }).code;
    if (code === '57014') {
      throw new FilterError('query_timeout', `the query took longer than ${options.timeoutMs} ms and was cancelled; narrow the filter or simplify the regular expression`, { path: 'filter', timeoutMs: options.timeoutMs }, 422);
    }
    if (isRegexError(err)) throw new FilterError('invalid_regex', `PostgreSQL refuses a regular expression: ${(err as Error).message}`, { path: 'filter' });
    throw err;
  }
}

function isRegexError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '2201B' || /invalid regular expression/i.test(e?.message ?? '');
}

// --- ordering and keyset cursors ---

export type SortBy = 'seq' | 'random' | { attribute: string };
export interface Sort {
  by: SortBy;
  direction: 'asc' | 'desc';
  seed: string;
}

export interface OrderPlan {
  /** the sort key (besides `r.seq`, the tie-breaker); null when sorting by seq only */
  key: string | null;
  keyCast: 'numeric' | 'text';
  direction: 'asc' | 'desc';
  fingerprint: string;
}

/** `md5(seed || id)`: a stable pseudo-random order per seed. */
export function orderPlan(ctx: BrowseContext, sort: Sort, p: Params): OrderPlan {
  const fp = JSON.stringify([sort.by, sort.direction, sort.by === 'random' ? sort.seed : '']);
  if (sort.by === 'seq') return { key: null, keyCast: 'text', direction: sort.direction, fingerprint: fp };
  if (sort.by === 'random') return { key: `md5(${p.add(sort.seed)}::text || r.id)`, keyCast: 'text', direction: sort.direction, fingerprint: fp };
  const type = ctx.attributes.get(sort.by.attribute);
  if (!type) {
    throw new FilterError('unknown_attribute', `sort.by.attribute: no attribute "${sort.by.attribute}" in this project`, {
      path: 'sort.by.attribute',
      attribute: sort.by.attribute,
      allowed: [...ctx.attributes.keys()],
    });
  }
  const numeric = type === 'integer' || type === 'float';
  return { key: attributeExpr(type, p.add(sort.by.attribute)), keyCast: numeric ? 'numeric' : 'text', direction: sort.direction, fingerprint: fp };
}

export interface CursorPosition {
  k: string | null;
  s: string;
}

export function encodeSearchCursor(plan: OrderPlan, pos: CursorPosition): string {
  return Buffer.from(JSON.stringify({ f: plan.fingerprint, k: pos.k, s: pos.s })).toString('base64url');
}

export function decodeSearchCursor(plan: OrderPlan, cursor: string): CursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const c = parsed as { f?: unknown; k?: unknown; s?: unknown } | undefined;
  if (!c || typeof c.s !== 'string' || !/^\d{1,19}$/.test(c.s) || !(c.k === null || typeof c.k === 'string') || typeof c.f !== 'string') {
    throw new FilterError('invalid_cursor', 'the cursor is not one this API returned', { path: 'cursor', cursor });
  }
  if (c.f !== plan.fingerprint) throw new FilterError('invalid_cursor', 'the cursor belongs to a different sort order', { path: 'cursor', cursor });
  if (plan.keyCast === 'numeric' && c.k !== null && !/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(c.k)) {
    throw new FilterError('invalid_cursor', 'the cursor is not one this API returned', { path: 'cursor', cursor });
  }
  return { k: c.k as string | null, s: c.s };
}

/**
 * `order by` and the keyset condition "strictly after/before the cursor" in the given reading
 * direction. Null keys sort last ascending, first descending (PostgreSQL's default).
 */
export function keyset(plan: OrderPlan, p: Params, cursor: CursorPosition | undefined, reverse: boolean): { orderBy: string; after: string } {
  const asc = (plan.direction === 'asc') !== reverse;
  const d = asc ? 'asc' : 'desc';
  const nulls = plan.direction === 'asc' ? (asc ? 'nulls last' : 'nulls first') : asc ? 'nulls last' : 'nulls first';
  const orderBy = plan.key ? `${plan.key} ${d} ${nulls}, r.seq ${d}` : `r.seq ${d}`;
  if (!cursor) return { orderBy, after: 'true' };
  const s = `${p.add(cursor.s)}::bigint`;
  const gt = asc ? '>' : '<';
  if (!plan.key) return { orderBy, after: `r.seq ${gt} ${s}` };
  // Nulls sit at the end in reading direction when `nullsAtEnd`.
  const nullsAtEnd = nulls === 'nulls last';
  const K = plan.key;
  if (cursor.k === null) {
    return { orderBy, after: nullsAtEnd ? `(${K} is null and r.seq ${gt} ${s})` : `((${K} is null and r.seq ${gt} ${s}) or ${K} is not null)` };
  }
  const k = `${p.add(cursor.k)}::${plan.keyCast}`;
  const strictly = `${K} ${gt} ${k}`;
  return { orderBy, after: `(${strictly}${nullsAtEnd ? ` or ${K} is null` : ''} or (${K} = ${k} and r.seq ${gt} ${s}))` };
}

// --- the search ---

export interface BrowserLabel {
  taskId: string;
  source: string;
  annotator: string;
  labelIds: string[];
  spans: { labelId: string; start: number; end: number; tokenStart: number; tokenEnd: number }[];
  confidence?: number | null;
}
export interface BrowserRecord {
  id: string;
  seq: number;
  values: Record<string, unknown>;
  labels: BrowserLabel[];
}
export interface SearchResult {
  records: BrowserRecord[];
  /** records matching, counted exactly up to `countCap`; beyond it `total` is the cap and `totalExact` false */
  total: number;
  totalExact: boolean;
  nextCursor: string | null;
}

/** Counting stops after this many matches (a count over 1M rows costs a full scan; see docs/data-browser.md). */
export const DEFAULT_COUNT_CAP = 1_000;

export async function searchRecords(
  db: SqlExecutor,
  ctx: BrowseContext,
  request: { filter?: Filter | null; sort: Sort; limit: number; cursor?: string; countCap?: number },
  options: QueryOptions = {},
): Promise<SearchResult> {
  // Compiled once outside the transaction: bad filters and cursors are refused before any query.
  const checked = prepareFilter(ctx, request.filter, { ...options, dialect: db.dialect });
  if (request.cursor !== undefined) decodeSearchCursor(orderPlan(ctx, request.sort, new Params(checked.params)), request.cursor);
  return boundedQuery(db, options, checked.patterns, async (tx) => {
    const probes = await rareProbes(tx, ctx, request.filter, options);
    const compiled = probes.size ? prepareFilter(ctx, request.filter, { ...options, dialect: db.dialect, probes }) : checked;
    const cap = request.countCap ?? DEFAULT_COUNT_CAP;
    const countParams = [...compiled.params, cap + 1];
    const capParam = `$${countParams.length}`;
    const p = compiled.p;
    const plan = orderPlan(ctx, request.sort, p);
    const cursor = request.cursor !== undefined ? decodeSearchCursor(plan, request.cursor) : undefined;
    const ks = keyset(plan, p, cursor, false);
    const limit = p.add(request.limit + 1);
    const pageSql = `select r.id, r.seq::text as seq, r."values", ${plan.key ? `(${plan.key})::text` : 'null'} as k
      from rm_records r where r.project_id = $1 and ${compiled.where} and ${ks.after}
      order by ${ks.orderBy} limit ${limit}`;
    const countSql = `select count(*)::text as n from (select 1 from rm_records r where r.project_id = $1 and ${compiled.where} limit ${capParam}) m`;
    await avoidFullScans(tx, options);
    const rows = (await tx.query<{ id: string; seq: string; values: Record<string, unknown>; k: string | null }>(pageSql, p.values)).rows;
    // A page that is not full is the whole rest of the result: no count needed from the start.
    const counted = !cursor && rows.length <= request.limit ? rows.length : Number((await tx.query<{ n: string }>(countSql, countParams)).rows[0]?.n ?? 0);
    const total = Math.min(counted, cap);
    const page = rows.slice(0, request.limit);
    const labels = await labelsOf(tx, ctx.projectId, page.map((r) => r.id), options.onlyAnnotator);
    const last = page[page.length - 1];
    return {
      records: page.map((r) => ({ id: r.id, seq: Number(r.seq), values: r.values, labels: labels.get(r.id) ?? [] })),
      total,
      totalExact: counted <= cap,
      nextCursor: rows.length > request.limit && last ? encodeSearchCursor(plan, { k: last.k, s: last.seq }) : null,
    };
  });
}

/**
 * The planner cannot estimate how many records an attribute condition keeps (a jsonb expression
 * without statistics; it assumes 0.5%), so with label conditions it liked hash joins that scan
 * every record of the project first (a full scan for the page and again for the count). Page and
 * capped count both stop early when matches are found in order: nested loops with an index probe
 * per candidate (or driven from a selective label index) do that; hash joins never do.
 * Transaction-local, so nothing else is affected.
 */
async function avoidFullScans(tx: SqlExecutor, options: QueryOptions): Promise<void> {
  // Measured (bench/results/browser-2026-11-27.md): 2–7x faster on PGlite, which has no parallel
  // workers; on the server parallel hash joins did as well, so its planner keeps its choice.
  if (options.plannerDefaults || tx.dialect !== 'pglite') return;
  await tx.query(`select set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`);
}

/** Labels of some records grouped per task, source and annotator. */
export async function labelsOf(sql: SqlExecutor, projectId: string, recordIds: readonly string[], onlyAnnotator?: string): Promise<Map<string, BrowserLabel[]>> {
  const out = new Map<string, BrowserLabel[]>();
  if (recordIds.length === 0) return out;
  const r = await sql.query<{
    record_id: string;
    task_id: string;
    source: string;
    annotator: string;
    label_id: string;
    span_start: number | null;
    span_end: number | null;
    token_start: number | null;
    token_end: number | null;
    confidence: number | null;
  }>(
    `select record_id, task_id, source, annotator, label_id, span_start, span_end, token_start, token_end, confidence from rm_record_labels
     where project_id = $1 and record_id in (select jsonb_array_elements_text($2::jsonb))
       and ($3::text is null or (source = 'manual' and annotator = $3::text))
     order by record_id, task_id, source, annotator, span_start nulls first, label_id`,
    [projectId, JSON.stringify(recordIds), onlyAnnotator ?? null],
  );
  const byKey = new Map<string, BrowserLabel>();
  for (const row of r.rows) {
    const key = `${row.record_id}\u0000${row.task_id}\u0000${row.source}\u0000${row.annotator}`;
    let l = byKey.get(key);
    if (!l) {
      l = { taskId: row.task_id, source: row.source, annotator: row.annotator, labelIds: [], spans: [] };
      if (row.source === 'weak_supervision') l.confidence = row.confidence;
      byKey.set(key, l);
      const list = out.get(row.record_id) ?? [];
      list.push(l);
      out.set(row.record_id, list);
    }
    if (row.span_start === null) l.labelIds.push(row.label_id);
    else l.spans.push({ labelId: row.label_id, start: row.span_start, end: row.span_end!, tokenStart: row.token_start!, tokenEnd: row.token_end! });
  }
  return out;
}

/** Record ids matching a filter, in import order, at most `max` (+1 to detect overflow). */
export async function matchingRecordIds(db: SqlExecutor, ctx: BrowseContext, filter: Filter, max: number, options: QueryOptions = {}): Promise<string[]> {
  const compiled = prepareFilter(ctx, filter, { ...options, dialect: db.dialect });
  const limit = compiled.p.add(max + 1);
  return boundedQuery(db, options, compiled.patterns, async (tx) =>
    (await tx.query<{ id: string }>(`select r.id from rm_records r where r.project_id = $1 and ${compiled.where} order by r.seq limit ${limit}`, compiled.params)).rows.map((r) => r.id),
  );
}
