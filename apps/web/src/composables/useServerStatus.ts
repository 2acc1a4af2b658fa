import { onBeforeUnmount, onMounted, ref } from 'vue';
import { checkReady } from '../api/client';

export type ServerStatus = 'unknown' | 'online' | 'offline';

/** Polls `/readyz` while the component using it is mounted. */
export function useServerStatus(intervalMs = 30_000) {
  const status = ref<ServerStatus>('unknown');
  let timer: ReturnType<typeof setInterval> | undefined;

  async function check(): Promise<void> {
    status.value = (await checkReady()) ? 'online' : 'offline';
  }

  onMounted(() => {
    void check();
    timer = setInterval(() => void check(), intervalMs);
  });
  onBeforeUnmount(() => clearInterval(timer));

  return { status, check };
}
