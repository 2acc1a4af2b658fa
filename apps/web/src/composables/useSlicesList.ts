import { ref } from 'vue';
import { listSlices } from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import type { Slice } from '../api/types';
import { useConsistencyStore } from '../stores/consistency';

/** A one-off list of a project's slices (for pickers such as the export dialog). */
export function useSlicesList() {
  const consistency = useConsistencyStore();
  const slices = ref<Slice[]>([]);
  const error = ref<ApiError | null>(null);
  const loading = ref(false);

  async function load(projectId: string): Promise<void> {
    loading.value = true;
    try {
      slices.value = await listSlices(projectId, { after: consistency.after });
      error.value = null;
    } catch (e) {
      error.value = toApiError(e);
    } finally {
      loading.value = false;
    }
  }

  return { slices, error, loading, load };
}
