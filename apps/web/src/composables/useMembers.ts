import { ref } from 'vue';
import { request } from '../api/client';
import { ApiError } from '../api/errors';

export const PROJECT_ROLES = ['owner', 'engineer', 'expert', 'annotator'] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

export interface Member {
  userId: string;
  email: string | null;
  displayName: string | null;
  role: ProjectRole;
  addedAt: string;
}

export interface Invitation {
  email: string;
  link: string;
  expiresAt: string;
}

// The shared client: CSRF header, error shape, sign-in redirect on 401.
const call = <T>(method: string, path: string, body?: unknown): Promise<T> => request<T>(method, path, body === undefined ? {} : { body });

const toError = (e: unknown) => (e instanceof ApiError ? e : new ApiError({ code: 'network_error', message: e instanceof Error ? e.message : String(e), status: 0 }));

/**
 * A project's members: list, change a role, remove, invite by e-mail. The server decides who may
 * (owners and engineers; only owners touch the owner role): refusals arrive as `error`.
 */
export function useMembers(projectId: () => string) {
  const members = ref<Member[]>([]);
  const loading = ref(false);
  const error = ref<ApiError | null>(null);
  const lastInvitation = ref<Invitation | null>(null);
  let after: string | undefined;
  const base = () => `/api/projects/${encodeURIComponent(projectId())}`;

  async function load(): Promise<void> {
    loading.value = true;
    try {
      const query = after ? `?after=${encodeURIComponent(after)}` : '';
      members.value = (await call<{ members: Member[] }>('GET', `${base()}/members${query}`)).members;
      error.value = null;
    } catch (e) {
      error.value = toError(e);
    } finally {
      loading.value = false;
    }
  }

  async function run(work: () => Promise<{ position?: string } | undefined>): Promise<boolean> {
    try {
      const r = await work();
      if (r?.position) after = r.position;
      error.value = null;
      await load();
      return true;
    } catch (e) {
      error.value = toError(e);
      return false;
    }
  }

  const changeRole = (userId: string, role: ProjectRole) => run(() => call('PATCH', `${base()}/members/${encodeURIComponent(userId)}`, { role }));
  const remove = (userId: string) => run(() => call('DELETE', `${base()}/members/${encodeURIComponent(userId)}`));
  const invite = (email: string, role: ProjectRole) =>
    run(async () => {
      const r = await call<{ link: string; expiresAt: string; position: string }>('POST', '/api/invitations', { email, projectId: projectId(), role });
      lastInvitation.value = { email, link: new URL(r.link, window.location.origin).toString(), expiresAt: r.expiresAt };
      return r;
    });

  return { members, loading, error, lastInvitation, load, changeRole, remove, invite };
}
