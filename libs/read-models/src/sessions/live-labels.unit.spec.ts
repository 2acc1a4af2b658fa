import { describe, expect, it } from 'vitest';
import { foldLiveLabels, sameLiveLabels, type LiveLabelEvent } from './claims.ts';

const labeled = (taskId: string, annotator: string, labelIds: string[], spans: { labelId: string; start: number; end: number }[] = []): LiveLabelEvent => ({
  type: 'RecordLabeled',
  data: { taskId, annotator, labelIds, spans },
});

describe('foldLiveLabels', () => {
  it('replaces an annotator’s answer per task, clears it when empty, and keeps gold apart', () => {
    let v = foldLiveLabels(undefined, labeled('t1', 'u2', ['b', 'a']));
    v = foldLiveLabels(v, labeled('t1', 'u1', ['a']));
    v = foldLiveLabels(v, labeled('t0', 'u2', [], [{ labelId: 'x', start: 9, end: 12 }, { labelId: 'x', start: 0, end: 4 }]));
    v = foldLiveLabels(v, { type: 'GoldLabelSet', data: { taskId: 't1', labelIds: ['a'], spans: [] } });
    // the read model's order: tasks by id, gold first, annotators by id, labels before spans, spans by start
    expect(JSON.stringify(v)).toBe(
      JSON.stringify({ annotators: ['u2', 'u1'], tasks: { t0: { u2: ['x:0-4', 'x:9-12'] }, t1: { gold: ['a'], u1: ['a'], u2: ['a', 'b'] } } }),
    );
    v = foldLiveLabels(v, labeled('t1', 'u1', ['b']));
    expect(v.tasks['t1']!['u1']).toEqual(['b']);
    v = foldLiveLabels(v, labeled('t0', 'u2', []));
    v = foldLiveLabels(v, { type: 'GoldLabelCleared', data: { taskId: 't1' } });
    expect(v).toEqual({ annotators: ['u1', 'u2'], tasks: { t1: { u1: ['b'], u2: ['a', 'b'] } } });
    v = foldLiveLabels(v, labeled('t1', 'u1', []));
    v = foldLiveLabels(v, labeled('t1', 'u2', []));
    expect(v).toEqual({ annotators: [], tasks: {} });
  });

  it('does not change the value it folds from', () => {
    const before = foldLiveLabels(undefined, labeled('t1', 'u1', ['a']));
    const copy = JSON.parse(JSON.stringify(before));
    foldLiveLabels(before, labeled('t1', 'u1', ['b']));
    expect(before).toEqual(copy);
  });
});

describe('sameLiveLabels', () => {
  it('ignores the order of keys and lists, not their content', () => {
    expect(sameLiveLabels({ annotators: ['a', 'b'], tasks: { t: { b: ['2', '1'], a: ['1'] } }, count: 2 }, { count: 2, tasks: { t: { a: ['1'], b: ['1', '2'] } }, annotators: ['b', 'a'] })).toBe(true);
    expect(sameLiveLabels({ annotators: ['a'], tasks: { t: { a: ['1'] } }, count: 1 }, { annotators: ['a'], tasks: { t: { a: ['2'] } }, count: 1 })).toBe(false);
    expect(sameLiveLabels(undefined, { annotators: [], tasks: {}, count: 0 })).toBe(false);
  });
});
