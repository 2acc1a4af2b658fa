import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../api/client';
import { ApiError } from '../api/errors';
import type { LabelingTask, RecordItem, RecordLabels } from '../api/types';
import { useConsistencyStore } from './consistency';
import { answerBody, toggledLabelIds, useLabelingStore } from './labeling';

vi.mock('../api/client');

const ME = 'user-1';
const sentiment: LabelingTask = {
  id: 'sent',
  name: 'Sentiment',
  kind: 'single_label',
  attribute: null,
  allowOverlap: false,
  labels: [
    { id: 'pos', name: 'positive', color: '#2563eb', hotkey: 'p', description: '' },
    { id: 'neg', name: 'negative', color: '#dc2626', hotkey: 'n', description: '' },
  ],
};
const entities: LabelingTask = { id: 'ner', name: 'Entities', kind: 'span', attribute: 'text', allowOverlap: false, labels: [] };

function records(n: number): RecordItem[] {
  return Array.from({ length: n }, (_, i) => ({ id: `r${i + 1}`, seq: i + 1, values: { text: `row ${i + 1}` } }));
}

function labels(revision: string | null, mine: string[] = [], extra: Partial<RecordLabels> = {}): RecordLabels {
  return {
    revision,
    answers: mine.length ? [{ taskId: 'sent', source: 'manual', annotator: ME, labelIds: mine, spans: [], labeledAt: '' }] : [],
    reference: [],
    comments: [],
    ...extra,
  };
}

/** A tiny stand-in for the server: PUTs change what the labels route answers. */
function fakeServer() {
  const state = new Map<string, RecordLabels>();
  let revision = -1;
  vi.mocked(api.getRecordLabels).mockImplementation(async (_p, recordId) => state.get(recordId) ?? labels(null));
  vi.mocked(api.putAnswer).mockImplementation(async (_p, recordId, taskId, body) => {
    revision++;
    const before = state.get(recordId) ?? labels(null);
    const others = before.answers.filter((a) => a.taskId !== taskId);
    const spans = (body.spans ?? []).map((sp) => ({ ...sp, tokenStart: 0, tokenEnd: 1 }));
    state.set(recordId, {
      ...before,
      revision: String(revision),
      answers: [...others, { taskId, source: 'manual', annotator: ME, labelIds: body.labelIds ?? [], spans, labeledAt: '' }],
    });
    return { revision: String(revision), position: `${10 + revision}/1` };
  });
}

async function openStore(n = 3) {
  vi.mocked(api.whoAmI).mockResolvedValue(ME);
  vi.mocked(api.listRecords).mockResolvedValue({ records: records(n), total: n, nextCursor: null });
  vi.mocked(api.getRecordLabels).mockResolvedValue(labels(null));
  vi.mocked(api.getTokens).mockResolvedValue({ attribute: 'text', text: 'row', tokens: [] });
  const store = useLabelingStore();
  await store.open('p1');
  return store;
}

describe('labeling helpers', () => {
  it('single-label selects or clears, multi-label toggles', () => {
    expect(toggledLabelIds({ kind: 'single_label' }, ['a'], 'b')).toEqual(['b']);
    expect(toggledLabelIds({ kind: 'single_label' }, ['a'], 'a')).toEqual([]);
    expect(toggledLabelIds({ kind: 'multi_label' }, ['a'], 'b')).toEqual(['a', 'b']);
    expect(toggledLabelIds({ kind: 'multi_label' }, ['a', 'b'], 'a')).toEqual(['b']);
  });

  it('sends label ids for classification and bare spans for span tasks', () => {
    expect(answerBody({ kind: 'multi_label' }, { labelIds: ['a'], spans: [] })).toEqual({ labelIds: ['a'] });
    expect(answerBody({ kind: 'span' }, { spans: [{ labelId: 'x', start: 0, end: 3, tokenStart: 0, tokenEnd: 1 } as never] })).toEqual({
      spans: [{ labelId: 'x', start: 0, end: 3 }],
    });
  });
});

describe('labeling store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.resetAllMocks();
  });

  it('opens the records in import order and knows who the annotator is', async () => {
    const store = await openStore();
    expect(store.me).toBe(ME);
    expect(store.record?.id).toBe('r1');
    expect([store.position, store.total, store.hasPrevious, store.hasNext]).toEqual([1, 3, false, true]);
    expect(api.getRecordLabels).toHaveBeenCalledWith('p1', 'r1', { after: null });
  });

  it('loads the tokens of the span tasks’ attributes', async () => {
    vi.mocked(api.whoAmI).mockResolvedValue(ME);
    vi.mocked(api.listRecords).mockResolvedValue({ records: records(1), total: 1, nextCursor: null });
    vi.mocked(api.getRecordLabels).mockResolvedValue(labels(null));
    vi.mocked(api.getTokens).mockResolvedValue({ attribute: 'text', text: 'row 1', tokens: [{ index: 0, start: 0, end: 3, text: 'row' }] });
    const store = useLabelingStore();
    store.tokenAttributes = ['text'];
    await store.open('p1');
    expect(api.getTokens).toHaveBeenCalledWith('p1', 'r1', 'text');
    expect(store.tokens['text']?.tokens).toHaveLength(1);
  });

  it('pages record ids in with the cursor as the annotator moves on', async () => {
    vi.mocked(api.whoAmI).mockResolvedValue(null);
    vi.mocked(api.listRecords)
      .mockResolvedValueOnce({ records: records(100), total: 150, nextCursor: 'c2' })
      .mockResolvedValueOnce({ records: records(150).slice(100), total: 150, nextCursor: null });
    vi.mocked(api.getRecordLabels).mockResolvedValue(labels(null));
    const store = useLabelingStore();
    await store.open('p1');
    expect(store.me).toBe('anonymous');
    await store.go(120);
    expect(api.listRecords).toHaveBeenLastCalledWith('p1', { limit: 100, cursor: 'c2', after: null });
    expect(store.record?.id).toBe('r121');
    expect(store.position).toBe(121);
  });

  it('puts the whole answer with the expected revision, shows it at once and can undo it', async () => {
    const store = await openStore();
    fakeServer();

    expect(await store.toggleLabel(sentiment, 'pos')).toBe(true);
    expect(api.putAnswer).toHaveBeenLastCalledWith('p1', 'r1', 'sent', { labelIds: ['pos'] }, null);
    expect(store.myAnswer('sent').labelIds).toEqual(['pos']);
    expect(useConsistencyStore().after).toBe('10/1');

    await store.toggleLabel(sentiment, 'neg');
    expect(api.putAnswer).toHaveBeenLastCalledWith('p1', 'r1', 'sent', { labelIds: ['neg'] }, '0');
    expect(store.undoStack).toHaveLength(2);

    expect(await store.undo([sentiment])).toBe(true);
    expect(api.putAnswer).toHaveBeenLastCalledWith('p1', 'r1', 'sent', { labelIds: ['pos'] }, '1');
    expect(store.myAnswer('sent').labelIds).toEqual(['pos']);
    expect(store.undoStack).toHaveLength(1);
  });

  it('does not let a labels read that started before a later write overwrite it', async () => {
    const store = await openStore();
    let answerFirstRead!: (value: RecordLabels) => void;
    vi.mocked(api.getRecordLabels)
      .mockResolvedValue(labels('1', ['neg']))
      .mockImplementationOnce(() => new Promise((resolve) => (answerFirstRead = resolve)));
    vi.mocked(api.putAnswer).mockResolvedValueOnce({ revision: '0', position: '10/1' }).mockResolvedValueOnce({ revision: '1', position: '11/1' });
    await store.toggleLabel(sentiment, 'pos'); // starts a background read
    await store.toggleLabel(sentiment, 'neg');
    answerFirstRead(labels('0', ['pos']));
    await Promise.resolve();
    expect(store.myAnswer('sent').labelIds).toEqual(['neg']);
    expect(store.labels?.revision).toBe('1');
  });

  it('goes back to the record of the change before undoing it', async () => {
    const store = await openStore();
    vi.mocked(api.putAnswer).mockResolvedValue({ revision: '0', position: '10/1' });
    await store.toggleLabel(sentiment, 'pos');
    await store.next();
    expect(store.record?.id).toBe('r2');

    vi.mocked(api.getRecordLabels).mockResolvedValue(labels('0', ['pos']));
    await store.undo([sentiment]);
    expect(store.record?.id).toBe('r1');
    expect(api.putAnswer).toHaveBeenLastCalledWith('p1', 'r1', 'sent', { labelIds: [] }, '0');
  });

  it('reloads the labels and reports a conflict on 409 stale_revision', async () => {
    const store = await openStore();
    vi.mocked(api.putAnswer).mockRejectedValue(new ApiError({ code: 'stale_revision', message: 'stale', status: 409, details: { currentRevision: '3' } }));
    vi.mocked(api.getRecordLabels).mockResolvedValue(labels('3', ['neg']));

    expect(await store.toggleLabel(sentiment, 'pos')).toBe(false);
    expect(store.conflict).toMatch(/changed the labels/);
    expect(store.labels?.revision).toBe('3');
    expect(store.myAnswer('sent').labelIds).toEqual(['neg']);
    expect(store.undoStack).toHaveLength(0);
  });

  it('keeps other errors (e.g. overlapping spans, 403 on gold) per task', async () => {
    const store = await openStore();
    vi.mocked(api.putAnswer).mockRejectedValue(new ApiError({ code: 'span_overlap', message: 'overlap', status: 422 }));
    await store.addSpan(entities, { labelId: 'x', start: 0, end: 3 });
    expect(store.taskError).toMatchObject({ taskId: 'ner', error: { code: 'span_overlap' } });

    vi.mocked(api.putGold).mockRejectedValue(new ApiError({ code: 'forbidden', message: 'experts only', status: 403 }));
    expect(await store.setGold(sentiment, { labelIds: ['pos'] })).toBe(false);
    expect(store.taskError).toMatchObject({ taskId: 'sent', error: { status: 403 } });
  });

  it('adds and removes spans as the whole span list', async () => {
    const store = await openStore();
    fakeServer();
    await store.addSpan(entities, { labelId: 'per', start: 0, end: 3 });
    await store.addSpan(entities, { labelId: 'loc', start: 4, end: 5 });
    expect(api.putAnswer).toHaveBeenLastCalledWith('p1', 'r1', 'ner', { spans: [{ labelId: 'per', start: 0, end: 3 }, { labelId: 'loc', start: 4, end: 5 }] }, '0');
    await store.removeSpan(entities, { labelId: 'per', start: 0, end: 3 });
    expect(api.putAnswer).toHaveBeenLastCalledWith('p1', 'r1', 'ner', { spans: [{ labelId: 'loc', start: 4, end: 5 }] }, '1');
  });

  it('follows a session: a signed-in caller is the annotator (team sessions have other members), ids come from the session', async () => {
    vi.mocked(api.whoAmI).mockResolvedValue(ME);
    vi.mocked(api.getSession).mockResolvedValue({ id: 's1', name: 'Team', owner: 'owner-7', total: 2, labeled: 0 });
    vi.mocked(api.listSessionRecords).mockResolvedValue({ recordIds: ['r9', 'r4'], nextCursor: null, prevCursor: null });
    vi.mocked(api.getRecord).mockImplementation(async (_p, id) => ({ id, seq: 1, values: {} }));
    vi.mocked(api.getRecordLabels).mockResolvedValue(labels(null));
    const team = useLabelingStore();
    await team.open('p1', { sessionId: 's1' });
    expect(team.me).toBe(ME);
  });

  it('follows a session without a signed-in user: its owner is the annotator, ids come from the session', async () => {
    vi.mocked(api.whoAmI).mockResolvedValue(null);
    vi.mocked(api.getSession).mockResolvedValue({ id: 's1', name: 'Batch', owner: 'owner-7', total: 2, labeled: 0 });
    vi.mocked(api.listSessionRecords).mockResolvedValue({ recordIds: ['r9', 'r4'], nextCursor: null, prevCursor: null });
    vi.mocked(api.getRecord).mockImplementation(async (_p, id) => ({ id, seq: 1, values: {} }));
    vi.mocked(api.getRecordLabels).mockResolvedValue(labels(null));
    const store = useLabelingStore();
    await store.open('p1', { sessionId: 's1' });
    expect(store.me).toBe('owner-7');
    expect(store.record?.id).toBe('r9');
    await store.next();
    expect(store.record?.id).toBe('r4');
    expect(store.hasNext).toBe(false);
  });

  it('adds comments and reloads the labels after the write', async () => {
    const store = await openStore();
    vi.mocked(api.addComment).mockResolvedValue({ id: 'c1', revision: '0', position: '20/1' });
    vi.mocked(api.getRecordLabels).mockResolvedValue(labels('0', [], { comments: [{ id: 'c1', author: ME, body: 'hi', createdAt: '' }] }));
    await store.addComment('hi');
    expect(api.getRecordLabels).toHaveBeenLastCalledWith('p1', 'r1', { after: '20/1' });
    expect(store.labels?.comments).toHaveLength(1);
  });
});
