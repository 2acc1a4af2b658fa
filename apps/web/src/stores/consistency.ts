import { defineStore } from 'pinia';
import { ref } from 'vue';

/**
 * Read-your-writes: every write answers with the event-log position it was appended at.
 * Reads pass the latest such position as `?after=` so the server answers only once its
 * read models have caught up with our own writes.
 */
export const useConsistencyStore = defineStore('consistency', () => {
  const after = ref<string | null>(null);

  function observe(position: string | null | undefined): void {
    if (!position) return;
    after.value = isLater(position, after.value) ? position : after.value;
  }

  return { after, observe };
});

/** Positions are opaque strings; when both are integers compare numerically, else take the newest seen. */
function isLater(candidate: string, current: string | null): boolean {
  if (current === null) return true;
  if (/^\d+$/.test(candidate) && /^\d+$/.test(current)) return BigInt(candidate) >= BigInt(current);
  return true;
}
