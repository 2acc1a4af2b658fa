import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import * as api from '../api/client';
import type { Me, SessionUser } from '../api/client';

/** Who is signed in. `load()` asks the server once; the router guard uses it before every protected page. */
export const useSessionStore = defineStore('session', () => {
  const me = ref<Me | null>(null);
  const loaded = ref(false);
  let loading: Promise<Me | null> | null = null;

  const user = computed<SessionUser | null>(() => me.value?.user ?? null);
  const signedIn = computed(() => me.value !== null);

  /** Fetches the signed-in user (once, unless `force`); null when there is no session. */
  async function load(force = false): Promise<Me | null> {
    if (loaded.value && !force) return me.value;
    loading ??= api.getMe().finally(() => {
      loading = null;
    });
    const result = await loading;
    me.value = result;
    loaded.value = true;
    return result;
  }

  async function signIn(email: string, password: string): Promise<void> {
    await api.signIn(email.trim(), password);
    await load(true);
  }

  async function acceptInvitation(token: string, name: string, password: string): Promise<string | null> {
    const result = await api.acceptInvitation(token, name.trim(), password);
    await load(true);
    return result.projectId;
  }

  async function signOut(): Promise<void> {
    try {
      await api.signOut();
    } finally {
      me.value = null;
      loaded.value = true;
    }
  }

  /** After a 401: the session ended (expired, signed out elsewhere). */
  function forget(): void {
    me.value = null;
    loaded.value = true;
  }

  /**
   * Owners and engineers: the roles the server lets write heuristics, run weak supervision and export
   * (`project:heuristics:write`, `project:manage`). Pages use it only to show controls read only; the
   * server enforces the roles either way.
   */
  function managesProject(projectId: string): boolean {
    const role = me.value?.memberships.find((m) => m.projectId === projectId)?.role;
    return role === 'owner' || role === 'engineer';
  }

  return { me, user, signedIn, loaded, load, signIn, acceptInvitation, signOut, forget, managesProject };
});
