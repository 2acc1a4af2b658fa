import { defineStore } from 'pinia';
import { ref } from 'vue';
import * as api from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import type { Project } from '../api/types';
import { useConsistencyStore } from './consistency';

export const PROJECT_NAME_MAX = 100;

/** Client-side validation matching the server rule (1–100 characters). Returns a message or null. */
export function validateProjectName(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed.length === 0) return 'Enter a project name.';
  if (trimmed.length > PROJECT_NAME_MAX) return `Use at most ${PROJECT_NAME_MAX} characters.`;
  return null;
}

export const useProjectsStore = defineStore('projects', () => {
  const consistency = useConsistencyStore();

  const projects = ref<Project[]>([]);
  const loading = ref(false);
  const loaded = ref(false);
  const error = ref<ApiError | null>(null);

  const current = ref<Project | null>(null);
  const currentLoading = ref(false);
  const currentError = ref<ApiError | null>(null);

  let listRequest = 0;
  let currentRequest = 0;

  async function fetchAll(): Promise<void> {
    const token = ++listRequest;
    loading.value = true;
    try {
      const list = await api.listProjects({ after: consistency.after });
      if (token !== listRequest) return;
      projects.value = list;
      error.value = null;
      loaded.value = true;
    } catch (e) {
      if (token === listRequest) error.value = toApiError(e);
    } finally {
      if (token === listRequest) loading.value = false;
    }
  }

  async function fetchOne(id: string): Promise<void> {
    const token = ++currentRequest;
    if (current.value?.id !== id) current.value = null;
    currentLoading.value = true;
    try {
      const project = await api.getProject(id, { after: consistency.after });
      if (token !== currentRequest) return;
      current.value = project;
      currentError.value = null;
    } catch (e) {
      if (token !== currentRequest) return;
      current.value = null;
      currentError.value = toApiError(e);
    } finally {
      if (token === currentRequest) currentLoading.value = false;
    }
  }

  /** Creates a project and reloads the list. Rejects with ApiError (for the form to show). */
  async function create(name: string): Promise<string> {
    const result = await api.createProject(name.trim());
    consistency.observe(result.position);
    await fetchAll();
    return result.id;
  }

  async function rename(id: string, name: string): Promise<void> {
    const result = await api.renameProject(id, name.trim());
    consistency.observe(result.position);
    const local = projects.value.find((p) => p.id === id);
    if (local) local.name = name.trim();
    if (current.value?.id === id) current.value.name = name.trim();
    await fetchAll();
  }

  async function remove(id: string): Promise<void> {
    const result = await api.deleteProject(id);
    consistency.observe(result.position);
    projects.value = projects.value.filter((p) => p.id !== id);
    if (current.value?.id === id) current.value = null;
    await fetchAll();
  }

  return {
    projects,
    loading,
    loaded,
    error,
    current,
    currentLoading,
    currentError,
    fetchAll,
    fetchOne,
    create,
    rename,
    remove,
  };
});
