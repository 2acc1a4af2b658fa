import type { AttributeOp, Filter, LabelSource } from '@refinery/events';

// The same lists as the event schemas (libs/events/src/catalog/browsing.ts); domain imports only types.
const attributeOps: readonly AttributeOp[] = ['eq', 'neq', 'contains', 'regex', 'gt', 'gte', 'lt', 'lte', 'between', 'in', 'is_null', 'is_not_null'];
const labelSources: readonly LabelSource[] = ['manual', 'gold', 'reference', 'heuristic', 'weak_supervision', 'any', 'crowd'];

/** A filter refused before it reaches the database; `path` names the offending part (e.g. `filter.all.1.value`). */
export class FilterError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> & { path: string },
    /** 400 for bad input; 403 when blind labeling hides what the filter asks about */
    readonly status = 400,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}

export const FILTER_LIMITS = { maxDepth: 16, maxNodes: 200, maxRecordIds: 10_000, maxInValues: 1000, maxPatternLength: 1000 } as const;

const KINDS = ['all', 'any', 'not', 'attribute', 'label', 'disagreement', 'confidence', 'hasComments', 'recordIds', 'slice'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (path: string, message: string, extra: Record<string, unknown> = {}): never => {
  throw new FilterError('invalid_filter', `${path}: ${message}`, { path, ...extra });
};

function onlyKeys(v: Record<string, unknown>, allowed: readonly string[], path: string) {
  for (const k of Object.keys(v)) if (!allowed.includes(k)) fail(`${path}.${k}`, `unknown field "${k}"`, { allowed });
}
function str(v: unknown, path: string, max = 200): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(path, `expected a non-empty string of at most ${max} characters`);
  return v as string;
}
function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'expected a finite number');
  return v as number;
}

/**
 * Validates the structure of a filter (not yet whether attributes, tasks or slices exist: that
 * needs the project; see the SQL compiler). Returns a normalised copy.
 */
export function parseFilter(input: unknown, path = 'filter'): Filter {
  let nodes = 0;
  const walk = (v: unknown, p: string, depth: number): Filter => {
    if (++nodes > FILTER_LIMITS.maxNodes) fail(p, `a filter has at most ${FILTER_LIMITS.maxNodes} conditions`, { limit: FILTER_LIMITS.maxNodes });
    if (depth > FILTER_LIMITS.maxDepth) fail(p, `a filter nests at most ${FILTER_LIMITS.maxDepth} levels`, { limit: FILTER_LIMITS.maxDepth });
    if (!isObject(v)) return fail(p, 'expected an object', { allowed: KINDS });
    const kind = KINDS.find((k) => k in v);
    if (!kind) return fail(p, `expected one of ${KINDS.join(', ')}`, { allowed: KINDS, got: Object.keys(v) });
    switch (kind) {
      case 'all':
      case 'any': {
        onlyKeys(v, [kind], p);
        const list = v[kind];
        if (!Array.isArray(list)) return fail(`${p}.${kind}`, 'expected an array of filters');
        const items = list.map((f, i) => walk(f, `${p}.${kind}.${i}`, depth + 1));
        return kind === 'all' ? { all: items } : { any: items };
      }
      case 'not':
        onlyKeys(v, ['not'], p);
        return { not: walk(v.not, `${p}.not`, depth + 1) };
      case 'attribute': {
        onlyKeys(v, ['attribute', 'op', 'value', 'caseSensitive'], p);
        const attribute = str(v.attribute, `${p}.attribute`);
        const op = v.op as AttributeOp;
        if (!attributeOps.includes(op)) fail(`${p}.op`, `expected one of ${attributeOps.join(', ')}`, { allowed: attributeOps });
        if (v.caseSensitive !== undefined && typeof v.caseSensitive !== 'boolean') fail(`${p}.caseSensitive`, 'expected a boolean');
        const value = v.value;
        const vp = `${p}.value`;
        const scalar = (x: unknown, xp: string) => {
          if (!(typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x)) || typeof x === 'boolean')) fail(xp, 'expected a string, number or boolean');
        };
        if (op === 'is_null' || op === 'is_not_null') {
          if (value !== undefined && value !== null) fail(vp, `${op} takes no value`);
        } else if (op === 'between') {
          if (!Array.isArray(value) || value.length !== 2) fail(vp, 'between takes [low, high]');
          (value as unknown[]).forEach((x, i) => scalar(x, `${vp}.${i}`));
        } else if (op === 'in') {
          if (!Array.isArray(value) || value.length === 0 || value.length > FILTER_LIMITS.maxInValues) {
            fail(vp, `in takes a list of 1 to ${FILTER_LIMITS.maxInValues} values`, { limit: FILTER_LIMITS.maxInValues });
          }
          (value as unknown[]).forEach((x, i) => scalar(x, `${vp}.${i}`));
        } else if (op === 'contains' || op === 'regex') {
          if (typeof value !== 'string' || value.length === 0 || value.length > FILTER_LIMITS.maxPatternLength) {
            fail(vp, `${op} takes a non-empty string of at most ${FILTER_LIMITS.maxPatternLength} characters`);
          }
          if (op === 'regex') checkRegex(value as string, vp);
        } else scalar(value, vp);
        const out: Filter = { attribute, op, ...(value !== undefined && value !== null ? { value } : {}) };
        if (typeof v.caseSensitive === 'boolean') (out as { caseSensitive?: boolean }).caseSensitive = v.caseSensitive;
        return out;
      }
      case 'label': {
        onlyKeys(v, ['label'], p);
        const l = v.label;
        const lp = `${p}.label`;
        if (!isObject(l)) return fail(lp, 'expected { taskId, source, labelId?, annotator? }');
        onlyKeys(l, ['taskId', 'source', 'labelId', 'annotator'], lp);
        const taskId = str(l.taskId, `${lp}.taskId`, 64);
        const source = l.source as LabelSource;
        if (!labelSources.includes(source)) fail(`${lp}.source`, `expected one of ${labelSources.join(', ')}`, { allowed: labelSources });
        const out: { taskId: string; source: LabelSource; labelId?: string | null; annotator?: string } = { taskId, source };
        if (l.labelId === null) out.labelId = null;
        else if (l.labelId !== undefined) out.labelId = str(l.labelId, `${lp}.labelId`, 64);
        if (l.annotator !== undefined) out.annotator = str(l.annotator, `${lp}.annotator`);
        return { label: out };
      }
      case 'disagreement': {
        onlyKeys(v, ['disagreement'], p);
        const d = v.disagreement;
        if (!isObject(d)) return fail(`${p}.disagreement`, 'expected { taskId }');
        onlyKeys(d, ['taskId'], `${p}.disagreement`);
        return { disagreement: { taskId: str(d.taskId, `${p}.disagreement.taskId`, 64) } };
      }
      case 'confidence': {
        onlyKeys(v, ['confidence'], p);
        const c = v.confidence;
        const cp = `${p}.confidence`;
        if (!isObject(c)) return fail(cp, 'expected { taskId, min?, max? }');
        onlyKeys(c, ['taskId', 'min', 'max'], cp);
        const out: { taskId: string; min?: number; max?: number } = { taskId: str(c.taskId, `${cp}.taskId`, 64) };
        // a confidence is a probability: a bound outside [0, 1] would silently match everything or nothing
        const bound = (x: unknown, xp: string): number => {
          const b = num(x, xp);
          if (b < 0 || b > 1) fail(xp, 'a confidence bound is between 0 and 1', { min: 0, max: 1 });
          return b;
        };
        if (c.min !== undefined) out.min = bound(c.min, `${cp}.min`);
        if (c.max !== undefined) out.max = bound(c.max, `${cp}.max`);
        if (out.min !== undefined && out.max !== undefined && out.min > out.max) fail(cp, `min (${out.min}) is above max (${out.max})`);
        return { confidence: out };
      }
      case 'hasComments':
        onlyKeys(v, ['hasComments'], p);
        if (typeof v.hasComments !== 'boolean') fail(`${p}.hasComments`, 'expected a boolean');
        return { hasComments: v.hasComments as boolean };
      case 'recordIds': {
        onlyKeys(v, ['recordIds'], p);
        const ids = v.recordIds;
        if (!Array.isArray(ids)) return fail(`${p}.recordIds`, 'expected an array of record ids');
        if (ids.length > FILTER_LIMITS.maxRecordIds) {
          fail(`${p}.recordIds`, `at most ${FILTER_LIMITS.maxRecordIds} record ids (got ${ids.length})`, { limit: FILTER_LIMITS.maxRecordIds, count: ids.length });
        }
        return { recordIds: ids.map((x, i) => str(x, `${p}.recordIds.${i}`, 512)) };
      }
      default:
        onlyKeys(v, ['slice'], p);
        return { slice: str(v.slice, `${p}.slice`, 64) };
    }
  };
  return walk(input, path, 0);
}

/**
 * Checks a pattern with the JavaScript engine first (a quick, clear refusal of broken syntax).
 * PostgreSQL's regex dialect (ARE) differs, so the database compiles it again before use.
 */
export function checkRegex(pattern: string, path: string): void {
  try {
    new RegExp(pattern);
  } catch (err) {
    throw new FilterError('invalid_regex', `${path}: invalid regular expression: ${(err as Error).message}`, { path, pattern });
  }
}

/** Does the pattern use back-references (`\1`…`\9`)? They force PostgreSQL's backtracking matcher. */
export function usesBackReferences(pattern: string): boolean {
  return /(^|[^\\])(\\\\)*\\[1-9]/.test(pattern);
}

/** Every regex pattern of a filter, with its path. */
export function regexPatterns(filter: Filter, path = 'filter'): { pattern: string; path: string }[] {
  if ('all' in filter) return filter.all.flatMap((f, i) => regexPatterns(f, `${path}.all.${i}`));
  if ('any' in filter) return filter.any.flatMap((f, i) => regexPatterns(f, `${path}.any.${i}`));
  if ('not' in filter) return regexPatterns(filter.not, `${path}.not`);
  if ('attribute' in filter && filter.op === 'regex') return [{ pattern: String(filter.value), path: `${path}.value` }];
  return [];
}

export interface SliceDefinition {
  id: string;
  kind: 'dynamic' | 'static';
  filter: Filter | null;
  recordIds: string[] | null;
}

/** Replaces `{ slice }` by the slice's filter (dynamic) or record ids (static), recursively; refuses cycles. */
export function inlineSlices(filter: Filter, slices: ReadonlyMap<string, SliceDefinition>, path = 'filter', seen: readonly string[] = []): Filter {
  if ('all' in filter) return { all: filter.all.map((f, i) => inlineSlices(f, slices, `${path}.all.${i}`, seen)) };
  if ('any' in filter) return { any: filter.any.map((f, i) => inlineSlices(f, slices, `${path}.any.${i}`, seen)) };
  if ('not' in filter) return { not: inlineSlices(filter.not, slices, `${path}.not`, seen) };
  if (!('slice' in filter)) return filter;
  const slice = slices.get(filter.slice);
  if (!slice) throw new FilterError('unknown_slice', `${path}.slice: no slice "${filter.slice}" in this project`, { path: `${path}.slice`, sliceId: filter.slice, allowed: [...slices.keys()] });
  if (seen.includes(slice.id)) throw new FilterError('slice_cycle', `${path}.slice: slices refer to each other in a cycle`, { path: `${path}.slice`, cycle: [...seen, slice.id] });
  if (slice.kind === 'static') return { recordIds: slice.recordIds ?? [] };
  return inlineSlices(slice.filter ?? { all: [] }, slices, `${path}.slice(${slice.id})`, [...seen, slice.id]);
}
