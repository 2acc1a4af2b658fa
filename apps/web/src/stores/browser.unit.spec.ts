import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../api/client';
import { ApiError } from '../api/errors';
import type { SearchPage } from '../api/types';
import { useBrowserStore } from './browser';

vi.mock('../api/client');

function page(ids: string[], total: number, nextCursor: string | null = null, label = 'pos'): SearchPage {
  return {
    records: ids.map((id, i) => ({ id, seq: i + 1, values: { text: id }, labels: [{ taskId: 't', source: 'manual', labelIds: [label] }] })),
    total,
    nextCursor,
  };
}

describe('browser store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.resetAllMocks();
    vi.mocked(api.listSlices).mockResolvedValue([]);
  });

  it('searches with the filter and sort, and pages with the cursor stack', async () => {
    vi.mocked(api.searchRecords).mockResolvedValueOnce(page(['a', 'b'], 30, 'c2')).mockResolvedValueOnce(page(['x'], 3, 'c2')).mockResolvedValueOnce(page(['y'], 3, null));
    const store = useBrowserStore();
    await store.open('p1');
    expect(api.searchRecords).toHaveBeenLastCalledWith('p1', { sort: { by: 'seq', direction: 'asc' }, limit: 25 });

    const filter = { hasComments: true };
    await store.search({ filter, sort: { by: { attribute: 'stars' }, direction: 'desc' } });
    expect(api.searchRecords).toHaveBeenLastCalledWith('p1', { filter, sort: { by: { attribute: 'stars' }, direction: 'desc' }, limit: 25 });
    await store.nextPage();
    expect(api.searchRecords).toHaveBeenLastCalledWith('p1', expect.objectContaining({ filter, cursor: 'c2' }));
    expect(store.pageIndex).toBe(1);
  });

  it('shows a missing route or bad filter as an error and keeps the page', async () => {
    vi.mocked(api.searchRecords).mockRejectedValue(new ApiError({ code: 'not_found', message: 'No route', status: 404 }));
    const store = useBrowserStore();
    await store.open('p1');
    expect(store.error?.status).toBe(404);
    expect(store.loading).toBe(false);
  });

  it('buffers live updates: a background check only flags changes until they are applied', async () => {
    vi.mocked(api.searchRecords).mockResolvedValueOnce(page(['a', 'b'], 2));
    const store = useBrowserStore();
    await store.open('p1');

    vi.mocked(api.searchRecords).mockResolvedValueOnce(page(['a', 'b'], 2));
    await store.checkForUpdates();
    expect(store.pendingUpdate).toBe(false);

    vi.mocked(api.searchRecords).mockResolvedValueOnce(page(['a', 'b'], 2, null, 'neg'));
    await store.checkForUpdates();
    expect(store.pendingUpdate).toBe(true);
    expect(store.records[0]!.labels![0]!.labelIds).toEqual(['pos']); // the table did not move

    vi.mocked(api.searchRecords).mockResolvedValueOnce(page(['a', 'b'], 2, null, 'neg'));
    await store.applyUpdates();
    expect(store.pendingUpdate).toBe(false);
    expect(store.records[0]!.labels![0]!.labelIds).toEqual(['neg']);
  });

  it('saves, applies and deletes slices; starts a session over the active slice', async () => {
    vi.mocked(api.searchRecords).mockResolvedValue(page(['a'], 1));
    const store = useBrowserStore();
    await store.open('p1');
    await store.search({ filter: { hasComments: true } });

    vi.mocked(api.createSlice).mockResolvedValue({ id: 's1', revision: '0', position: '9/1' });
    vi.mocked(api.listSlices).mockResolvedValue([{ id: 's1', name: 'Commented', kind: 'dynamic' }]);
    await store.saveSlice(' Commented ', 'dynamic');
    expect(api.createSlice).toHaveBeenCalledWith('p1', { name: 'Commented', kind: 'dynamic', filter: { hasComments: true } });
    expect(api.listSlices).toHaveBeenLastCalledWith('p1', { after: '9/1' });
    expect(store.slices).toHaveLength(1);

    await store.applySlice('s1');
    expect(api.searchRecords).toHaveBeenLastCalledWith('p1', expect.objectContaining({ filter: { slice: 's1' }, after: '9/1' }));

    vi.mocked(api.createSession).mockResolvedValue({ id: 'sess', total: 1, position: '10/1' });
    expect(await store.startSession('ordered')).toBe('sess');
    expect(api.createSession).toHaveBeenCalledWith('p1', { order: 'ordered', sliceId: 's1', after: '9/1' });

    vi.mocked(api.deleteSlice).mockResolvedValue({ revision: '1', position: '11/1' });
    vi.mocked(api.listSlices).mockResolvedValue([]);
    await store.removeSlice('s1');
    expect(store.activeSliceId).toBeNull();
    expect(store.slices).toEqual([]);
  });
});
