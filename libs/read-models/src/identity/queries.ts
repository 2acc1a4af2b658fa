import { normalizeEmail, type PasswordHash, type ProjectRoleName, type SqlExecutor } from '@refinery/events';

export interface UserRecord {
  id: string;
  email: string;
  displayName: string;
  /** null for accounts of an external identity provider */
  passwordHash: PasswordHash | null;
  admin: boolean;
  createdAt: string;
}

/** What may be shown about a user to other people (never the password hash). */
export type UserView = Omit<UserRecord, 'passwordHash'>;

interface UserRow {
  id: string;
  email: string;
  display_name: string;
  password_hash: PasswordHash | string | null;
  admin: boolean;
  created_at: string | Date;
}

const iso = (v: string | Date) => new Date(v).toISOString();
const isoOrNull = (v: string | Date | null) => (v === null ? null : iso(v));

function toUser(row: UserRow): UserRecord {
  const hash = typeof row.password_hash === 'string' ? (JSON.parse(row.password_hash) as PasswordHash) : row.password_hash;
  return { id: row.id, email: row.email, displayName: row.display_name, passwordHash: hash, admin: row.admin, createdAt: iso(row.created_at) };
}

export function publicUser(user: UserRecord): UserView {
  const { passwordHash: _omitted, ...view } = user;
  return view;
}

const USER = 'select id::text, email, display_name, password_hash, admin, created_at from rm_users';

export async function findUserByEmail(sql: SqlExecutor, email: string): Promise<UserRecord | undefined> {
  const r = await sql.query<UserRow>(`${USER} where email_normalized = $1`, [normalizeEmail(email)]);
  return r.rows[0] ? toUser(r.rows[0]) : undefined;
}

export async function getUser(sql: SqlExecutor, userId: string): Promise<UserRecord | undefined> {
  const r = await sql.query<UserRow>(`${USER} where id = $1`, [userId]);
  return r.rows[0] ? toUser(r.rows[0]) : undefined;
}

/** The first site administrator (the owner created on first start), if any. */
export async function firstAdmin(sql: SqlExecutor): Promise<UserRecord | undefined> {
  const r = await sql.query<UserRow>(`${USER} where admin order by created_at, id limit 1`);
  return r.rows[0] ? toUser(r.rows[0]) : undefined;
}

export interface ApiTokenView {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

interface TokenRow {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  created_at: string | Date;
  expires_at: string | Date | null;
  revoked_at: string | Date | null;
}

const TOKEN = 'select id::text, user_id::text, name, prefix, created_at, expires_at, revoked_at from rm_api_tokens';

function toToken(row: TokenRow): ApiTokenView {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: row.prefix,
    createdAt: iso(row.created_at),
    expiresAt: isoOrNull(row.expires_at),
    revokedAt: isoOrNull(row.revoked_at),
  };
}

export async function findApiTokenByHash(sql: SqlExecutor, tokenHash: string): Promise<ApiTokenView | undefined> {
  const r = await sql.query<TokenRow>(`${TOKEN} where token_hash = $1`, [tokenHash]);
  return r.rows[0] ? toToken(r.rows[0]) : undefined;
}

export async function getApiToken(sql: SqlExecutor, tokenId: string): Promise<ApiTokenView | undefined> {
  const r = await sql.query<TokenRow>(`${TOKEN} where id = $1`, [tokenId]);
  return r.rows[0] ? toToken(r.rows[0]) : undefined;
}

/** A user's tokens, newest first (revoked ones included, marked). */
export async function listApiTokens(sql: SqlExecutor, userId: string): Promise<ApiTokenView[]> {
  const r = await sql.query<TokenRow>(`${TOKEN} where user_id = $1 order by created_at desc, id`, [userId]);
  return r.rows.map(toToken);
}

export interface InvitationView {
  id: string;
  email: string;
  projectId: string | null;
  role: ProjectRoleName | null;
  invitedBy: string;
  createdAt: string;
  expiresAt: string;
  acceptedBy: string | null;
  acceptedAt: string | null;
}

interface InvitationRow {
  id: string;
  email: string;
  project_id: string | null;
  role: ProjectRoleName | null;
  invited_by: string;
  created_at: string | Date;
  expires_at: string | Date;
  accepted_by: string | null;
  accepted_at: string | Date | null;
}

export async function findInvitationByTokenHash(sql: SqlExecutor, tokenHash: string): Promise<InvitationView | undefined> {
  const r = await sql.query<InvitationRow>(
    `select id::text, email, project_id::text, role, invited_by, created_at, expires_at, accepted_by::text, accepted_at
     from rm_invitations where token_hash = $1`,
    [tokenHash],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    email: row.email,
    projectId: row.project_id,
    role: row.role,
    invitedBy: row.invited_by,
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    acceptedBy: row.accepted_by,
    acceptedAt: isoOrNull(row.accepted_at),
  };
}

// --- memberships ---------------------------------------------------------------------------

export async function memberRole(sql: SqlExecutor, projectId: string, userId: string): Promise<ProjectRoleName | undefined> {
  const r = await sql.query<{ role: ProjectRoleName }>('select role from rm_memberships where project_id = $1 and user_id = $2', [projectId, userId]);
  return r.rows[0]?.role;
}

/** projectId -> role for every project the user is a member of. */
export async function membershipsOfUser(sql: SqlExecutor, userId: string): Promise<Map<string, ProjectRoleName>> {
  const r = await sql.query<{ project_id: string; role: ProjectRoleName }>('select project_id::text, role from rm_memberships where user_id = $1', [userId]);
  return new Map(r.rows.map((row) => [row.project_id, row.role]));
}

export interface MemberView {
  userId: string;
  email: string | null;
  displayName: string | null;
  role: ProjectRoleName;
  addedAt: string;
}

/** Members of a project, oldest first, with their name and e-mail when the account is projected. */
export async function listMembers(sql: SqlExecutor, projectId: string): Promise<MemberView[]> {
  const r = await sql.query<{ user_id: string; email: string | null; display_name: string | null; role: ProjectRoleName; added_at: string | Date }>(
    `select m.user_id::text, u.email, u.display_name, m.role, m.added_at
     from rm_memberships m left join rm_users u on u.id = m.user_id
     where m.project_id = $1 order by m.added_at, m.user_id`,
    [projectId],
  );
  return r.rows.map((row) => ({ userId: row.user_id, email: row.email, displayName: row.display_name, role: row.role, addedAt: iso(row.added_at) }));
}
