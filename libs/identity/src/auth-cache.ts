import type { Role } from '@refinery/domain';
import type { Authentication } from './provider.ts';

/** What a credential resolved to: the caller (without the per-request session part). */
export interface CachedCredential {
  auth: Omit<Authentication, 'session'>;
  /** the credential's own end (session expiry, token expiry); checked on every hit */
  expiresAtMs: number;
  /** an external (Kratos) browser session: its id, from which the CSRF token is derived */
  externalSessionId?: string;
}

/**
 * The share of the TTL after which a hit asks for a background read: late enough that a token in
 * steady use is read about once per TTL, early enough that some request comes before the end.
 */
const REFRESH_AHEAD_AT = 0.75;

interface Entry<T> {
  value: T;
  /** monotonic time (performance.now) after which the entry is not used */
  until: number;
  /** monotonic time after which a hit asks for a read in the background (`…Due`) */
  refreshAt: number;
}

/**
 * A short-lived, per-process cache of what authentication reads on every request: credential
 * (token hash / session hash) → user, and (project, user) → role. Without it every API request
 * pays 3 statements before its handler runs (docs/identity.md, "Authentication cache").
 *
 * Staleness is bounded twice: each entry lives at most `ttlMs` (monotonic clock, so a test clock
 * that stands still does not pin entries), and the process that revokes a token, ends a session,
 * changes a password or a membership drops the affected entries at once. Other API processes
 * see such a change after at most `ttlMs`. Only positive answers are cached: an unknown
 * credential or a missing role is always read again (and a grant shows at once).
 *
 * Refresh ahead: past 3/4 of its TTL an entry is still used, but the hit is `due` — the caller
 * reads it again in the background and puts (or drops) the answer. A credential in steady use
 * is then never read on a request's path (the reads used to land on every request that found
 * its entry just expired: the slowest tenth of label writes under load), and the bound on
 * staleness stays `ttlMs`.
 */
export class AuthCache {
  private readonly credentials = new Map<string, Entry<CachedCredential>>();
  private readonly roles = new Map<string, Entry<Role>>();
  /**
   * Bumped by every invalidation. A read that started before one must not put its (possibly
   * stale) answer back: callers take `generation` before reading and pass it to `put…`.
   */
  private gen = 0;

  constructor(
    readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  get generation(): number {
    return this.gen;
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  credential(key: string, nowMs: number): CachedCredential | undefined {
    const hit = this.get(this.credentials, key);
    if (hit && hit.expiresAtMs <= nowMs) {
      this.credentials.delete(key);
      return undefined;
    }
    return hit;
  }

  /** The credential is cached and past the point where it should be read again. */
  credentialDue(key: string): boolean {
    return this.due(this.credentials, key);
  }

  putCredential(key: string, value: CachedCredential, generation: number): void {
    if (generation === this.gen) this.put(this.credentials, key, value);
  }

  role(projectId: string, userId: string): Role | undefined {
    return this.get(this.roles, `${projectId}|${userId}`);
  }

  roleDue(projectId: string, userId: string): boolean {
    return this.due(this.roles, `${projectId}|${userId}`);
  }

  putRole(projectId: string, userId: string, role: Role, generation: number): void {
    if (generation === this.gen) this.put(this.roles, `${projectId}|${userId}`, role);
  }

  /** A background read found no role any more. */
  dropRole(projectId: string, userId: string): void {
    this.gen++;
    this.roles.delete(`${projectId}|${userId}`);
  }

  dropCredential(key: string): void {
    this.gen++;
    this.credentials.delete(key);
  }

  /** Drops every cached credential matching (all sessions of a user, one token by id). */
  dropCredentialsWhere(match: (value: CachedCredential) => boolean): void {
    this.gen++;
    for (const [key, entry] of this.credentials) if (match(entry.value)) this.credentials.delete(key);
  }

  /** A membership of the project changed: drop every cached role in it. */
  dropProject(projectId: string): void {
    this.gen++;
    const prefix = `${projectId}|`;
    for (const key of this.roles.keys()) if (key.startsWith(prefix)) this.roles.delete(key);
  }

  clear(): void {
    this.gen++;
    this.credentials.clear();
    this.roles.clear();
  }

  private get<T>(map: Map<string, Entry<T>>, key: string): T | undefined {
    if (!this.enabled) return undefined;
    const entry = map.get(key);
    if (!entry) return undefined;
    if (entry.until <= this.monotonic()) {
      map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  private due<T>(map: Map<string, Entry<T>>, key: string): boolean {
    const entry = map.get(key);
    return entry !== undefined && entry.refreshAt <= this.monotonic();
  }

  private put<T>(map: Map<string, Entry<T>>, key: string, value: T): void {
    if (!this.enabled) return;
    // Bounded memory: when full, forget everything (entries are cheap to read again).
    if (map.size >= this.maxEntries) map.clear();
    const now = this.monotonic();
    map.set(key, { value, until: now + this.ttlMs, refreshAt: now + this.ttlMs * REFRESH_AHEAD_AT });
  }
}
