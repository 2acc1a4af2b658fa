import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../api/client';
import type { Heuristic, HeuristicRun } from '../api/types';
import { heuristicTemplate, RUN_POLL_INTERVAL_MS, SAMPLE_SIZE, useHeuristicsStore } from './heuristics';

vi.mock('../api/client');

const heuristic: Heuristic = {
  id: 'h1',
  taskId: 't1',
  name: 'mentions check out',
  description: '',
  type: 'labeling_function',
  language: 'javascript',
  code: 'function lf(r) {}',
  codeHash: 'abc',
  lookupListId: null,
  labelId: null,
  attribute: null,
  createdAt: '2026-11-27T00:00:00Z',
  createdBy: 'u1',
  updatedAt: '2026-11-27T00:00:00Z',
  currentRunId: null,
  latestRun: null,
  stats: null,
};

const run = (over: Partial<HeuristicRun>): HeuristicRun => ({
  runId: 'r1',
  heuristicId: 'h1',
  codeHash: 'abc',
  sample: null,
  status: 'running',
  done: 0,
  total: 10,
  requestedAt: '2026-11-27T00:00:00Z',
  requestedBy: 'u1',
  finishedAt: null,
  durationMs: null,
  counts: null,
  votesArtifact: null,
  error: null,
  ...over,
});

describe('heuristics store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.resetAllMocks();
    vi.useFakeTimers();
    vi.mocked(api.listLookupLists).mockResolvedValue([]);
  });
  afterEach(() => {
    useHeuristicsStore().stopPolling();
    vi.useRealTimers();
  });

  it('creates a heuristic, runs it and polls every 500 ms until it completes', async () => {
    vi.mocked(api.listHeuristics).mockResolvedValue([]);
    const store = useHeuristicsStore();
    await store.open('p1');

    vi.mocked(api.createHeuristic).mockResolvedValue({ id: 'h1', revision: '0', position: '3/1' });
    vi.mocked(api.listHeuristics).mockResolvedValue([heuristic]);
    const id = await store.create({ name: ' spam ', taskId: 't1', type: 'labeling_function', language: 'javascript', code: 'function lf(r) {}' });
    expect(id).toBe('h1');
    expect(api.createHeuristic).toHaveBeenCalledWith('p1', expect.objectContaining({ name: 'spam', type: 'labeling_function' }));
    expect(api.listHeuristics).toHaveBeenLastCalledWith('p1', { after: '3/1' });
    expect(store.heuristics).toHaveLength(1);

    vi.mocked(api.runHeuristic).mockResolvedValue({ runId: 'r1', revision: '1', position: '4/1' });
    vi.mocked(api.getHeuristicRun)
      .mockResolvedValueOnce(run({ status: 'running', done: 4 }))
      .mockResolvedValueOnce(run({ status: 'completed', done: 10, counts: { records: 10, votes: 3, byLabel: { l1: 3 } } }));
    expect(await store.run('h1', { sample: SAMPLE_SIZE })).toBe('r1');
    expect(api.runHeuristic).toHaveBeenCalledWith('p1', 'h1', { sample: 100 });
    expect(store.runs['h1']?.status).toBe('requested');

    await vi.advanceTimersByTimeAsync(RUN_POLL_INTERVAL_MS);
    expect(api.getHeuristicRun).toHaveBeenCalledTimes(1);
    expect(store.runs['h1']).toMatchObject({ status: 'running', done: 4, total: 10 });

    const completed = { ...heuristic, currentRunId: 'r1', latestRun: run({ status: 'completed' }) };
    vi.mocked(api.listHeuristics).mockResolvedValue([completed]);
    await vi.advanceTimersByTimeAsync(RUN_POLL_INTERVAL_MS);
    expect(api.getHeuristicRun).toHaveBeenCalledTimes(2);
    expect(api.getHeuristicRun).toHaveBeenLastCalledWith('p1', 'h1', 'r1', { after: '4/1' });
    expect(store.runs['h1']).toMatchObject({ status: 'completed', counts: { votes: 3 } });
    expect(store.heuristics[0]?.latestRun?.status).toBe('completed');

    // finished: no more polling
    await vi.advanceTimersByTimeAsync(RUN_POLL_INTERVAL_MS * 4);
    expect(api.getHeuristicRun).toHaveBeenCalledTimes(2);
  });

  it('exposes the error of a failed run with its line and record id', async () => {
    vi.mocked(api.listHeuristics).mockResolvedValue([heuristic]);
    const store = useHeuristicsStore();
    await store.open('p1');

    vi.mocked(api.runHeuristic).mockResolvedValue({ runId: 'r2', revision: '1', position: '5/1' });
    vi.mocked(api.getHeuristicRun).mockResolvedValue(
      run({ runId: 'r2', status: 'failed', done: 2, error: { kind: 'runtime', message: 'TypeError: x is undefined', recordId: 'rec-7', line: 3 } }),
    );
    await store.run('h1');
    expect(api.runHeuristic).toHaveBeenCalledWith('p1', 'h1', {});
    await vi.advanceTimersByTimeAsync(RUN_POLL_INTERVAL_MS);
    expect(store.runs['h1']?.status).toBe('failed');
    expect(store.runs['h1']?.error).toEqual({ kind: 'runtime', message: 'TypeError: x is undefined', recordId: 'rec-7', line: 3 });
    await vi.advanceTimersByTimeAsync(RUN_POLL_INTERVAL_MS * 3);
    expect(api.getHeuristicRun).toHaveBeenCalledTimes(1);
  });

  it('cancels the watched run and normalizes lookup lists', async () => {
    vi.mocked(api.listHeuristics).mockResolvedValue([heuristic]);
    const store = useHeuristicsStore();
    await store.open('p1');
    vi.mocked(api.runHeuristic).mockResolvedValue({ runId: 'r3', revision: '1', position: '5/1' });
    vi.mocked(api.cancelHeuristicRun).mockResolvedValue({ revision: '2', position: '6/1' });
    await store.run('h1');
    await store.cancel('h1');
    expect(api.cancelHeuristicRun).toHaveBeenCalledWith('p1', 'h1', 'r3');

    vi.mocked(api.createLookupList).mockResolvedValue({ id: 'L1', revision: '0', position: '7/1' });
    await store.createLookupList({ name: ' brands ', terms: [' Acme ', '', 'Globex'], caseInsensitive: false, wholeWord: true });
    expect(api.createLookupList).toHaveBeenCalledWith('p1', { name: 'brands', terms: ['Acme', 'Globex'], caseInsensitive: false, wholeWord: true });
  });
});

describe('heuristic templates', () => {
  it('defines lf for every language and task kind', () => {
    for (const language of ['javascript', 'typescript', 'python'] as const) {
      for (const kind of ['single_label', 'span'] as const) {
        const code = heuristicTemplate(language, kind, 'SPAM', 'text');
        expect(code).toMatch(language === 'python' ? /def lf\(/ : /function\*? lf\(/);
        expect(code).toContain('"SPAM"');
      }
    }
  });
});
