import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSessionStore } from './session';

describe('session store: managesProject', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('is true for owners and engineers of that project only', () => {
    const session = useSessionStore();
    expect(session.managesProject('p1')).toBe(false); // not signed in
    session.me = {
      user: { id: 'u1', email: 'u@x', displayName: 'U', admin: false, createdAt: '' },
      method: 'session',
      csrfToken: null,
      memberships: [
        { projectId: 'p1', role: 'owner' },
        { projectId: 'p2', role: 'engineer' },
        { projectId: 'p3', role: 'expert' },
        { projectId: 'p4', role: 'annotator' },
      ],
    };
    expect(['p1', 'p2', 'p3', 'p4', 'p5'].map((p) => session.managesProject(p))).toEqual([true, true, false, false, false]);
  });
});
