import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import * as api from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import type { LabelingTask, LabelInput, NewTask, WriteResult } from '../api/types';
import { useConsistencyStore } from './consistency';

/** Keys the labeling view also uses for navigation; a label hotkey on them takes precedence there. */
export const NAVIGATION_KEYS = ['j', 'k', 'u'] as const;

/** Label colours offered by the settings form (the server's default is the first). */
export const LABEL_COLORS = ['#2563eb', '#059669', '#dc2626', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#4b5563'] as const;

/** Client-side checks matching the server rules. Returns a message or null. */
export function validateHotkey(hotkey: string): string | null {
  if (hotkey === '') return null;
  return /^[a-z0-9]$/.test(hotkey) ? null : 'Use one lowercase letter or digit.';
}

/** Hotkeys used more than once inside a task (they would be ambiguous in the labeling view). */
export function duplicateHotkeys(task: LabelingTask): string[] {
  const seen = new Map<string, number>();
  for (const label of task.labels) if (label.hotkey) seen.set(label.hotkey, (seen.get(label.hotkey) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([key]) => key);
}

/**
 * The labeling configuration of the open project: tasks with their labels and the blind-labeling
 * setting. Every write records its position and reloads the configuration after it.
 */
export const useTasksStore = defineStore('tasks', () => {
  const consistency = useConsistencyStore();

  const projectId = ref<string | null>(null);
  const tasks = ref<LabelingTask[]>([]);
  const blindLabeling = ref(false);
  const loading = ref(false);
  const loaded = ref(false);
  const error = ref<ApiError | null>(null);

  const labelById = computed(() => {
    const map = new Map<string, { taskId: string; name: string; color: string; hotkey: string | null }>();
    for (const task of tasks.value) for (const label of task.labels) map.set(label.id, { taskId: task.id, ...label });
    return map;
  });

  let token = 0;

  async function load(): Promise<void> {
    const id = projectId.value;
    if (!id) return;
    const mine = ++token;
    loading.value = true;
    try {
      const config = await api.getTasks(id, { after: consistency.after });
      if (mine !== token) return;
      tasks.value = config.tasks;
      blindLabeling.value = config.blindLabeling;
      error.value = null;
      loaded.value = true;
    } catch (e) {
      if (mine === token) error.value = toApiError(e);
    } finally {
      if (mine === token) loading.value = false;
    }
  }

  async function open(id: string): Promise<void> {
    if (projectId.value !== id) {
      tasks.value = [];
      blindLabeling.value = false;
      loaded.value = false;
    }
    projectId.value = id;
    await load();
  }

  function requireProject(): string {
    if (!projectId.value) throw new Error('No project is open');
    return projectId.value;
  }

  /** Runs a write, records its position and reloads. Rejects with ApiError for the form to show. */
  async function write<T extends WriteResult>(run: (projectId: string) => Promise<T>): Promise<T> {
    const result = await run(requireProject());
    consistency.observe(result.position);
    await load();
    return result;
  }

  async function addTask(task: NewTask): Promise<string> {
    const body: NewTask = { name: task.name.trim(), kind: task.kind };
    if (task.attribute) body.attribute = task.attribute;
    if (task.kind === 'span') body.allowOverlap = task.allowOverlap ?? false;
    return (await write((p) => api.createTask(p, body))).id;
  }

  const renameTask = (taskId: string, name: string) => write((p) => api.renameTask(p, taskId, name.trim())).then(() => undefined);
  const removeTask = (taskId: string) => write((p) => api.deleteTask(p, taskId)).then(() => undefined);

  async function addLabel(taskId: string, label: LabelInput & { name: string }): Promise<string> {
    const body: LabelInput & { name: string } = { name: label.name.trim() };
    if (label.color) body.color = label.color;
    if (label.hotkey) body.hotkey = label.hotkey;
    if (label.description) body.description = label.description;
    return (await write((p) => api.createLabel(p, taskId, body))).id;
  }

  const updateLabel = (taskId: string, labelId: string, changes: LabelInput) =>
    write((p) => api.updateLabel(p, taskId, labelId, changes)).then(() => undefined);
  const removeLabel = (taskId: string, labelId: string) => write((p) => api.deleteLabel(p, taskId, labelId)).then(() => undefined);
  const mergeLabels = (taskId: string, sourceLabelIds: string[], targetLabelId: string) =>
    write((p) => api.mergeLabels(p, taskId, sourceLabelIds, targetLabelId)).then(() => undefined);

  async function setBlindLabeling(value: boolean): Promise<void> {
    const previous = blindLabeling.value;
    blindLabeling.value = value;
    try {
      await write((p) => api.setLabelingSettings(p, { blindLabeling: value }));
    } catch (e) {
      blindLabeling.value = previous;
      throw e;
    }
  }

  return {
    projectId,
    tasks,
    blindLabeling,
    loading,
    loaded,
    error,
    labelById,
    open,
    load,
    addTask,
    renameTask,
    removeTask,
    addLabel,
    updateLabel,
    removeLabel,
    mergeLabels,
    setBlindLabeling,
  };
});
