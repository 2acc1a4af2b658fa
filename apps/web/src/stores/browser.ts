import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import * as api from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import type { Filter, NewSession, NewSlice, SearchRequest, SearchRecord, SearchSort, Slice, SliceKind } from '../api/types';
import { useConsistencyStore } from './consistency';

export const BROWSER_PAGE_SIZE = 25;

function signature(records: SearchRecord[], total: number): string {
  return `${total}|${records.map((r) => `${r.id}:${JSON.stringify(r.labels ?? [])}`).join(';')}`;
}

/**
 * The data browser: a search (filter + sort) paged with the server's cursors, the project's slices,
 * and "live" updates that are buffered: a background check only announces changes (`pendingUpdate`)
 * and the table changes when the user asks for it.
 */
export const useBrowserStore = defineStore('browser', () => {
  const consistency = useConsistencyStore();

  const projectId = ref<string | null>(null);
  const filter = ref<Filter | undefined>(undefined);
  const sort = ref<SearchSort>({ by: 'seq', direction: 'asc' });
  const records = ref<SearchRecord[]>([]);
  const total = ref(0);
  const cursors = ref<(string | null)[]>([null]);
  const nextCursor = ref<string | null>(null);
  const loading = ref(false);
  const error = ref<ApiError | null>(null);
  const pendingUpdate = ref(false);

  const slices = ref<Slice[]>([]);
  const slicesError = ref<ApiError | null>(null);
  const activeSliceId = ref<string | null>(null);

  const pageIndex = computed(() => cursors.value.length - 1);
  const hasPrevious = computed(() => cursors.value.length > 1);
  const hasNext = computed(() => nextCursor.value !== null);
  const rangeStart = computed(() => (records.value.length === 0 ? 0 : pageIndex.value * BROWSER_PAGE_SIZE + 1));
  const rangeEnd = computed(() => pageIndex.value * BROWSER_PAGE_SIZE + records.value.length);
  /** What the results are filtered by: the active slice, else the built filter. */
  const effectiveFilter = computed<Filter | undefined>(() => (activeSliceId.value ? { slice: activeSliceId.value } : filter.value));

  let token = 0;
  let shown = '';

  function request(cursor: string | null) {
    const body: SearchRequest = { sort: sort.value, limit: BROWSER_PAGE_SIZE };
    if (effectiveFilter.value) body.filter = effectiveFilter.value;
    if (cursor) body.cursor = cursor;
    if (consistency.after) body.after = consistency.after;
    return body;
  }

  async function load(): Promise<boolean> {
    const id = projectId.value;
    if (!id) return false;
    const mine = ++token;
    loading.value = true;
    try {
      const page = await api.searchRecords(id, request(cursors.value[cursors.value.length - 1] ?? null));
      if (mine !== token) return false;
      records.value = page.records;
      total.value = page.total;
      nextCursor.value = page.nextCursor;
      shown = signature(page.records, page.total);
      pendingUpdate.value = false;
      error.value = null;
      return true;
    } catch (e) {
      if (mine === token) error.value = toApiError(e);
      return false;
    } finally {
      if (mine === token) loading.value = false;
    }
  }

  async function open(id: string): Promise<void> {
    if (projectId.value !== id) {
      records.value = [];
      total.value = 0;
      filter.value = undefined;
      activeSliceId.value = null;
      slices.value = [];
    }
    projectId.value = id;
    cursors.value = [null];
    await Promise.all([load(), loadSlices()]);
  }

  /** Runs the search again from the first page (after the filter or sort changed). */
  async function search(next: { filter?: Filter | undefined; sort?: SearchSort } = {}): Promise<void> {
    if ('filter' in next) {
      filter.value = next.filter;
      activeSliceId.value = null;
    }
    if (next.sort) sort.value = next.sort;
    cursors.value = [null];
    await load();
  }

  async function nextPage(): Promise<void> {
    const cursor = nextCursor.value;
    if (cursor === null || loading.value) return;
    cursors.value = [...cursors.value, cursor];
    if (!(await load()) && cursors.value[cursors.value.length - 1] === cursor) cursors.value = cursors.value.slice(0, -1);
  }

  async function previousPage(): Promise<void> {
    if (!hasPrevious.value || loading.value) return;
    cursors.value = cursors.value.slice(0, -1);
    await load();
  }

  /** Background check: same request, only flags a difference (the table does not move). */
  async function checkForUpdates(): Promise<void> {
    const id = projectId.value;
    if (!id || loading.value || error.value || pendingUpdate.value) return;
    const mine = token;
    try {
      const page = await api.searchRecords(id, request(cursors.value[cursors.value.length - 1] ?? null));
      if (mine === token && signature(page.records, page.total) !== shown) pendingUpdate.value = true;
    } catch {
      // A failed background check stays silent; the next one or a manual reload will tell.
    }
  }

  /** Applies buffered updates: reloads the page on screen. */
  const applyUpdates = () => load();

  async function loadSlices(): Promise<void> {
    const id = projectId.value;
    if (!id) return;
    try {
      slices.value = await api.listSlices(id, { after: consistency.after });
      slicesError.value = null;
    } catch (e) {
      slicesError.value = toApiError(e);
    }
  }

  /** Saves the current filter as a slice (rejects with ApiError for the form). */
  async function saveSlice(name: string, kind: SliceKind): Promise<string> {
    const id = projectId.value!;
    const body: NewSlice = { name: name.trim(), kind };
    if (filter.value) body.filter = filter.value;
    if (consistency.after) body.after = consistency.after;
    const result = await api.createSlice(id, body);
    consistency.observe(result.position);
    await loadSlices();
    return result.id;
  }

  async function applySlice(sliceId: string | null): Promise<void> {
    activeSliceId.value = sliceId;
    cursors.value = [null];
    await load();
  }

  async function removeSlice(sliceId: string): Promise<void> {
    const id = projectId.value!;
    const result = await api.deleteSlice(id, sliceId);
    consistency.observe(result.position);
    if (activeSliceId.value === sliceId) await applySlice(null);
    await loadSlices();
  }

  /** Starts a labeling session over the active slice or the current filter; resolves to its id. */
  async function startSession(order: 'ordered' | 'shuffled', name?: string): Promise<string> {
    const id = projectId.value!;
    const body: NewSession = { order };
    if (name) body.name = name;
    if (activeSliceId.value) body.sliceId = activeSliceId.value;
    else if (filter.value) body.filter = filter.value;
    if (order === 'shuffled') body.seed = String(Math.floor(Math.random() * 2 ** 31));
    if (consistency.after) body.after = consistency.after;
    const result = await api.createSession(id, body);
    consistency.observe(result.position);
    return result.id;
  }

  return {
    projectId,
    filter,
    sort,
    records,
    total,
    cursors,
    nextCursor,
    loading,
    error,
    pendingUpdate,
    slices,
    slicesError,
    activeSliceId,
    pageIndex,
    hasPrevious,
    hasNext,
    rangeStart,
    rangeEnd,
    effectiveFilter,
    open,
    load,
    search,
    nextPage,
    previousPage,
    checkForUpdates,
    applyUpdates,
    loadSlices,
    saveSlice,
    applySlice,
    removeSlice,
    startSession,
  };
});
