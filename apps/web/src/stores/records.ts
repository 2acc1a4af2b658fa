import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import * as api from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import type { RecordItem } from '../api/types';
import { useConsistencyStore } from './consistency';

export const PAGE_SIZES = [25, 50, 100] as const;
export type PageSize = (typeof PAGE_SIZES)[number];

/**
 * The records page of the open project, paged with the server's opaque cursors.
 * `cursors` is a stack: its top is the cursor of the page on screen (null = first page),
 * so Previous just pops.
 */
export const useRecordsStore = defineStore('records', () => {
  const consistency = useConsistencyStore();

  const projectId = ref<string | null>(null);
  const records = ref<RecordItem[]>([]);
  const total = ref(0);
  const limit = ref<PageSize>(25);
  const cursors = ref<(string | null)[]>([null]);
  const nextCursor = ref<string | null>(null);
  const loading = ref(false);
  const error = ref<ApiError | null>(null);

  const pageIndex = computed(() => cursors.value.length - 1);
  const hasPrevious = computed(() => cursors.value.length > 1);
  const hasNext = computed(() => nextCursor.value !== null);
  const rangeStart = computed(() => (records.value.length === 0 ? 0 : pageIndex.value * limit.value + 1));
  const rangeEnd = computed(() => pageIndex.value * limit.value + records.value.length);

  let requestToken = 0;

  async function load(): Promise<boolean> {
    const id = projectId.value;
    if (!id) return false;
    const token = ++requestToken;
    loading.value = true;
    try {
      const page = await api.listRecords(id, {
        limit: limit.value,
        cursor: cursors.value[cursors.value.length - 1] ?? null,
        after: consistency.after,
      });
      if (token !== requestToken) return false;
      records.value = page.records;
      total.value = page.total;
      nextCursor.value = page.nextCursor;
      error.value = null;
      return true;
    } catch (e) {
      if (token === requestToken) error.value = toApiError(e);
      return false;
    } finally {
      if (token === requestToken) loading.value = false;
    }
  }

  /** Shows the first page of a project (clears the previous project's rows). */
  async function open(id: string): Promise<void> {
    if (projectId.value !== id) {
      records.value = [];
      total.value = 0;
      nextCursor.value = null;
    }
    projectId.value = id;
    cursors.value = [null];
    await load();
  }

  /** Back to the first page, e.g. after an import. */
  async function refresh(): Promise<void> {
    cursors.value = [null];
    await load();
  }

  async function next(): Promise<void> {
    const cursor = nextCursor.value;
    if (cursor === null || loading.value) return;
    cursors.value = [...cursors.value, cursor];
    const ok = await load();
    // Stay on the page we could show if the new one failed to load.
    if (!ok && error.value && cursors.value[cursors.value.length - 1] === cursor) {
      cursors.value = cursors.value.slice(0, -1);
    }
  }

  async function previous(): Promise<void> {
    if (!hasPrevious.value || loading.value) return;
    cursors.value = cursors.value.slice(0, -1);
    await load();
  }

  async function setLimit(size: PageSize): Promise<void> {
    limit.value = size;
    cursors.value = [null];
    await load();
  }

  return {
    projectId,
    records,
    total,
    limit,
    cursors,
    nextCursor,
    loading,
    error,
    pageIndex,
    hasPrevious,
    hasNext,
    rangeStart,
    rangeEnd,
    open,
    refresh,
    load,
    next,
    previous,
    setLimit,
  };
});
