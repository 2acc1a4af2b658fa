import { describe, expect, it } from 'vitest';
import type { LabelingConfigEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';
import { emptyLabelingConfig, evolveLabelingConfig, type LabelingConfig } from './config.ts';
import { decideLabelingConfig, type AttributeInfo } from './config-decider.ts';
import { decideRecordLabels, emptyRecordLabels, evolveRecordLabels } from './record-decider.ts';
import { referenceLabel } from './reference.ts';
import { tokenize, tokenRange } from './tokenize.ts';

const projectId = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5a1';
const attributes: AttributeInfo[] = [
  { name: 'text', type: 'text' },
  { name: 'lang', type: 'category' },
  { name: 'n', type: 'integer' },
];
const fold = (events: LabelingConfigEvent[]): LabelingConfig => events.reduce(evolveLabelingConfig, emptyLabelingConfig());
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return e.code;
    throw e;
  }
  return 'no error';
};

const config = fold([
  { type: 'LabelingTaskAdded', data: { projectId, taskId: 'sent', name: 'Sentiment', kind: 'single_label', attribute: null, allowOverlap: false } },
  { type: 'LabelAdded', data: { projectId, taskId: 'sent', labelId: 'pos', name: 'positive', color: '#16a34a', hotkey: 'p', description: '' } },
  { type: 'LabelAdded', data: { projectId, taskId: 'sent', labelId: 'neg', name: 'negative', color: '#dc2626', hotkey: 'n', description: '' } },
  { type: 'LabelingTaskAdded', data: { projectId, taskId: 'topics', name: 'Topics', kind: 'multi_label', attribute: null, allowOverlap: false } },
  { type: 'LabelAdded', data: { projectId, taskId: 'topics', labelId: 'price', name: 'price', color: '#2563eb', hotkey: null, description: '' } },
  { type: 'LabelAdded', data: { projectId, taskId: 'topics', labelId: 'ship', name: 'shipping', color: '#d97706', hotkey: null, description: '' } },
  { type: 'LabelingTaskAdded', data: { projectId, taskId: 'ner', name: 'Entities', kind: 'span', attribute: 'text', allowOverlap: false } },
  { type: 'LabelAdded', data: { projectId, taskId: 'ner', labelId: 'org', name: 'ORG', color: '#7c3aed', hotkey: 'o', description: '' } },
]);

describe('labeling configuration', () => {
  it('adds tasks and labels with defaults and refuses duplicates', () => {
    const [added] = decideLabelingConfig({ type: 'AddLabel', projectId, taskId: 'sent', labelId: 'neu', name: 'neutral' }, config);
    expect(added).toMatchObject({ type: 'LabelAdded', data: { name: 'neutral', hotkey: null, description: '' } });
    expect((added!.data as { color: string }).color).toMatch(/^#[0-9a-f]{6}$/);
    expect(code(() => decideLabelingConfig({ type: 'AddLabel', projectId, taskId: 'sent', labelId: 'x', name: 'Positive' }, config))).toBe('label_name_taken');
    expect(code(() => decideLabelingConfig({ type: 'AddLabel', projectId, taskId: 'sent', labelId: 'x', name: 'mixed', hotkey: 'p' }, config))).toBe('hotkey_taken');
    expect(code(() => decideLabelingConfig({ type: 'AddLabel', projectId, taskId: 'nope', labelId: 'x', name: 'y' }, config))).toBe('task_not_found');
  });

  it('a span task needs a text attribute', () => {
    const add = (attribute: string | null) =>
      decideLabelingConfig({ type: 'AddLabelingTask', projectId, taskId: 't2', name: 'Spans 2', kind: 'span', attribute, allowOverlap: false, attributes }, config);
    expect(code(() => add(null))).toBe('attribute_required');
    expect(code(() => add('n'))).toBe('invalid_attribute');
    expect(code(() => add('missing'))).toBe('invalid_attribute');
    expect(add('text')[0]!.type).toBe('LabelingTaskAdded');
    expect(code(() => decideLabelingConfig({ type: 'AddLabelingTask', projectId, taskId: 't3', name: 'sentiment', kind: 'single_label', attribute: null, allowOverlap: false, attributes }, config))).toBe(
      'task_name_taken',
    );
  });

  it('merges labels: sources disappear from the configuration', () => {
    const events = decideLabelingConfig({ type: 'MergeLabels', projectId, taskId: 'topics', sourceLabelIds: ['ship'], targetLabelId: 'price' }, config);
    const after = fold([...[...config.tasks.values()].flatMap(() => []), ...events]);
    expect(events).toEqual([{ type: 'LabelsMerged', data: { projectId, taskId: 'topics', sourceLabelIds: ['ship'], targetLabelId: 'price' } }]);
    expect(after.tasks.size).toBe(0);
    const merged = events.reduce(evolveLabelingConfig, config);
    expect([...merged.tasks.get('topics')!.labels.keys()]).toEqual(['price']);
    expect(code(() => decideLabelingConfig({ type: 'MergeLabels', projectId, taskId: 'topics', sourceLabelIds: ['price'], targetLabelId: 'price' }, config))).toBe('invalid_merge');
  });

  it('changing a label to the same values records nothing', () => {
    expect(decideLabelingConfig({ type: 'ChangeLabel', projectId, taskId: 'sent', labelId: 'pos', name: 'positive' }, config)).toEqual([]);
    expect(decideLabelingConfig({ type: 'ChangeLabel', projectId, taskId: 'sent', labelId: 'pos', hotkey: null }, config)[0]!.type).toBe('LabelChanged');
  });
});

describe('labels on a record', () => {
  const base = { projectId, recordId: 'r1' };
  const text = 'Acme Corp ships to Berlin.';

  it('classification: one label for single-label, several for multi-label, known labels only', () => {
    const [e] = decideRecordLabels({ ...base, type: 'LabelRecord', taskId: 'sent', annotator: 'ann', labelIds: ['pos'] }, emptyRecordLabels(), config);
    expect(e).toEqual({ type: 'RecordLabeled', data: { ...base, taskId: 'sent', annotator: 'ann', labelIds: ['pos'], spans: [] } });
    expect(code(() => decideRecordLabels({ ...base, type: 'LabelRecord', taskId: 'sent', annotator: 'a', labelIds: ['pos', 'neg'] }, emptyRecordLabels(), config))).toBe('single_label_only');
    expect(code(() => decideRecordLabels({ ...base, type: 'LabelRecord', taskId: 'sent', annotator: 'a', labelIds: ['meh'] }, emptyRecordLabels(), config))).toBe('unknown_label');
    const multi = decideRecordLabels({ ...base, type: 'LabelRecord', taskId: 'topics', annotator: 'a', labelIds: ['ship', 'price', 'ship'] }, emptyRecordLabels(), config);
    expect((multi[0]!.data as { labelIds: string[] }).labelIds).toEqual(['price', 'ship']);
  });

  it('the same answer again records nothing; a new answer replaces the old one', () => {
    const state = evolveRecordLabels(emptyRecordLabels(), { type: 'RecordLabeled', data: { ...base, taskId: 'sent', annotator: 'a', labelIds: ['pos'], spans: [] } });
    expect(decideRecordLabels({ ...base, type: 'LabelRecord', taskId: 'sent', annotator: 'a', labelIds: ['pos'] }, state, config)).toEqual([]);
    expect(decideRecordLabels({ ...base, type: 'LabelRecord', taskId: 'sent', annotator: 'b', labelIds: ['pos'] }, state, config)).toHaveLength(1);
    expect(decideRecordLabels({ ...base, type: 'LabelRecord', taskId: 'sent', annotator: 'a', labelIds: [] }, state, config)).toHaveLength(1);
  });

  it('spans get token ranges and are checked against the text and overlaps', () => {
    const [e] = decideRecordLabels({ ...base, type: 'LabelRecord', taskId: 'ner', annotator: 'a', spans: [{ labelId: 'org', start: 0, end: 9 }], text }, emptyRecordLabels(), config);
    expect((e!.data as { spans: unknown[] }).spans).toEqual([{ labelId: 'org', start: 0, end: 9, tokenStart: 0, tokenEnd: 2 }]);
    const span = (start: number, end: number) => ({ labelId: 'org', start, end });
    const run = (spans: { labelId: string; start: number; end: number }[]) => () =>
      decideRecordLabels({ ...base, type: 'LabelRecord', taskId: 'ner', annotator: 'a', spans, text }, emptyRecordLabels(), config);
    expect(code(run([span(20, 99)]))).toBe('span_out_of_range');
    expect(code(run([span(5, 5)]))).toBe('span_out_of_range');
    expect(code(run([span(0, 9), span(5, 15)]))).toBe('span_overlap');
    expect(code(run([span(4, 5)]))).toBe('span_without_tokens');
    expect(code(() => decideRecordLabels({ ...base, type: 'LabelRecord', taskId: 'ner', annotator: 'a', labelIds: ['org'], text }, emptyRecordLabels(), config))).toBe('labels_not_allowed');
  });

  it('gold decisions and comments', () => {
    expect(code(() => decideRecordLabels({ ...base, type: 'SetGoldLabel', taskId: 'sent', labelIds: [] }, emptyRecordLabels(), config))).toBe('empty_gold');
    expect(decideRecordLabels({ ...base, type: 'ClearGoldLabel', taskId: 'sent' }, emptyRecordLabels(), config)).toEqual([]);
    const commented = evolveRecordLabels(emptyRecordLabels(), {
      type: 'RecordCommented',
      data: { ...base, commentId: '2c1d3a0e-7f2d-4a55-9c55-4a8ad0b1f5a1', body: 'hm' },
      meta: { actor: 'alice' },
    });
    const del = (actor: string, mayDeleteOthers: boolean) => () =>
      decideRecordLabels({ ...base, type: 'DeleteRecordComment', commentId: '2c1d3a0e-7f2d-4a55-9c55-4a8ad0b1f5a1', actor, mayDeleteOthers }, commented, config);
    expect(code(del('bob', false))).toBe('not_comment_author');
    expect(del('bob', true)()).toHaveLength(1);
    expect(del('alice', false)()).toHaveLength(1);
  });
});

describe('reference label', () => {
  const a = (labelIds: string[]) => ({ labelIds, spans: [] });
  it('gold wins, then a single or unanimous answer; disagreement leaves none', () => {
    expect(referenceLabel([])).toMatchObject({ basis: null, disagreement: false });
    expect(referenceLabel([a(['pos'])])).toMatchObject({ basis: 'single', labelIds: ['pos'] });
    expect(referenceLabel([a(['pos']), a(['pos'])])).toMatchObject({ basis: 'unanimous', annotators: 2 });
    expect(referenceLabel([a(['pos']), a(['neg'])])).toMatchObject({ basis: null, disagreement: true });
    expect(referenceLabel([a(['pos']), a(['neg'])], a(['neg']))).toMatchObject({ basis: 'gold', labelIds: ['neg'], disagreement: true });
    expect(referenceLabel([a(['pos']), a([])])).toMatchObject({ basis: 'single' });
  });
});

describe('tokenize', () => {
  it('splits words and punctuation, keeps offsets, and maps character ranges to tokens', () => {
    const text = 'Hello, wörld! 東京に行く';
    const tokens = tokenize(text);
    expect(tokens.map((t) => text.slice(t.start, t.end))).toEqual(['Hello', ',', 'wörld', '!', '東京', 'に', '行く']);
    expect(tokenRange(tokens, 7, 12)).toEqual({ tokenStart: 2, tokenEnd: 3 });
    expect(tokenRange(tokens, 0, text.length)).toEqual({ tokenStart: 0, tokenEnd: 7 });
    expect(tokenRange(tokens, 5, 7)).toEqual({ tokenStart: 1, tokenEnd: 2 });
    expect(tokenRange(tokens, 6, 7)).toBeUndefined();
  });
});
