import { computed, ref } from 'vue';
import type { Attribute, AttributeOp, Filter, LabelFilterSource } from '../api/types';
import { parseConfidence } from '../utils/format';

export type ConditionKind = 'attribute' | 'label' | 'disagreement' | 'confidence' | 'hasComments';

/** One row of the filter builder (all fields kept so switching kinds does not lose input). */
export interface Condition {
  key: number;
  kind: ConditionKind;
  attribute: string;
  op: AttributeOp;
  value: string;
  value2: string;
  taskId: string;
  source: LabelFilterSource;
  /** A label id, '' for "no label" (labelId: null), or ANY_LABEL for any label from the source. */
  labelId: string;
  /** Bounds of the weak-supervision confidence (0–1), '' = open. */
  confidenceMin: string;
  confidenceMax: string;
  hasComments: boolean;
  negate: boolean;
}

export const ATTRIBUTE_OPS: { op: AttributeOp; label: string; needsValue: 0 | 1 | 2 }[] = [
  { op: 'eq', label: 'equals', needsValue: 1 },
  { op: 'neq', label: 'does not equal', needsValue: 1 },
  { op: 'contains', label: 'contains', needsValue: 1 },
  { op: 'regex', label: 'matches regex', needsValue: 1 },
  { op: 'gt', label: '>', needsValue: 1 },
  { op: 'gte', label: '≥', needsValue: 1 },
  { op: 'lt', label: '<', needsValue: 1 },
  { op: 'lte', label: '≤', needsValue: 1 },
  { op: 'between', label: 'between', needsValue: 2 },
  { op: 'in', label: 'is one of (comma separated)', needsValue: 1 },
  { op: 'is_null', label: 'is empty', needsValue: 0 },
  { op: 'is_not_null', label: 'is not empty', needsValue: 0 },
];

export const LABEL_SOURCES: { source: LabelFilterSource; label: string }[] = [
  { source: 'any', label: 'any source' },
  { source: 'manual', label: 'manual' },
  { source: 'reference', label: 'reference' },
  { source: 'gold', label: 'gold' },
  { source: 'heuristic', label: 'heuristic' },
  { source: 'weak_supervision', label: 'weak supervision' },
  { source: 'crowd', label: 'crowd (links)' },
];

/** `labelId` of a label condition that matches any label from its source (the filter omits labelId). */
export const ANY_LABEL = '*';

/** What is wrong with a condition the user typed, shown next to it (it is left out of the filter). */
export function conditionProblem(condition: Condition): string | null {
  if (condition.kind !== 'confidence') return null;
  const min = parseConfidence(condition.confidenceMin);
  const max = parseConfidence(condition.confidenceMax);
  if (min === null || max === null) return 'Confidence bounds are numbers from 0 to 1.';
  if (min !== undefined && max !== undefined && min > max) return 'The lower bound is above the upper bound.';
  return null;
}

/** Converts a typed value to the attribute's JSON type (numbers, booleans), leaving text as is. */
export function typedValue(raw: string, attribute: Attribute | undefined): string | number | boolean {
  const type = attribute?.type;
  if ((type === 'integer' || type === 'float') && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

/** One condition as an API filter, or null while it is incomplete. */
export function conditionToFilter(condition: Condition, attributes: Attribute[]): Filter | null {
  let filter: Filter | null = null;
  if (condition.kind === 'attribute') {
    if (!condition.attribute) return null;
    const attribute = attributes.find((a) => a.name === condition.attribute);
    const spec = ATTRIBUTE_OPS.find((o) => o.op === condition.op);
    if (!spec) return null;
    if (spec.needsValue === 0) filter = { attribute: condition.attribute, op: condition.op };
    else if (condition.op === 'between') filter = { attribute: condition.attribute, op: 'between', value: [typedValue(condition.value, attribute), typedValue(condition.value2, attribute)] };
    else if (condition.op === 'in')
      filter = {
        attribute: condition.attribute,
        op: 'in',
        value: condition.value
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean)
          .map((v) => typedValue(v, attribute)),
      };
    else filter = { attribute: condition.attribute, op: condition.op, value: typedValue(condition.value, attribute) };
  } else if (condition.kind === 'label') {
    if (!condition.taskId) return null;
    const { taskId, source } = condition;
    if (condition.labelId === ANY_LABEL) filter = { label: { taskId, source } };
    else filter = { label: { taskId, source, labelId: condition.labelId === '' ? null : condition.labelId } };
  } else if (condition.kind === 'disagreement') {
    if (!condition.taskId) return null;
    filter = { disagreement: { taskId: condition.taskId } };
  } else if (condition.kind === 'confidence') {
    if (!condition.taskId || conditionProblem(condition) !== null) return null;
    const min = parseConfidence(condition.confidenceMin) ?? undefined;
    const max = parseConfidence(condition.confidenceMax) ?? undefined;
    filter = { confidence: { taskId: condition.taskId, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) } };
  } else {
    filter = { hasComments: condition.hasComments };
  }
  return condition.negate ? { not: filter } : filter;
}

/** All complete conditions combined with all/any; undefined when there is nothing to filter by. */
export function buildFilter(conditions: Condition[], combine: 'all' | 'any', attributes: Attribute[]): Filter | undefined {
  const parts = conditions.map((c) => conditionToFilter(c, attributes)).filter((f): f is Filter => f !== null);
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return combine === 'all' ? { all: parts } : { any: parts };
}

let nextKey = 1;

export function newCondition(kind: ConditionKind, defaults: { attribute?: string; taskId?: string } = {}): Condition {
  return {
    key: nextKey++,
    kind,
    attribute: defaults.attribute ?? '',
    op: 'contains',
    value: '',
    value2: '',
    taskId: defaults.taskId ?? '',
    source: 'any',
    labelId: '',
    confidenceMin: '',
    confidenceMax: '',
    hasComments: true,
    negate: false,
  };
}

/** The data browser's condition rows and their combined filter. */
export function useFilterBuilder(attributes: () => Attribute[]) {
  const conditions = ref<Condition[]>([]);
  const combine = ref<'all' | 'any'>('all');
  const filter = computed(() => buildFilter(conditions.value, combine.value, attributes()));

  function add(kind: ConditionKind, defaults: { attribute?: string; taskId?: string } = {}): void {
    conditions.value = [...conditions.value, newCondition(kind, defaults)];
  }

  function remove(key: number): void {
    conditions.value = conditions.value.filter((c) => c.key !== key);
  }

  function clear(): void {
    conditions.value = [];
  }

  return { conditions, combine, filter, add, remove, clear };
}
