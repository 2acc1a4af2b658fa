import { ref } from 'vue';
import { listSessions, listSlices } from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import type { LabelingSession, Slice } from '../api/types';
import { useConsistencyStore } from '../stores/consistency';

/** The slices and the caller's sessions of a project, for the export dialog's scope pickers. */
export function useExportChoices() {
  const consistency = useConsistencyStore();
  const slices = ref<Slice[]>([]);
  const sessions = ref<LabelingSession[]>([]);
  const error = ref<ApiError | null>(null);

  async function load(projectId: string): Promise<void> {
    const [sliceResult, sessionResult] = await Promise.allSettled([
      listSlices(projectId, { after: consistency.after }),
      listSessions(projectId, { after: consistency.after }),
    ]);
    if (sliceResult.status === 'fulfilled') slices.value = sliceResult.value;
    if (sessionResult.status === 'fulfilled') sessions.value = sessionResult.value;
    const failed = [sliceResult, sessionResult].find((r) => r.status === 'rejected');
    error.value = failed && failed.status === 'rejected' ? toApiError(failed.reason) : null;
  }

  return { slices, sessions, error, load };
}
