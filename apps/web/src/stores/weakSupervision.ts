import { defineStore } from 'pinia';
import { ref } from 'vue';
import * as api from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import type { WsConfig, WsConfigChanges, WsConfusion, WsModel, WsRun } from '../api/types';
import { useConsistencyStore } from './consistency';

/** How often a task with a requested run is polled. */
export const WS_POLL_INTERVAL_MS = 700;
/**
 * How often a task with automatic re-runs is polled while nothing is running: a re-run is requested
 * by the workers (after a label change made elsewhere), so the page would not see it otherwise.
 */
export const WS_AUTO_POLL_INTERVAL_MS = 3000;

export const WS_MODELS: ReadonlyArray<{ id: WsModel; name: string; description: string }> = [
  { id: 'ours', name: 'ours (default)', description: 'Semi-supervised Dawid-Skene with calibrated probabilities; uses manual labels when there are any.' },
  { id: 'mv', name: 'majority vote', description: 'The most frequent vote; confidence = its vote share.' },
  { id: 'refinery', name: "refinery's weighted vote", description: 'Votes weighted by each heuristic’s precision on manual labels; needs manual labels.' },
  { id: 'ds', name: 'Dawid-Skene', description: 'Unsupervised EM over each heuristic’s confusion.' },
];

/**
 * Weak supervision of one task of the open project: its configuration, its runs (polled while one
 * is requested, or slower while automatic re-runs are on) and the confusion matrix of weak labels against the reference manual labels.
 */
export const useWeakSupervisionStore = defineStore('weakSupervision', () => {
  const consistency = useConsistencyStore();
  const projectId = ref<string | null>(null);
  const taskId = ref<string | null>(null);
  const config = ref<WsConfig | null>(null);
  const runs = ref<WsRun[]>([]);
  const confusion = ref<WsConfusion | null>(null);
  const loading = ref(false);
  const error = ref<ApiError | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let token = 0;

  /** false once the page closed: an answer still in flight then schedules no further poll */
  let polling = false;

  function clearTimer(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
  }

  function stopPolling(): void {
    polling = false;
    clearTimer();
  }

  async function load(): Promise<void> {
    const p = projectId.value;
    const t = taskId.value;
    if (!p || !t) return;
    const mine = ++token;
    loading.value = true;
    try {
      const [state, cm] = await Promise.all([api.getWeakSupervision(p, t, { after: consistency.after }), api.getWeakSupervisionConfusion(p, t, { after: consistency.after })]);
      if (mine !== token) return;
      config.value = state.config;
      runs.value = state.runs;
      confusion.value = cm;
      error.value = null;
      clearTimer();
      if (!polling) return;
      if (state.runs.some((r) => r.status === 'requested')) timer = setTimeout(() => void load(), WS_POLL_INTERVAL_MS);
      else if (state.config.autoRerun) timer = setTimeout(() => void load(), WS_AUTO_POLL_INTERVAL_MS);
    } catch (e) {
      if (mine === token) error.value = toApiError(e);
    } finally {
      if (mine === token) loading.value = false;
    }
  }

  async function open(project: string, task: string): Promise<void> {
    if (projectId.value !== project || taskId.value !== task) {
      stopPolling();
      config.value = null;
      runs.value = [];
      confusion.value = null;
    }
    projectId.value = project;
    taskId.value = task;
    polling = true;
    await load();
  }

  function requireTask(): [string, string] {
    if (!projectId.value || !taskId.value) throw new Error('No task is open');
    return [projectId.value, taskId.value];
  }

  async function configure(changes: WsConfigChanges): Promise<void> {
    const [p, t] = requireTask();
    const result = await api.configureWeakSupervision(p, t, changes);
    consistency.observe(result.position);
    await load();
  }

  /** Saves the configuration, then requests a run with it. */
  async function run(changes: WsConfigChanges): Promise<string> {
    const [p, t] = requireTask();
    consistency.observe((await api.configureWeakSupervision(p, t, changes)).position);
    const result = await api.runWeakSupervision(p, t);
    consistency.observe(result.position);
    await load();
    return result.runId;
  }

  return { projectId, taskId, config, runs, confusion, loading, error, open, load, configure, run, stopPolling };
});
