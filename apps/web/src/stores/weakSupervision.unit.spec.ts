import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../api/client';
import type { WsConfig, WsConfusion, WsRun } from '../api/types';
import { useConsistencyStore } from './consistency';
import { useWeakSupervisionStore, WS_AUTO_POLL_INTERVAL_MS, WS_POLL_INTERVAL_MS } from './weakSupervision';

vi.mock('../api/client');

const config: WsConfig = { taskId: 't1', heuristicIds: ['h1'], model: 'ours', autoRerun: false, minConfidence: 0, updatedAt: null, updatedBy: null };
const run = (over: Partial<WsRun>): WsRun => ({
  runId: 'w1',
  taskId: 't1',
  model: 'ours',
  heuristicIds: ['h1'],
  parameters: {},
  trigger: 'manual',
  status: 'requested',
  requestedAt: '2026-11-27T00:00:00Z',
  requestedBy: 'u1',
  finishedAt: null,
  durationMs: null,
  heuristics: null,
  counts: null,
  resultArtifact: null,
  meanConfidence: null,
  agreement: null,
  error: null,
  supersededBy: null,
  current: false,
  ...over,
});
const confusion: WsConfusion = { taskId: 't1', kind: 'single_label', labelIds: ['a', 'b'], compared: 0, withWeakLabel: 0, matrix: [[0, 0, 0], [0, 0, 0]], accuracy: null, perLabel: [] };

describe('weak-supervision store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.useFakeTimers();
    vi.mocked(api.getWeakSupervisionConfusion).mockResolvedValue(confusion);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.resetAllMocks();
  });

  it('saves the configuration, requests a run with it and polls until the run has finished', async () => {
    vi.mocked(api.configureWeakSupervision).mockResolvedValue({ revision: '0', position: '5/1' });
    vi.mocked(api.runWeakSupervision).mockResolvedValue({ revision: '1', position: '5/2', runId: 'w1' });
    vi.mocked(api.getWeakSupervision)
      .mockResolvedValueOnce({ config, runs: [] })
      .mockResolvedValueOnce({ config, runs: [run({})] })
      .mockResolvedValueOnce({ config, runs: [run({ status: 'completed', current: true, counts: { records: 3, covered: 2, labeled: 2, manual: 0, byLabel: { a: 2 } } })] });
    const store = useWeakSupervisionStore();
    await store.open('p1', 't1');
    expect(store.config).toEqual(config);
    const runId = await store.run({ heuristicIds: ['h1'], model: 'mv', minConfidence: 0.5 });
    expect(runId).toBe('w1');
    expect(api.configureWeakSupervision).toHaveBeenCalledWith('p1', 't1', { heuristicIds: ['h1'], model: 'mv', minConfidence: 0.5 });
    expect(api.runWeakSupervision).toHaveBeenCalledWith('p1', 't1');
    // reads its own writes
    expect(useConsistencyStore().after).toBe('5/2');
    expect(vi.mocked(api.getWeakSupervision).mock.calls[1]![2]).toEqual({ after: '5/2' });
    expect(store.runs[0]!.status).toBe('requested');
    await vi.advanceTimersByTimeAsync(WS_POLL_INTERVAL_MS);
    expect(store.runs[0]!.status).toBe('completed');
    // finished: no more polling
    await vi.advanceTimersByTimeAsync(WS_POLL_INTERVAL_MS * 3);
    expect(api.getWeakSupervision).toHaveBeenCalledTimes(3);
  });

  it('keeps a refused request as an error', async () => {
    vi.mocked(api.getWeakSupervision).mockRejectedValue(Object.assign(new Error('forbidden'), { status: 403, code: 'forbidden' }));
    const store = useWeakSupervisionStore();
    await store.open('p1', 't1');
    expect(store.error).not.toBeNull();
    expect(store.config).toBeNull();
  });

  it('with automatic re-runs on, keeps polling so that a re-run requested by the workers shows up', async () => {
    const auto = { ...config, autoRerun: true };
    const done = run({ status: 'completed', current: true });
    vi.mocked(api.getWeakSupervision)
      .mockResolvedValueOnce({ config: auto, runs: [done] })
      .mockResolvedValueOnce({ config: auto, runs: [run({ runId: 'w2', trigger: 'auto' }), done] })
      .mockResolvedValue({ config: { ...auto, autoRerun: false }, runs: [run({ runId: 'w2', trigger: 'auto', status: 'completed', current: true }), done] });
    const store = useWeakSupervisionStore();
    await store.open('p1', 't1');
    // nothing running: the slower poll only
    await vi.advanceTimersByTimeAsync(WS_POLL_INTERVAL_MS);
    expect(api.getWeakSupervision).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(WS_AUTO_POLL_INTERVAL_MS - WS_POLL_INTERVAL_MS);
    expect(store.runs.map((r) => [r.runId, r.status])).toEqual([['w2', 'requested'], ['w1', 'completed']]);
    await vi.advanceTimersByTimeAsync(WS_POLL_INTERVAL_MS);
    expect(store.runs[0]).toMatchObject({ runId: 'w2', status: 'completed' });
    // switched off: polling stops
    await vi.advanceTimersByTimeAsync(WS_AUTO_POLL_INTERVAL_MS * 3);
    expect(api.getWeakSupervision).toHaveBeenCalledTimes(3);
  });

  it('schedules no poll from an answer that arrives after the page closed', async () => {
    let answer!: (v: { config: WsConfig; runs: WsRun[] }) => void;
    vi.mocked(api.getWeakSupervision).mockReturnValueOnce(new Promise((resolve) => (answer = resolve)));
    const store = useWeakSupervisionStore();
    const opened = store.open('p1', 't1');
    store.stopPolling();
    answer({ config: { ...config, autoRerun: true }, runs: [run({})] });
    await opened;
    expect(store.runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(WS_AUTO_POLL_INTERVAL_MS * 3);
    expect(api.getWeakSupervision).toHaveBeenCalledTimes(1);
  });
});
