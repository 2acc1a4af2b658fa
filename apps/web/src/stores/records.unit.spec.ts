import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import * as api from '../api/client';
import { ApiError } from '../api/errors';
import type { RecordItem, RecordsPage } from '../api/types';
import { useConsistencyStore } from './consistency';
import { useRecordsStore } from './records';

vi.mock('../api/client');

function rows(from: number, count: number): RecordItem[] {
  return Array.from({ length: count }, (_, i) => ({ id: `r${from + i}`, seq: from + i, values: { text: `row ${from + i}` } }));
}

function page(from: number, count: number, nextCursor: string | null, total = 60): RecordsPage {
  return { records: rows(from, count), total, nextCursor };
}

describe('records store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    vi.resetAllMocks();
  });

  it('opens the first page of a project', async () => {
    vi.mocked(api.listRecords).mockResolvedValueOnce(page(1, 25, 'c2'));
    const store = useRecordsStore();

    await store.open('p1');

    expect(api.listRecords).toHaveBeenCalledWith('p1', { limit: 25, cursor: null, after: null });
    expect(store.records).toHaveLength(25);
    expect(store.total).toBe(60);
    expect(store.hasNext).toBe(true);
    expect(store.hasPrevious).toBe(false);
    expect([store.rangeStart, store.rangeEnd]).toEqual([1, 25]);
  });

  it('pages forward with the server cursor and back with the cursor stack', async () => {
    vi.mocked(api.listRecords)
      .mockResolvedValueOnce(page(1, 25, 'c2'))
      .mockResolvedValueOnce(page(26, 25, 'c3'))
      .mockResolvedValueOnce(page(51, 10, null))
      .mockResolvedValueOnce(page(26, 25, 'c3'))
      .mockResolvedValueOnce(page(1, 25, 'c2'));
    const store = useRecordsStore();
    await store.open('p1');

    await store.next();
    expect(api.listRecords).toHaveBeenLastCalledWith('p1', { limit: 25, cursor: 'c2', after: null });
    await store.next();
    expect(api.listRecords).toHaveBeenLastCalledWith('p1', { limit: 25, cursor: 'c3', after: null });
    expect(store.pageIndex).toBe(2);
    expect(store.hasNext).toBe(false);
    expect([store.rangeStart, store.rangeEnd]).toEqual([51, 60]);

    await store.next(); // no next cursor: nothing happens
    expect(api.listRecords).toHaveBeenCalledTimes(3);

    await store.previous();
    expect(api.listRecords).toHaveBeenLastCalledWith('p1', { limit: 25, cursor: 'c2', after: null });
    await store.previous();
    expect(api.listRecords).toHaveBeenLastCalledWith('p1', { limit: 25, cursor: null, after: null });
    expect(store.hasPrevious).toBe(false);
    expect(store.records[0]!.id).toBe('r1');
  });

  it('changing the page size starts again from the first page', async () => {
    vi.mocked(api.listRecords)
      .mockResolvedValueOnce(page(1, 25, 'c2'))
      .mockResolvedValueOnce(page(26, 25, 'c3'))
      .mockResolvedValueOnce(page(1, 50, 'd2'));
    const store = useRecordsStore();
    await store.open('p1');
    await store.next();

    await store.setLimit(50);

    expect(api.listRecords).toHaveBeenLastCalledWith('p1', { limit: 50, cursor: null, after: null });
    expect(store.pageIndex).toBe(0);
    expect([store.rangeStart, store.rangeEnd]).toEqual([1, 50]);
  });

  it('refresh reads after the latest write position and goes back to page 1', async () => {
    vi.mocked(api.listRecords)
      .mockResolvedValueOnce(page(1, 25, 'c2'))
      .mockResolvedValueOnce(page(26, 25, null))
      .mockResolvedValueOnce(page(1, 25, 'c2', 90));
    const store = useRecordsStore();
    await store.open('p1');
    await store.next();

    useConsistencyStore().observe('77');
    await store.refresh();

    expect(api.listRecords).toHaveBeenLastCalledWith('p1', { limit: 25, cursor: null, after: '77' });
    expect(store.pageIndex).toBe(0);
    expect(store.total).toBe(90);
  });

  it('stays on the current page when the next page fails to load', async () => {
    vi.mocked(api.listRecords)
      .mockResolvedValueOnce(page(1, 25, 'c2'))
      .mockRejectedValueOnce(new ApiError({ code: 'invalid_cursor', message: 'Cursor expired', status: 400 }));
    const store = useRecordsStore();
    await store.open('p1');

    await store.next();

    expect(store.error?.code).toBe('invalid_cursor');
    expect(store.pageIndex).toBe(0);
    expect(store.records[0]!.id).toBe('r1');
    expect(store.loading).toBe(false);
  });

  it('clears rows when switching to another project', async () => {
    let resolveSecond!: (p: RecordsPage) => void;
    vi.mocked(api.listRecords)
      .mockResolvedValueOnce(page(1, 25, 'c2'))
      .mockImplementationOnce(() => new Promise((resolve) => (resolveSecond = resolve)));
    const store = useRecordsStore();
    await store.open('p1');

    const opening = store.open('p2');
    expect(store.records).toEqual([]);
    expect(store.total).toBe(0);
    resolveSecond(page(1, 3, null, 3));
    await opening;
    expect(store.total).toBe(3);
  });
});
