import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import * as api from '../api/metrics';
import { toApiError, type ApiError } from '../api/errors';
import { useConsistencyStore } from './consistency';

/**
 * The project dashboard: metrics of one task and its inter-annotator agreement, live or "as of" a
 * past time (the server replays the log up to it). A newer request supersedes an older one.
 */
export const useMetricsStore = defineStore('metrics', () => {
  const consistency = useConsistencyStore();

  const projectId = ref<string | null>(null);
  const taskId = ref<string | null>(null);
  /** ISO 8601 time, or null for the live figures */
  const asOf = ref<string | null>(null);
  const metrics = ref<api.ProjectMetrics | null>(null);
  const agreement = ref<api.Agreement | null>(null);
  const loading = ref(false);
  const error = ref<ApiError | null>(null);

  const task = computed(() => metrics.value?.tasks.find((t) => t.taskId === taskId.value) ?? null);
  const progress = computed(() => metrics.value?.progress.filter((p) => p.taskId === taskId.value) ?? []);

  let token = 0;
  let controller: AbortController | null = null;

  async function load(): Promise<void> {
    const id = projectId.value;
    if (!id) return;
    const mine = ++token;
    controller?.abort();
    controller = new AbortController();
    const signal = controller.signal;
    loading.value = true;
    error.value = null;
    try {
      const query = { asOf: asOf.value, after: asOf.value ? null : consistency.after, signal };
      const m = await api.getMetrics(id, query);
      if (mine !== token) return;
      // keep the chosen task when it still exists, else the first one
      if (!m.tasks.some((t) => t.taskId === taskId.value)) taskId.value = m.tasks[0]?.taskId ?? null;
      metrics.value = m;
      agreement.value = taskId.value ? await api.getAgreement(id, taskId.value, query) : null;
      if (mine !== token) return;
    } catch (e) {
      if (mine !== token || (e instanceof DOMException && e.name === 'AbortError')) return;
      error.value = toApiError(e);
    } finally {
      if (mine === token) loading.value = false;
    }
  }

  async function open(id: string): Promise<void> {
    if (projectId.value !== id) {
      projectId.value = id;
      taskId.value = null;
      asOf.value = null;
      metrics.value = null;
      agreement.value = null;
    }
    await load();
  }

  async function selectTask(id: string): Promise<void> {
    taskId.value = id;
    await load();
  }

  /** `time`: ISO 8601, or null for live */
  async function setAsOf(time: string | null): Promise<void> {
    asOf.value = time;
    await load();
  }

  return { projectId, taskId, asOf, metrics, agreement, loading, error, task, progress, load, open, selectTask, setAsOf };
});
