import type { SqlExecutor } from '@refinery/events';
import { csrfTokenFor, generateSessionId, hashSessionId } from './tokens.ts';

/**
 * Browser sessions: short-lived, high-churn state that is not worth an event each, kept in a
 * table beside the read models. Only the SHA-256 of a session id is stored, so a copy of the
 * table does not let anyone sign in.
 */
export const SESSIONS_SCHEMA = `
create table if not exists auth_sessions (
  id_hash     text primary key,
  user_id     uuid not null,
  created_at  timestamptz not null,
  expires_at  timestamptz not null,
  user_agent  text,
  ip          text
);
create index if not exists auth_sessions_user on auth_sessions (user_id);
create index if not exists auth_sessions_expires on auth_sessions (expires_at);
`;

export interface NewSession {
  /** goes into the HttpOnly cookie and nowhere else */
  sessionId: string;
  csrfToken: string;
  expiresAt: Date;
}

export interface SessionRecord {
  userId: string;
  createdAt: Date;
  expiresAt: Date;
}

export class SessionStore {
  constructor(
    private readonly sql: SqlExecutor,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async migrate(): Promise<void> {
    await this.sql.exec(SESSIONS_SCHEMA);
  }

  async create(userId: string, ttlMs: number, client: { userAgent?: string | undefined; ip?: string | undefined } = {}): Promise<NewSession> {
    const sessionId = generateSessionId();
    const createdAt = this.now();
    const expiresAt = new Date(createdAt.getTime() + ttlMs);
    await this.sql.query('insert into auth_sessions (id_hash, user_id, created_at, expires_at, user_agent, ip) values ($1, $2, $3, $4, $5, $6)', [
      hashSessionId(sessionId),
      userId,
      createdAt.toISOString(),
      expiresAt.toISOString(),
      client.userAgent?.slice(0, 500) ?? null,
      client.ip ?? null,
    ]);
    return { sessionId, csrfToken: csrfTokenFor(sessionId), expiresAt };
  }

  /** The live session with this id, or undefined when unknown or expired. */
  async find(sessionId: string): Promise<SessionRecord | undefined> {
    const r = await this.sql.query<{ user_id: string; created_at: string | Date; expires_at: string | Date }>(
      'select user_id::text, created_at, expires_at from auth_sessions where id_hash = $1 and expires_at > $2',
      [hashSessionId(sessionId), this.now().toISOString()],
    );
    const row = r.rows[0];
    return row ? { userId: row.user_id, createdAt: new Date(row.created_at), expiresAt: new Date(row.expires_at) } : undefined;
  }

  async delete(sessionId: string): Promise<void> {
    await this.sql.query('delete from auth_sessions where id_hash = $1', [hashSessionId(sessionId)]);
  }

  /** Signs a user out everywhere (after a password change), except the session making the change. */
  async deleteForUser(userId: string, exceptSessionId?: string): Promise<number> {
    const r = await this.sql.query('delete from auth_sessions where user_id = $1 and id_hash <> $2', [userId, exceptSessionId ? hashSessionId(exceptSessionId) : '']);
    return r.rowCount;
  }

  async deleteExpired(): Promise<number> {
    const r = await this.sql.query('delete from auth_sessions where expires_at <= $1', [this.now().toISOString()]);
    return r.rowCount;
  }
}
