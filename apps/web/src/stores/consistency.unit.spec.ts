import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { useConsistencyStore } from './consistency';

describe('consistency store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
  });

  it('keeps the latest write position', () => {
    const store = useConsistencyStore();
    expect(store.after).toBeNull();
    store.observe('9');
    store.observe('12');
    expect(store.after).toBe('12');
  });

  it('never moves back to an older numeric position and ignores empty ones', () => {
    const store = useConsistencyStore();
    store.observe('100');
    store.observe('99');
    store.observe('');
    store.observe(undefined);
    expect(store.after).toBe('100');
  });
});

describe('consistency store with server positions', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
  });

  it('compares `<commit>/<sequence>` positions numerically', () => {
    const store = useConsistencyStore();
    store.observe('813/7');
    store.observe('1020/9');
    store.observe('999/8');
    expect(store.after).toBe('1020/9');
  });
});
