import type { Filter } from '@refinery/events';
import { FilterError } from '@refinery/domain';

export type AttributeType = 'text' | 'category' | 'integer' | 'float' | 'boolean';

export interface FilterScope {
  attributes: ReadonlyMap<string, AttributeType>;
  tasks: ReadonlySet<string>;
  /** blind labeling: the caller may filter only on their own manual labels */
  onlyAnnotator?: string;
  /**
   * Decides per equals / in condition whether its GIN-indexable containment probe is added
   * (given the probe's jsonb documents); absent = no probes. Search asks the index first and
   * keeps only probes of rare values (search.ts `rareProbes`).
   */
  probe?: (docs: readonly string[]) => boolean;
}

/** Collects positional parameters: user values never enter the SQL text. */
export class Params {
  readonly values: unknown[] = [];
  constructor(initial: readonly unknown[] = []) {
    this.values.push(...initial);
  }
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** The expression reading an attribute of record alias `r`, typed for comparison. */
export function attributeExpr(type: AttributeType, nameParam: string): string {
  const raw = `r."values"->${nameParam}`;
  if (type === 'integer' || type === 'float') return `(case when jsonb_typeof(${raw}) = 'number' then (${raw})::numeric end)`;
  return `(r."values"->>${nameParam})`;
}

const isNumberType = (t: AttributeType) => t === 'integer' || t === 'float';

function valueFor(type: AttributeType, value: unknown, path: string): { sql: (p: Params) => string } {
  if (isNumberType(type)) {
    if (typeof value !== 'number') throw new FilterError('invalid_value', `${path}: attribute is a number (${type}); expected a number`, { path, type });
    return { sql: (p) => `${p.add(String(value))}::numeric` };
  }
  if (type === 'boolean') {
    if (typeof value !== 'boolean') throw new FilterError('invalid_value', `${path}: attribute is a boolean; expected true or false`, { path, type });
    return { sql: (p) => `${p.add(String(value))}::text` };
  }
  if (typeof value !== 'string') throw new FilterError('invalid_value', `${path}: attribute is ${type}; expected a string`, { path, type });
  return { sql: (p) => `${p.add(value)}::text` };
}

/** Most candidate values an `in` condition turns into index probes; longer lists go without. */
export const MAX_CONTAINMENT_PROBES = 64;

/**
 * The jsonb values a record must contain for an exact `eq` to hold: a necessary condition the
 * GIN index `rm_records_values` (jsonb_path_ops) answers. It is always ANDed with the exact typed
 * comparison, so it may be broader but never narrower:
 * - numbers: the jsonb number (jsonb compares numerically, like the `::numeric` comparison);
 * - booleans: `true` or the string "true" (`->>` reads both as 'true');
 * - text / category: the string, and the JSON scalar or container the text parses as (`->>`
 *   of a stored number 5 reads '5').
 */
function containmentCandidates(type: AttributeType, value: unknown): unknown[] | undefined {
  if (isNumberType(type)) return typeof value === 'number' && Number.isFinite(value) ? [value] : undefined;
  if (type === 'boolean') return typeof value === 'boolean' ? [value, String(value)] : undefined;
  if (typeof value !== 'string') return undefined;
  const out: unknown[] = [value];
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed !== null && typeof parsed !== 'string') out.push(parsed);
  } catch {
    // not JSON: only the string itself
  }
  return out;
}

/** The probe documents (`{"<attr>": v}`) for the given values of one attribute, or undefined when not applicable. */
export function containmentDocs(attribute: string, type: AttributeType, values: readonly unknown[]): string[] | undefined {
  const docs: string[] = [];
  for (const v of values) {
    const candidates = containmentCandidates(type, v);
    if (!candidates) return undefined;
    for (const c of candidates) docs.push(JSON.stringify({ [attribute]: c }));
    if (docs.length > MAX_CONTAINMENT_PROBES) return undefined;
  }
  return docs.length ? docs : undefined;
}

/** `r."values" @> …` probes (ORed), when the scope wants them for these documents. */
function containment(p: Params, scope: FilterScope, attribute: string, type: AttributeType, values: readonly unknown[]): string | undefined {
  if (!scope.probe) return undefined;
  const docs = containmentDocs(attribute, type, values);
  if (!docs || !scope.probe(docs)) return undefined;
  return `(${docs.map((d) => `r."values" @> ${p.add(d)}::jsonb`).join(' or ')})`;
}

/**
 * Compiles a filter (slices already inlined) into one boolean SQL expression over `rm_records r`.
 * Attribute names, values, task and label ids are all parameters.
 */
export function compileFilter(filter: Filter, scope: FilterScope, p: Params, path = 'filter'): string {
  if ('all' in filter) return filter.all.length ? `(${filter.all.map((f, i) => compileFilter(f, scope, p, `${path}.all.${i}`)).join(' and ')})` : 'true';
  if ('any' in filter) return filter.any.length ? `(${filter.any.map((f, i) => compileFilter(f, scope, p, `${path}.any.${i}`)).join(' or ')})` : 'false';
  if ('not' in filter) return `(not coalesce(${compileFilter(filter.not, scope, p, `${path}.not`)}, false))`;
  if ('slice' in filter) throw new Error('compileFilter: slices must be inlined first');
  if ('hasComments' in filter) {
    return `(${filter.hasComments ? '' : 'not '}exists (select 1 from rm_comments c where c.project_id = r.project_id and c.record_id = r.id))`;
  }
  if ('recordIds' in filter) return `(r.id in (select jsonb_array_elements_text(${p.add(JSON.stringify(filter.recordIds))}::jsonb)))`;
  if ('label' in filter || 'disagreement' in filter || 'confidence' in filter) {
    const taskId = 'label' in filter ? filter.label.taskId : 'disagreement' in filter ? filter.disagreement.taskId : filter.confidence.taskId;
    const taskPath = `${path}.${'label' in filter ? 'label' : 'disagreement' in filter ? 'disagreement' : 'confidence'}.taskId`;
    if (!scope.tasks.has(taskId)) throw new FilterError('unknown_task', `${taskPath}: no labeling task "${taskId}" in this project`, { path: taskPath, taskId, allowed: [...scope.tasks] });
    if ('disagreement' in filter) {
      if (scope.onlyAnnotator !== undefined) throw blind(`${path}.disagreement`);
      return `(exists (select 1 from rm_reference x where x.project_id = r.project_id and x.task_id = ${p.add(taskId)} and x.record_id = r.id and x.disagreement))`;
    }
    if ('confidence' in filter) {
      if (scope.onlyAnnotator !== undefined) throw blind(`${path}.confidence`);
      const conds = [`l.project_id = r.project_id`, `l.record_id = r.id`, `l.task_id = ${p.add(taskId)}`, `l.source = 'weak_supervision'`];
      if (filter.confidence.min !== undefined) conds.push(`l.confidence >= ${p.add(filter.confidence.min)}::float8`);
      if (filter.confidence.max !== undefined) conds.push(`l.confidence <= ${p.add(filter.confidence.max)}::float8`);
      return `(exists (select 1 from rm_record_labels l where ${conds.join(' and ')}))`;
    }
    const { source, labelId, annotator } = filter.label;
    if (scope.onlyAnnotator !== undefined && (source !== 'manual' || (annotator !== undefined && annotator !== scope.onlyAnnotator))) throw blind(`${path}.label`);
    const who = scope.onlyAnnotator ?? annotator;
    const conds = [`l.project_id = r.project_id`, `l.record_id = r.id`, `l.task_id = ${p.add(taskId)}`];
    if (source !== 'any') conds.push(`l.source = ${p.add(source)}`);
    if (who !== undefined) conds.push(`l.annotator = ${p.add(who)}`);
    if (typeof labelId === 'string') conds.push(`l.label_id = ${p.add(labelId)}`);
    return `(${labelId === null ? 'not ' : ''}exists (select 1 from rm_record_labels l where ${conds.join(' and ')}))`;
  }

  // attribute condition
  const type = scope.attributes.get(filter.attribute);
  if (!type) {
    throw new FilterError('unknown_attribute', `${path}.attribute: no attribute "${filter.attribute}" in this project`, {
      path: `${path}.attribute`,
      attribute: filter.attribute,
      allowed: [...scope.attributes.keys()],
    });
  }
  const name = p.add(filter.attribute);
  const x = attributeExpr(type, name);
  const vpath = `${path}.value`;
  const textual = !isNumberType(type) && type !== 'boolean';
  switch (filter.op) {
    case 'is_null':
      return `(coalesce(jsonb_typeof(r."values"->${name}), 'null') = 'null')`;
    case 'is_not_null':
      return `(coalesce(jsonb_typeof(r."values"->${name}), 'null') <> 'null')`;
    case 'eq':
    case 'neq': {
      const v = valueFor(type, filter.value, vpath);
      const ci = textual && filter.caseSensitive === false;
      const cmp = ci ? `lower(${x}) = lower(${v.sql(p)})` : `${x} = ${v.sql(p)}`;
      if (filter.op === 'neq') return `(not coalesce(${cmp}, false))`;
      // an indexable necessary condition first, so a rare value is found through the index
      const probe = ci ? undefined : containment(p, scope, filter.attribute, type, [filter.value]);
      return probe ? `(${probe} and ${cmp})` : `(${cmp})`;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (type === 'boolean') throw new FilterError('invalid_operator', `${path}.op: ${filter.op} does not apply to boolean attributes`, { path: `${path}.op`, type });
      const op = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[filter.op];
      return `(${x} ${op} ${valueFor(type, filter.value, vpath).sql(p)})`;
    }
    case 'between': {
      if (type === 'boolean') throw new FilterError('invalid_operator', `${path}.op: between does not apply to boolean attributes`, { path: `${path}.op`, type });
      const [lo, hi] = filter.value as [unknown, unknown];
      return `(${x} between ${valueFor(type, lo, `${vpath}.0`).sql(p)} and ${valueFor(type, hi, `${vpath}.1`).sql(p)})`;
    }
    case 'in': {
      const list = filter.value as unknown[];
      list.forEach((v, i) => valueFor(type, v, `${vpath}.${i}`));
      const arr = p.add(JSON.stringify(list.map(String)));
      if (textual && filter.caseSensitive === false) return `(lower(${x}) in (select lower(e) from jsonb_array_elements_text(${arr}::jsonb) e))`;
      const probe = containment(p, scope, filter.attribute, type, list);
      const exact = isNumberType(type) ? `(${x} in (select e::numeric from jsonb_array_elements_text(${arr}::jsonb) e))` : `(${x} in (select jsonb_array_elements_text(${arr}::jsonb)))`;
      return probe ? `(${probe} and ${exact})` : exact;
    }
    case 'contains': {
      if (!textual) throw new FilterError('invalid_operator', `${path}.op: contains applies to text and category attributes`, { path: `${path}.op`, type });
      const v = p.add(String(filter.value));
      return filter.caseSensitive ? `(strpos(${x}, ${v}::text) > 0)` : `(strpos(lower(${x}), lower(${v}::text)) > 0)`;
    }
    case 'regex': {
      if (!textual) throw new FilterError('invalid_operator', `${path}.op: regex applies to text and category attributes`, { path: `${path}.op`, type });
      return `(${x} ${filter.caseSensitive ? '~' : '~*'} ${p.add(String(filter.value))}::text)`;
    }
  }
}

function blind(path: string): FilterError {
  return new FilterError('blind_labeling', `${path}: under blind labeling you may filter only on your own manual labels`, { path }, 403);
}
