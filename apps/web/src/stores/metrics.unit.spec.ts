import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../api/metrics';
import type { Agreement, ProjectMetrics } from '../api/metrics';
import { useMetricsStore } from './metrics';

vi.mock('../api/metrics');

const point = { live: true, position: null, time: null };
const metrics = (taskIds: string[]): ProjectMetrics => ({
  asOf: point,
  tasks: taskIds.map((taskId) => ({ taskId, name: taskId, kind: 'single_label', labels: [], distribution: [], confusion: [], confidence: null })),
  progress: [
    { taskId: 't1', day: '2026-11-27', source: 'manual', annotator: 'u1', name: 'Ann', answers: 3 },
    { taskId: 't2', day: '2026-11-27', source: 'manual', annotator: 'u1', name: 'Ann', answers: 5 },
  ],
});
const agreement = (taskId: string): Agreement => ({ asOf: point, taskId, kind: 'single_label', annotators: [], records: 0, nominal: null, spans: null });

describe('metrics store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.mocked(api.getMetrics).mockReset().mockResolvedValue(metrics(['t1', 't2']));
    vi.mocked(api.getAgreement).mockReset().mockImplementation(async (_p, task) => agreement(task));
  });

  it('opens on the first task and loads its agreement', async () => {
    const store = useMetricsStore();
    await store.open('p1');
    expect(store.taskId).toBe('t1');
    expect(store.task?.taskId).toBe('t1');
    expect(store.progress.map((p) => p.answers)).toEqual([3]);
    expect(api.getAgreement).toHaveBeenCalledWith('p1', 't1', expect.objectContaining({ asOf: null }));
    expect(store.agreement?.taskId).toBe('t1');
  });

  it('switches task and keeps it across reloads', async () => {
    const store = useMetricsStore();
    await store.open('p1');
    await store.selectTask('t2');
    expect(store.progress.map((p) => p.answers)).toEqual([5]);
    expect(store.agreement?.taskId).toBe('t2');
    await store.load();
    expect(store.taskId).toBe('t2');
  });

  it('"as of" passes the time to both calls and no read-your-writes position', async () => {
    const store = useMetricsStore();
    await store.open('p1');
    await store.setAsOf('2026-11-27T10:00:00.000Z');
    expect(api.getMetrics).toHaveBeenLastCalledWith('p1', expect.objectContaining({ asOf: '2026-11-27T10:00:00.000Z', after: null }));
    expect(api.getAgreement).toHaveBeenLastCalledWith('p1', 't1', expect.objectContaining({ asOf: '2026-11-27T10:00:00.000Z' }));
    await store.setAsOf(null);
    expect(api.getMetrics).toHaveBeenLastCalledWith('p1', expect.objectContaining({ asOf: null }));
  });

  it('keeps the error of a refused request, and a task that disappeared falls back to the first', async () => {
    const store = useMetricsStore();
    await store.open('p1');
    await store.selectTask('t2');
    vi.mocked(api.getMetrics).mockResolvedValueOnce(metrics(['t1']));
    await store.load();
    expect(store.taskId).toBe('t1');
    vi.mocked(api.getMetrics).mockRejectedValueOnce(Object.assign(new Error('before'), {}));
    await store.load();
    expect(store.error?.message).toBe('before');
    expect(store.loading).toBe(false);
  });
});
