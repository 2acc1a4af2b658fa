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

/**
 * Positions are opaque strings. The server sends `<commit>/<sequence>`; compare those (and plain
 * integers) numerically part by part, else take the newest seen.
 */
export function isLater(candidate: string, current: string | null): boolean {
  if (current === null) return true;
  const a = numericParts(candidate);
  const b = numericParts(current);
  if (!a || !b || a.length !== b.length) return true;
  for (let i = 0; i < a.length; i++) {
    if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  }
  return true;
}

function numericParts(position: string): bigint[] | null {
  if (!/^\d+(\/\d+)*$/.test(position)) return null;
  return position.split('/').map((part) => BigInt(part));
}
