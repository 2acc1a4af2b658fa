import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../api/client';
import { ApiError } from '../api/errors';
import type { LabelingTask } from '../api/types';
import { duplicateHotkeys, useTasksStore, validateHotkey } from './tasks';

vi.mock('../api/client');

const task: LabelingTask = {
  id: 't1',
  name: 'Sentiment',
  kind: 'single_label',
  attribute: null,
  allowOverlap: false,
  labels: [{ id: 'l1', name: 'positive', color: '#2563eb', hotkey: 'p', description: '' }],
};

describe('tasks store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.resetAllMocks();
  });

  it('loads the configuration and reloads after each write (read-your-writes)', async () => {
    vi.mocked(api.getTasks).mockResolvedValue({ tasks: [task], blindLabeling: false });
    const store = useTasksStore();
    await store.open('p1');
    expect(store.tasks).toHaveLength(1);
    expect(store.labelById.get('l1')).toMatchObject({ taskId: 't1', name: 'positive' });

    vi.mocked(api.createTask).mockResolvedValue({ id: 't2', revision: '1', position: '5/1' });
    expect(await store.addTask({ name: '  Entities ', kind: 'span', attribute: 'text' })).toBe('t2');
    expect(api.createTask).toHaveBeenCalledWith('p1', { name: 'Entities', kind: 'span', attribute: 'text', allowOverlap: false });
    expect(api.getTasks).toHaveBeenLastCalledWith('p1', { after: '5/1' });

    vi.mocked(api.createLabel).mockResolvedValue({ id: 'l2', revision: '2', position: '6/1' });
    await store.addLabel('t1', { name: 'negative', hotkey: 'n', color: '#dc2626' });
    expect(api.createLabel).toHaveBeenCalledWith('p1', 't1', { name: 'negative', hotkey: 'n', color: '#dc2626' });

    vi.mocked(api.mergeLabels).mockResolvedValue({ revision: '3', position: '7/1' });
    await store.mergeLabels('t1', ['l2'], 'l1');
    expect(api.mergeLabels).toHaveBeenCalledWith('p1', 't1', ['l2'], 'l1');
    expect(api.getTasks).toHaveBeenLastCalledWith('p1', { after: '7/1' });
  });

  it('rethrows server errors for the forms and rolls back the blind-labeling toggle', async () => {
    vi.mocked(api.getTasks).mockResolvedValue({ tasks: [task], blindLabeling: false });
    const store = useTasksStore();
    await store.open('p1');

    const taken = new ApiError({ code: 'hotkey_taken', message: 'Hotkey p is taken', status: 409 });
    vi.mocked(api.createLabel).mockRejectedValue(taken);
    await expect(store.addLabel('t1', { name: 'x', hotkey: 'p' })).rejects.toBe(taken);

    vi.mocked(api.setLabelingSettings).mockRejectedValue(new ApiError({ code: 'forbidden', message: 'no', status: 403 }));
    await expect(store.setBlindLabeling(true)).rejects.toMatchObject({ status: 403 });
    expect(store.blindLabeling).toBe(false);
  });
});

describe('task validation helpers', () => {
  it('checks hotkeys like the server and finds duplicates', () => {
    expect(validateHotkey('')).toBeNull();
    expect(validateHotkey('a')).toBeNull();
    expect(validateHotkey('7')).toBeNull();
    expect(validateHotkey('A')).toMatch(/lowercase/);
    expect(validateHotkey('ab')).toMatch(/one/);
    const dup = { ...task, labels: [...task.labels, { ...task.labels[0]!, id: 'l9', name: 'again' }] };
    expect(duplicateHotkeys(dup)).toEqual(['p']);
    expect(duplicateHotkeys(task)).toEqual([]);
  });
});
