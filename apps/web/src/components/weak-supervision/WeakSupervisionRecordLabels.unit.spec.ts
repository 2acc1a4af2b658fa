// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../../api/client';
import { ApiError } from '../../api/errors';
import type { LabelingTask, RecordItem, WeakLabel } from '../../api/types';
import { useLabelingStore } from '../../stores/labeling';
import WeakSupervisionRecordLabels from './WeakSupervisionRecordLabels.vue';

vi.mock('../../api/client');

const task = {
  id: 't1',
  name: 'Spam',
  kind: 'single_label',
  attribute: 'text',
  labels: [
    { id: 'ham', name: 'HAM', color: '#000000', hotkey: null, description: '' },
    { id: 'spam', name: 'SPAM', color: '#000000', hotkey: null, description: '' },
  ],
} as unknown as LabelingTask;
const weak = (labelId: string, confidence: number) => ({ taskId: 't1', labelId, confidence }) as unknown as WeakLabel;

describe('WeakSupervisionRecordLabels', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    setActivePinia(createPinia());
    const labeling = useLabelingStore();
    labeling.projectId = 'p1';
    labeling.record = { id: 'r1', values: { text: 'hello' } } as unknown as RecordItem;
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.resetAllMocks();
  });

  it('reads the open record again while it stays open, so a re-run’s new weak label shows', async () => {
    vi.mocked(api.getRecordWeakLabels).mockResolvedValueOnce([weak('ham', 0.61)]).mockResolvedValue([weak('spam', 0.93)]);
    const w = mount(WeakSupervisionRecordLabels, { props: { task } });
    await flushPromises();
    expect(w.text()).toContain('HAM');
    expect(w.text()).toContain('61.0 %');
    await vi.advanceTimersByTimeAsync(10_000);
    await flushPromises();
    expect(w.text()).toContain('SPAM');
    expect(w.text()).toContain('93.0 %');
    w.unmount();
    const calls = vi.mocked(api.getRecordWeakLabels).mock.calls.length;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(vi.mocked(api.getRecordWeakLabels).mock.calls.length).toBe(calls); // no reads after the view closed
  });

  it('stops asking after a 403 (a role that sees no weak supervision) and shows nothing', async () => {
    vi.mocked(api.getRecordWeakLabels).mockRejectedValue(new ApiError({ code: 'forbidden', message: 'no', status: 403 }));
    const w = mount(WeakSupervisionRecordLabels, { props: { task } });
    await flushPromises();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.mocked(api.getRecordWeakLabels)).toHaveBeenCalledTimes(1);
    expect(w.find('[data-testid="weak-label"]').exists()).toBe(false);
    w.unmount();
  });
});
