/**
 * Who may do what. Every API route declares one `Permission`; the server resolves the caller
 * and, for `project:*` permissions, the caller's role in that project, then asks `allowed`.
 * Pure and shared: the web app may `import type` these to hide what a role cannot do.
 */

/** Roles in a project, from most to least powerful. */
export const ROLES = ['owner', 'engineer', 'expert', 'annotator'] as const;
export type Role = (typeof ROLES)[number];

/** Permissions that do not depend on a project. */
export const SITE_PERMISSIONS = ['public', 'authenticated'] as const;
/**
 * Permissions inside one project (the route has a `:id` or `:projectId` path parameter):
 * - `project:read`             see the project, its records and its members
 * - `project:label`            label records (annotators: the records assigned to them)
 * - `project:gold`             resolve conflicting labels into gold labels
 * - `project:heuristics:read`  see heuristics, their runs and weak-supervision results
 * - `project:heuristics:write` create, edit, run and delete heuristics
 * - `project:manage`           rename, delete, import, labeling tasks and labels, settings
 * - `project:members`          invite, add, change and remove members
 */
export const PROJECT_PERMISSIONS = [
  'project:read',
  'project:label',
  'project:gold',
  'project:heuristics:read',
  'project:heuristics:write',
  'project:manage',
  'project:members',
] as const;

export type SitePermission = (typeof SITE_PERMISSIONS)[number];
export type ProjectPermission = (typeof PROJECT_PERMISSIONS)[number];
export type Permission = SitePermission | ProjectPermission;

export const PERMISSIONS: readonly Permission[] = [...SITE_PERMISSIONS, ...PROJECT_PERMISSIONS];

/** The matrix, written out so it can be read (and reviewed) at a glance. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly ProjectPermission[]>> = {
  owner: ['project:read', 'project:label', 'project:gold', 'project:heuristics:read', 'project:heuristics:write', 'project:manage', 'project:members'],
  engineer: ['project:read', 'project:label', 'project:gold', 'project:heuristics:read', 'project:heuristics:write', 'project:manage', 'project:members'],
  expert: ['project:read', 'project:label', 'project:gold', 'project:heuristics:read'],
  annotator: ['project:read', 'project:label'],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isProjectPermission(permission: Permission): permission is ProjectPermission {
  return permission.startsWith('project:');
}

/**
 * The caller as far as authorization is concerned: a role in the route's project, `signed-in`
 * (authenticated, but not a member of that project, or the route has no project) or `anonymous`
 * (no credentials).
 */
export type Subject = Role | 'signed-in' | 'anonymous';
export const SUBJECTS: readonly Subject[] = ['anonymous', 'signed-in', ...ROLES];

/**
 * The one authorization decision. `public` admits anyone; `authenticated` any signed-in user;
 * a project permission only a member whose role has it (a non-member never, whatever site flags say).
 */
export function allowed(subject: Subject, permission: Permission): boolean {
  if (permission === 'public') return true;
  if (subject === 'anonymous') return false;
  if (permission === 'authenticated') return true;
  return subject !== 'signed-in' && ROLE_PERMISSIONS[subject].includes(permission);
}

/** Why a caller is refused: 401 `unauthenticated` without credentials, 403 `forbidden` otherwise; undefined when allowed. */
export function refusal(subject: Subject, permission: Permission): 'unauthenticated' | 'forbidden' | undefined {
  if (allowed(subject, permission)) return undefined;
  return subject === 'anonymous' ? 'unauthenticated' : 'forbidden';
}
