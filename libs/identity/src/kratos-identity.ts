import { emailAddress, userStreamId, WrongExpectedRevisionError, type UserRegistered } from '@refinery/events';
import { DomainError } from '@refinery/domain';
import type { UserRecord } from '@refinery/read-models';
import { KratosClient, type KratosLinks, type KratosSession } from './kratos.ts';
import { header, type AuthRequest, type Authentication } from './provider.ts';
import { BuiltInIdentity, claimEmail, IDENTITY_VIEWS, type BootstrapResult, type BuiltInIdentityOptions, type ClientInfo, type SignedIn } from './service.ts';
import { csrfTokenFor, sha256Hex, uuidFromHash } from './tokens.ts';

export interface KratosIdentityOptions extends BuiltInIdentityOptions {
  kratos: KratosClient;
  /** REFINERY_ADMIN_TOKEN: seeded for the first administrator once the first identity registered */
  adminToken?: string | undefined;
}

/** The refinery user id of a Kratos identity: derived, so concurrent first requests register one user. */
export function userIdOfKratosIdentity(identityId: string): string {
  return uuidFromHash(sha256Hex(`kratos-identity:${identityId}`));
}

/** A browser session's display expiry when Kratos names none. */
const FAR_MS = 14 * 24 * 3600_000;

/**
 * Ory Kratos owns who people are (sign-up, sign-in, passwords, sessions, recovery); refinery owns
 * users, memberships, roles and API tokens, all still events in its log.
 *
 * - `Authorization: Bearer rfy_…` is refinery's own API token, exactly as with built-in accounts.
 * - Otherwise the request's `X-Session-Token` or `Cookie` (without refinery's cookies) is checked
 *   with Kratos' `GET /sessions/whoami`; the identity maps to the user `userIdOfKratosIdentity(id)`,
 *   registered once as `UserRegistered { origin: 'external', passwordHash: null }`. The first
 *   registered identity on a log without an administrator becomes the site administrator.
 * - Resolved credentials are cached like built-in ones (auth cache, 2 s by default, never past
 *   the Kratos session's `expires_at`). Kratos unreachable → `IdentityProviderUnavailableError`.
 * - Password sign-in, password changes and invitations answer 409 `accounts_managed_by_kratos`
 *   with the Kratos self-service links.
 */
export class KratosIdentity extends BuiltInIdentity {
  override readonly name: string = 'kratos';
  readonly kratos: KratosClient;
  private readonly adminToken: string | undefined;
  /** registrations of this process, one after another (the first-administrator decision reads the log) */
  private registering: Promise<unknown> = Promise.resolve();

  constructor(options: KratosIdentityOptions) {
    super(options);
    this.kratos = options.kratos;
    this.adminToken = options.adminToken;
  }

  override accountsManagedBy(): KratosLinks {
    return this.kratos.links;
  }

  override async authenticate(req: AuthRequest): Promise<Authentication | undefined> {
    const authorization = header(req, 'authorization');
    if (authorization !== undefined) {
      // refinery's own API tokens (CLI, SDKs): no fallback to the Kratos cookie, as with built-in sessions
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      return match ? this.authenticateToken(match[1]!) : undefined;
    }
    const credential = this.kratos.credential(req);
    if (!credential) return undefined;
    const key = `k:${KratosClient.credentialHash(credential)}`;
    const hit = this.authCache.credential(key, this.now().getTime());
    if (hit) return this.withSession(hit.auth, hit.externalSessionId, hit.expiresAtMs);
    const generation = this.authCache.generation;
    const session = await this.kratos.whoami(credential);
    if (!session || session.expiresAtMs <= this.now().getTime()) return undefined;
    const user = await this.userFor(session);
    const auth: Omit<Authentication, 'session'> = { userId: user.id, displayName: user.displayName, email: user.email, admin: user.admin, method: 'external' };
    const externalSessionId = session.via === 'cookie' ? session.sessionId : undefined;
    this.authCache.putCredential(key, { auth, expiresAtMs: session.expiresAtMs, ...(externalSessionId ? { externalSessionId } : {}) }, generation);
    return this.withSession(auth, externalSessionId, session.expiresAtMs);
  }

  /**
   * A cookie (browser) session gets `session` with a CSRF token derived from the Kratos session
   * id, so unsafe requests must echo it like built-in sessions; X-Session-Token callers carry no
   * ambient credentials and get none.
   */
  private withSession(auth: Omit<Authentication, 'session'>, sessionId: string | undefined, expiresAtMs: number): Authentication {
    if (!sessionId) return { ...auth };
    const id = `kratos:${sessionId}`;
    const expiresAt = new Date(Number.isFinite(expiresAtMs) ? expiresAtMs : this.now().getTime() + FAR_MS);
    return { ...auth, session: { id, csrfToken: csrfTokenFor(id), expiresAt } };
  }

  /** The refinery user of a Kratos identity, registered on its first request. */
  private async userFor(session: KratosSession): Promise<UserRecord> {
    const userId = userIdOfKratosIdentity(session.identityId);
    const known = await this.getUser(userId);
    if (known) return known;
    const run = this.registering.then(() => this.register(userId, session));
    this.registering = run.catch(() => undefined);
    return run;
  }

  private async register(userId: string, session: KratosSession): Promise<UserRecord> {
    const logged = await this.registeredInLog(userId);
    if (logged) return logged;
    const email = session.email && emailAddress.safeParse(session.email).success ? session.email.trim() : `${session.identityId}@kratos.invalid`;
    const displayName = (session.displayName ?? email.split('@')[0] ?? 'user').trim().slice(0, 100) || 'user';
    // The first account of an empty install administers the site, as the built-in first start's owner.
    const admin = (await this.firstAdminInLog()) === undefined;
    const data: UserRegistered['data'] = { userId, email, displayName, passwordHash: null, admin, origin: 'external', invitationId: null };
    let position: string;
    try {
      position = (
        await this.store.transaction(async (log) => {
          await claimEmail(log, userId, email);
          return log.append(userStreamId(userId), [{ type: 'UserRegistered', data }], { actor: userId, expectedRevision: 'no_stream' });
        })
      ).position;
    } catch (err) {
      // another API process registered this identity at the same moment
      const raced = await this.registeredInLog(userId);
      if (raced) return raced;
      if (err instanceof DomainError && err.code === 'email_taken') {
        throw new DomainError(
          'conflict',
          'external_identity_email_taken',
          `the e-mail address ${email} of this Kratos identity already belongs to another refinery account; an administrator has to resolve it (docs/identity.md, "Ory Kratos")`,
          { email, provider: 'kratos' },
        );
      }
      if (err instanceof WrongExpectedRevisionError) throw new Error(`registering Kratos identity ${session.identityId} raced and left no user`);
      throw err;
    }
    this.log(`identity: Kratos identity ${session.identityId} registered as user ${userId}${admin ? ' (site administrator: the first account of this install)' : ''}`);
    await this.reached(position, IDENTITY_VIEWS);
    if (admin && this.adminToken) await this.seedAdminToken(userId, this.adminToken).then((r) => (r.position ? this.reached(r.position, IDENTITY_VIEWS) : undefined));
    return { id: userId, email, displayName, passwordHash: null, admin, createdAt: this.now().toISOString() };
  }

  private async registeredInLog(userId: string): Promise<UserRecord | undefined> {
    const events = await this.store.readStream(userStreamId(userId), { limit: 1 });
    const first = events[0];
    if (!first || first.type !== 'UserRegistered') return undefined;
    const d = (first as unknown as UserRegistered).data;
    return { id: d.userId, email: d.email, displayName: d.displayName, passwordHash: null, admin: d.admin, createdAt: first.meta.at };
  }

  /** No password owner is created: the first Kratos identity to sign in becomes the administrator. */
  override async bootstrap(options: { ownerEmail: string; ownerPassword?: string | undefined; adminToken?: string | undefined }): Promise<BootstrapResult> {
    const result = await super.bootstrap({ ...options, createOwner: false });
    return { ...result, kratos: { signInUrl: this.kratos.links.signInUrl, administratorExists: (await this.firstAdminInLog()) !== undefined } };
  }

  override signOut(sessionId: string): Promise<void> {
    // The Kratos session ends at Kratos (links.logoutUrl); forget what this process cached of it.
    const id = sessionId.startsWith('kratos:') ? sessionId.slice('kratos:'.length) : sessionId;
    this.authCache.dropCredentialsWhere((c) => c.externalSessionId === id);
    return Promise.resolve();
  }

  private managed(what: string): DomainError {
    const links = this.kratos.links;
    return new DomainError('conflict', 'accounts_managed_by_kratos', `${what} is Ory Kratos' business on this install: use ${links.signInUrl} (sign in), ${links.settingsUrl} (password)`, { ...links });
  }

  override signIn(_email: string, _password: string, _client?: ClientInfo): Promise<SignedIn> {
    return Promise.reject(this.managed('signing in with a password'));
  }

  override changePassword(): Promise<{ position: string }> {
    return Promise.reject(this.managed('changing the password'));
  }

  override invite(): Promise<{ invitationId: string; token: string; expiresAt: string; position: string }> {
    return Promise.reject(this.managed('inviting by e-mail (accounts come from Kratos: add people as members after their first sign-in)'));
  }

  override acceptInvitation(): Promise<SignedIn & { projectId: string | null; position: string }> {
    return Promise.reject(this.managed('creating an account'));
  }
}
