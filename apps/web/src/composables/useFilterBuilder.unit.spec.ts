import { describe, expect, it } from 'vitest';
import type { Attribute } from '../api/types';
import { ANY_LABEL, buildFilter, conditionProblem, conditionToFilter, newCondition, useFilterBuilder } from './useFilterBuilder';

const attributes: Attribute[] = [
  { name: 'text', type: 'text' },
  { name: 'stars', type: 'integer' },
  { name: 'ok', type: 'boolean' },
];

describe('filter builder', () => {
  it('builds attribute conditions with typed values', () => {
    const c = { ...newCondition('attribute'), attribute: 'stars', op: 'gte' as const, value: '4' };
    expect(conditionToFilter(c, attributes)).toEqual({ attribute: 'stars', op: 'gte', value: 4 });
    expect(conditionToFilter({ ...c, op: 'between', value: '2', value2: '4' }, attributes)).toEqual({ attribute: 'stars', op: 'between', value: [2, 4] });
    expect(conditionToFilter({ ...c, op: 'in', value: '1, 2,,3' }, attributes)).toEqual({ attribute: 'stars', op: 'in', value: [1, 2, 3] });
    expect(conditionToFilter({ ...c, op: 'is_null' }, attributes)).toEqual({ attribute: 'stars', op: 'is_null' });
    expect(conditionToFilter({ ...c, attribute: 'ok', op: 'eq', value: 'true' }, attributes)).toEqual({ attribute: 'ok', op: 'eq', value: true });
    expect(conditionToFilter({ ...c, attribute: 'text', op: 'contains', value: '42' }, attributes)).toEqual({ attribute: 'text', op: 'contains', value: '42' });
  });

  it('builds label ("none" = null), disagreement, comments and negated conditions', () => {
    const label = { ...newCondition('label', { taskId: 't1' }), source: 'manual' as const, labelId: 'l1' };
    expect(conditionToFilter(label, attributes)).toEqual({ label: { taskId: 't1', source: 'manual', labelId: 'l1' } });
    expect(conditionToFilter({ ...label, labelId: '' }, attributes)).toEqual({ label: { taskId: 't1', source: 'manual', labelId: null } });
    expect(conditionToFilter(newCondition('disagreement', { taskId: 't1' }), attributes)).toEqual({ disagreement: { taskId: 't1' } });
    expect(conditionToFilter({ ...newCondition('hasComments'), negate: true }, attributes)).toEqual({ not: { hasComments: true } });
    expect(conditionToFilter(newCondition('label'), attributes)).toBeNull(); // no task chosen yet
  });

  it('builds "any label from a source" and weak-supervision confidence conditions; a bad bound is reported, not sent', () => {
    const label = { ...newCondition('label', { taskId: 't1' }), source: 'weak_supervision' as const, labelId: ANY_LABEL };
    expect(conditionToFilter(label, attributes)).toEqual({ label: { taskId: 't1', source: 'weak_supervision' } });
    const c = { ...newCondition('confidence', { taskId: 't1' }), confidenceMin: '0.8' };
    expect(conditionToFilter(c, attributes)).toEqual({ confidence: { taskId: 't1', min: 0.8 } });
    expect(conditionToFilter({ ...c, confidenceMin: '', confidenceMax: ' 0.5 ' }, attributes)).toEqual({ confidence: { taskId: 't1', max: 0.5 } });
    expect(conditionToFilter({ ...c, confidenceMin: '', confidenceMax: '' }, attributes)).toEqual({ confidence: { taskId: 't1' } });
    for (const bad of [{ confidenceMin: '80' }, { confidenceMin: 'abc' }, { confidenceMax: '-0.1' }, { confidenceMin: '0.9', confidenceMax: '0.1' }]) {
      expect(conditionProblem({ ...c, ...bad })).not.toBeNull();
      expect(conditionToFilter({ ...c, ...bad }, attributes)).toBeNull();
    }
    expect(conditionProblem(c)).toBeNull();
  });

  it('combines complete conditions with all / any and skips incomplete ones', () => {
    const a = { ...newCondition('attribute'), attribute: 'text', value: 'x' };
    const b = newCondition('hasComments');
    const incomplete = newCondition('attribute');
    expect(buildFilter([], 'all', attributes)).toBeUndefined();
    expect(buildFilter([a, incomplete], 'all', attributes)).toEqual({ attribute: 'text', op: 'contains', value: 'x' });
    expect(buildFilter([a, b], 'any', attributes)).toEqual({ any: [{ attribute: 'text', op: 'contains', value: 'x' }, { hasComments: true }] });
  });

  it('keeps rows in a composable', () => {
    const builder = useFilterBuilder(() => attributes);
    builder.add('hasComments');
    builder.add('attribute', { attribute: 'text' });
    builder.conditions.value[1]!.value = 'hi';
    expect(builder.filter.value).toEqual({ all: [{ hasComments: true }, { attribute: 'text', op: 'contains', value: 'hi' }] });
    builder.remove(builder.conditions.value[0]!.key);
    builder.combine.value = 'any';
    expect(builder.filter.value).toEqual({ attribute: 'text', op: 'contains', value: 'hi' });
  });
});
