import { computed, onBeforeUnmount, ref } from 'vue';
import { importContentType, uploadImport } from '../api/client';
import { ApiError, toApiError } from '../api/errors';
import type { ImportResult } from '../api/types';
import { useConsistencyStore } from '../stores/consistency';

export type ImportPhase = 'idle' | 'uploading' | 'processing' | 'done' | 'failed';

/** State of one import panel: chosen file, upload progress, result or error. */
export function useFileImport() {
  const consistency = useConsistencyStore();

  const file = ref<File | null>(null);
  const primaryKey = ref('');
  const phase = ref<ImportPhase>('idle');
  const loaded = ref(0);
  const total = ref<number | null>(null);
  const result = ref<ImportResult | null>(null);
  const error = ref<ApiError | null>(null);
  let controller: AbortController | null = null;

  const busy = computed(() => phase.value === 'uploading' || phase.value === 'processing');
  /** 0–100, or null while the size is unknown. */
  const percent = computed<number | null>(() => {
    if (phase.value === 'processing' || phase.value === 'done') return 100;
    if (phase.value !== 'uploading') return 0;
    if (!total.value) return null;
    return Math.min(100, Math.round((loaded.value / total.value) * 100));
  });

  function choose(next: File | null): void {
    file.value = next;
    result.value = null;
    phase.value = 'idle';
    error.value =
      next && !importContentType(next.name)
        ? new ApiError({
            code: 'unsupported_file_type',
            message: `“${next.name}” is not a supported file. Choose a .csv, .json, .jsonl or .ndjson file.`,
            status: 0,
          })
        : null;
  }

  async function start(projectId: string): Promise<ImportResult | null> {
    const chosen = file.value;
    if (!chosen || busy.value) return null;
    controller = new AbortController();
    phase.value = 'uploading';
    loaded.value = 0;
    total.value = chosen.size || null;
    result.value = null;
    error.value = null;
    try {
      const imported = await uploadImport(projectId, chosen, {
        primaryKey: primaryKey.value,
        signal: controller.signal,
        onProgress: (progress) => {
          loaded.value = progress.loaded;
          if (progress.total !== null) total.value = progress.total;
          // All bytes are sent: the server is now parsing and storing them.
          if (progress.total !== null && progress.loaded >= progress.total) phase.value = 'processing';
        },
      });
      consistency.observe(imported.position);
      result.value = imported;
      phase.value = 'done';
      return imported;
    } catch (e) {
      error.value = toApiError(e);
      phase.value = 'failed';
      return null;
    } finally {
      controller = null;
    }
  }

  function cancel(): void {
    controller?.abort();
  }

  onBeforeUnmount(cancel);

  return { file, primaryKey, phase, loaded, total, percent, busy, result, error, choose, start, cancel };
}
