import { randomUUID } from 'node:crypto';
import {
  apiTokenStreamId,
  invitationStreamId,
  membershipStreamId,
  normalizeEmail,
  projectStreamId,
  START,
  formatPosition,
  userEmailStreamId,
  userStreamId,
  WrongExpectedRevisionError,
  type Appender,
  type EventStore,
  type InvitationEvent,
  type MembershipEvent,
  type ProjectEvent,
  type Recorded,
  type SqlExecutor,
  type UserRegistered,
} from '@refinery/events';
import {
  DomainError,
  fold,
  invitationDecider,
  membershipDecider,
  projectDecider,
  type MembershipCommand,
  type Role,
} from '@refinery/domain';
import type { CatchUpWaiter } from '@refinery/projector';
import {
  findApiTokenByHash,
  findInvitationByTokenHash,
  findUserByEmail,
  getApiToken,
  getUser,
  listApiTokens,
  memberRole,
  membershipsOfUser,
  publicUser,
  type ApiTokenView,
  type InvitationView,
  type UserRecord,
  type UserView,
} from '@refinery/read-models';
import { AuthCache } from './auth-cache.ts';
import { parseCookies, SESSION_COOKIE } from './cookies.ts';
import { header, type AuthRequest, type Authentication, type IdentityProvider } from './provider.ts';
import { DEFAULT_SCRYPT, generatePassword, hashPassword, needsRehash, passwordProblem, verifyAgainstDummy, verifyPassword, type ScryptParams } from './password.ts';
import { FailureRateLimiter } from './rate-limit.ts';
import type { KratosLinks } from './kratos.ts';
import { SessionStore, type NewSession } from './sessions.ts';
import {
  csrfTokenFor,
  generateApiToken,
  generateInvitationToken,
  hashApiToken,
  hashInvitationToken,
  isInvitationTokenFormat,
  hashSessionId,
  isSessionIdFormat,
  sha256Hex,
  tokenDisplayPrefix,
  uuidFromHash,
} from './tokens.ts';

/** Refusals that are about credentials rather than the domain: the API answers 401 / 429. */
export class AuthenticationError extends Error {
  constructor(
    readonly code: 'invalid_credentials' | 'rate_limited',
    message: string,
    readonly retryAfterSeconds = 0,
  ) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

export interface BuiltInIdentityOptions {
  db: SqlExecutor;
  store: EventStore;
  /** read-your-writes for the identity and membership read models */
  waiter: CatchUpWaiter;
  /** absolute lifetime of a browser session (default 14 days) */
  sessionTtlMs?: number;
  /** lifetime of an invitation link (default 7 days) */
  invitationTtlMs?: number;
  /** longest a command waits for its effect to reach the read models (default 10 s) */
  readWaitMs?: number;
  /** longest a failed lookup waits for the read models to catch up with the log before giving up (default: readWaitMs) */
  lookupWaitMs?: number;
  /** sign-in failures per e-mail + client address and window (default 5 per minute) */
  signInLimiter?: FailureRateLimiter;
  scrypt?: ScryptParams;
  /**
   * How long this process reuses a resolved credential (token / session → user) and a project
   * role without reading them again (default 2000 ms, 0 = off). Changes made through this
   * process drop the affected entries at once; other processes see them after at most this long.
   */
  authCacheTtlMs?: number;
  clock?: () => Date;
  log?: (message: string) => void;
}

export interface SignedIn {
  user: UserView;
  session: NewSession;
}

export interface ClientInfo {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

export interface BootstrapResult {
  /** set when this start created the first owner; `password` is undefined when it came from the environment */
  createdOwner?: { userId: string; email: string; password: string | undefined };
  /** the owner of a REFINERY_ADMIN_TOKEN: seeded now (`created`) or already there */
  adminToken?: 'created' | 'exists' | 'revoked';
  /** Ory Kratos owns the accounts: where to sign in, and whether the first administrator exists yet */
  kratos?: { signInUrl: string; administratorExists: boolean };
}

export const IDENTITY_VIEWS: readonly string[] = ['identity'];
const MEMBERSHIP_VIEWS = ['memberships'];

/**
 * The built-in identity provider: accounts as events with scrypt password hashes, cookie
 * sessions in a table, personal API tokens and invitation links stored as SHA-256 hashes.
 */
export class BuiltInIdentity implements IdentityProvider {
  readonly name: string = 'built-in';
  readonly sessions: SessionStore;
  readonly signInLimiter: FailureRateLimiter;
  readonly sessionTtlMs: number;
  readonly authCache: AuthCache;
  private readonly invitationTtlMs: number;
  private readonly readWaitMs: number;
  private readonly lookupWaitMs: number;
  private readonly scrypt: ScryptParams;
  protected readonly now: () => Date;
  protected readonly log: (message: string) => void;

  constructor(private readonly options: BuiltInIdentityOptions) {
    this.now = options.clock ?? (() => new Date());
    this.sessions = new SessionStore(options.db, this.now);
    this.signInLimiter = options.signInLimiter ?? new FailureRateLimiter(5, 60_000, () => this.now().getTime());
    this.sessionTtlMs = options.sessionTtlMs ?? 14 * 24 * 3600_000;
    this.invitationTtlMs = options.invitationTtlMs ?? 7 * 24 * 3600_000;
    this.readWaitMs = options.readWaitMs ?? 10_000;
    // Only a lookup that fails while the read model is behind the log waits; when it is caught up
    // the wait ends at once, so unknown credentials cost one checkpoint query, not this long.
    this.lookupWaitMs = options.lookupWaitMs ?? this.readWaitMs;
    this.scrypt = options.scrypt ?? DEFAULT_SCRYPT;
    this.authCache = new AuthCache(options.authCacheTtlMs ?? 2000);
    this.log = options.log ?? (() => undefined);
  }

  protected get db() {
    return this.options.db;
  }
  protected get store() {
    return this.options.store;
  }

  /** Who owns sign-in and passwords when it is not refinery (Ory Kratos: its self-service links). */
  accountsManagedBy(): KratosLinks | undefined {
    return undefined;
  }

  async migrate(): Promise<void> {
    await this.sessions.migrate();
  }

  // --- consistency ---------------------------------------------------------------------------

  /** Waits (bounded) until the read models include a command's write. */
  protected async reached(position: string, projections: readonly string[]): Promise<void> {
    const r = await this.options.waiter.waitFor(position, projections, this.readWaitMs);
    if (!r.caughtUp) this.log(`identity: read models ${projections.join(', ')} did not reach ${position} within ${this.readWaitMs} ms`);
  }

  /**
   * Reads from a read model; when the answer is negative and the read model is behind the log,
   * waits for it to catch up and reads again. Grants (a new account, token or membership) are
   * thereby visible right after the command, on every API process, without a read on the happy path.
   */
  protected async fresh<T>(projections: readonly string[], read: () => Promise<T>, satisfied: (value: T) => boolean): Promise<T> {
    const first = await read();
    if (satisfied(first)) return first;
    // The newest committed event, not head(): head() stops below any transaction still open on the
    // cluster, and a grant committed after it (a new project's membership) would be missed.
    const newest = this.store.newestCommitted ? await this.store.newestCommitted() : await this.store.head();
    await this.options.waiter.waitFor(newest, projections, this.lookupWaitMs);
    return read();
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    return this.fresh(IDENTITY_VIEWS, () => getUser(this.db, userId), (u) => u !== undefined);
  }

  async findUserByEmail(email: string): Promise<UserRecord | undefined> {
    return this.fresh(IDENTITY_VIEWS, () => findUserByEmail(this.db, email), (u) => u !== undefined);
  }

  /**
   * The user's role in a project. With `atLeast`, a role that does not satisfy it is re-read
   * after the memberships read model caught up (a membership granted a moment ago counts).
   */
  async roleIn(projectId: string, userId: string, satisfied: (role: Role | undefined) => boolean = (r) => r !== undefined): Promise<Role | undefined> {
    const cached = this.authCache.role(projectId, userId);
    // A cached role that does not satisfy is read again: the membership may just have grown.
    if (cached !== undefined && satisfied(cached)) {
      if (this.authCache.roleDue(projectId, userId)) this.refreshRole(projectId, userId);
      return cached;
    }
    const generation = this.authCache.generation;
    const role = await this.fresh(MEMBERSHIP_VIEWS, () => memberRole(this.db, projectId, userId), satisfied);
    if (role !== undefined) this.authCache.putRole(projectId, userId, role, generation);
    return role;
  }

  private readonly roleRefreshes = new Set<string>();

  /** Refresh ahead (see AuthCache): reads the role again off the request's path. */
  private refreshRole(projectId: string, userId: string): void {
    const key = `${projectId}|${userId}`;
    if (this.roleRefreshes.has(key)) return;
    this.roleRefreshes.add(key);
    const generation = this.authCache.generation;
    memberRole(this.db, projectId, userId)
      .then((role) => (role === undefined ? this.authCache.dropRole(projectId, userId) : this.authCache.putRole(projectId, userId, role, generation)))
      .catch(() => undefined) // the entry ends at its TTL; the next request reads it then
      .finally(() => this.roleRefreshes.delete(key));
  }

  async projectsOf(userId: string): Promise<Map<string, Role>> {
    return membershipsOfUser(this.db, userId);
  }

  // --- authentication ------------------------------------------------------------------------

  async authenticate(req: AuthRequest): Promise<Authentication | undefined> {
    const authorization = header(req, 'authorization');
    if (authorization !== undefined) {
      // Credentials in the header are the only ones considered: no fallback to the cookie.
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      return match ? this.authenticateToken(match[1]!) : undefined;
    }
    const sessionId = parseCookies(header(req, 'cookie')).get(SESSION_COOKIE);
    if (!sessionId || !isSessionIdFormat(sessionId)) return undefined;
    const key = `s:${hashSessionId(sessionId)}`;
    const nowMs = this.now().getTime();
    const hit = this.authCache.credential(key, nowMs);
    if (hit) return { ...hit.auth, session: { id: sessionId, csrfToken: csrfTokenFor(sessionId), expiresAt: new Date(hit.expiresAtMs) } };
    const generation = this.authCache.generation;
    const session = await this.sessions.find(sessionId);
    if (!session) return undefined;
    const user = await this.getUser(session.userId);
    if (!user) return undefined;
    const auth: Omit<Authentication, 'session'> = { ...identityOf(user), method: 'session' };
    this.authCache.putCredential(key, { auth, expiresAtMs: session.expiresAt.getTime() }, generation);
    return { ...auth, session: { id: sessionId, csrfToken: csrfTokenFor(sessionId), expiresAt: session.expiresAt } };
  }

  protected async authenticateToken(token: string): Promise<Authentication | undefined> {
    if (token.length > 512) return undefined;
    const hash = hashApiToken(token);
    const key = `t:${hash}`;
    const hit = this.authCache.credential(key, this.now().getTime());
    if (hit) {
      // refresh ahead (see AuthCache): a token found revoked or gone is dropped
      if (this.authCache.credentialDue(key)) {
        this.tokenLookup(hash, key).then(
          (auth) => auth === undefined && this.authCache.dropCredential(key),
          () => undefined, // the entry ends at its TTL; the next request reads it then
        );
      }
      return { ...hit.auth };
    }
    const auth = await this.tokenLookup(hash, key);
    return auth && { ...auth };
  }

  /**
   * Requests with the same token that miss together share one lookup: when an entry expired
   * under load, every request in flight used to read the token and user again.
   */
  private tokenLookup(hash: string, key: string): Promise<Authentication | undefined> {
    const generation = this.authCache.generation;
    const flight = `${key}|${generation}`;
    let lookup = this.tokenLookups.get(flight);
    if (!lookup) {
      lookup = this.lookUpToken(hash, key, generation).finally(() => this.tokenLookups.delete(flight));
      this.tokenLookups.set(flight, lookup);
    }
    return lookup;
  }

  private readonly tokenLookups = new Map<string, Promise<Authentication | undefined>>();

  private async lookUpToken(hash: string, key: string, generation: number): Promise<Authentication | undefined> {
    const view = await this.fresh(IDENTITY_VIEWS, () => findApiTokenByHash(this.db, hash), (t) => t !== undefined);
    if (!view || view.revokedAt !== null) return undefined;
    const expiresAtMs = view.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(view.expiresAt);
    if (expiresAtMs <= this.now().getTime()) return undefined;
    const user = await this.getUser(view.userId);
    if (!user) return undefined;
    const auth: Authentication = { ...identityOf(user), method: 'api-token', tokenId: view.id };
    this.authCache.putCredential(key, { auth, expiresAtMs }, generation);
    return { ...auth };
  }

  /** Checks e-mail and password (rate limited per e-mail + client address) and opens a session. */
  async signIn(email: string, password: string, client: ClientInfo = {}): Promise<SignedIn> {
    const key = `${normalizeEmail(email)}|${client.ip ?? '?'}`;
    const wait = this.signInLimiter.retryAfterSeconds(key);
    if (wait > 0) throw new AuthenticationError('rate_limited', `too many failed sign-ins for this account from this address; try again in ${wait} s`, wait);
    const user = await this.findUserByEmail(email);
    const ok = user?.passwordHash ? await verifyPassword(password, user.passwordHash) : await verifyAgainstDummy(password);
    if (!user || !ok) {
      this.signInLimiter.fail(key);
      throw new AuthenticationError('invalid_credentials', 'the e-mail address or the password is wrong');
    }
    this.signInLimiter.reset(key);
    if (user.passwordHash && needsRehash(user.passwordHash, this.scrypt)) {
      await this.store
        .append(userStreamId(user.id), [{ type: 'UserPasswordChanged', data: { userId: user.id, passwordHash: await hashPassword(password, this.scrypt) } }], { actor: user.id })
        .catch((err: unknown) => this.log(`identity: re-hashing the password of ${user.id} failed: ${String(err)}`));
    }
    const session = await this.sessions.create(user.id, this.sessionTtlMs, client);
    return { user: publicUser(user), session };
  }

  async signOut(sessionId: string): Promise<void> {
    await this.sessions.delete(sessionId);
    this.authCache.dropCredential(`s:${hashSessionId(sessionId)}`);
  }

  /** Changes the password after checking the current one; every other session of the user ends. */
  async changePassword(userId: string, currentPassword: string, newPassword: string, keepSessionId?: string): Promise<{ position: string }> {
    const user = await this.getUser(userId);
    if (!user?.passwordHash || !(await verifyPassword(currentPassword, user.passwordHash))) {
      throw new AuthenticationError('invalid_credentials', 'the current password is wrong');
    }
    requireGoodPassword(newPassword, user.email);
    const r = await this.store.append(userStreamId(userId), [{ type: 'UserPasswordChanged', data: { userId, passwordHash: await hashPassword(newPassword, this.scrypt) } }], {
      actor: userId,
    });
    await this.sessions.deleteForUser(userId, keepSessionId);
    this.authCache.dropCredentialsWhere((c) => c.auth.userId === userId && c.auth.method === 'session');
    await this.reached(r.position, IDENTITY_VIEWS);
    return { position: r.position };
  }

  // --- API tokens ----------------------------------------------------------------------------

  async createApiToken(userId: string, name: string, expiresAt: Date | null): Promise<{ token: string; view: ApiTokenView; position: string }> {
    if (expiresAt && expiresAt.getTime() <= this.now().getTime()) {
      throw new DomainError('invalid', 'invalid_expiry', 'the expiry date must be in the future', { expiresAt: expiresAt.toISOString() });
    }
    const token = generateApiToken();
    const tokenId = randomUUID();
    const r = await this.store.append(
      apiTokenStreamId(tokenId),
      [{ type: 'ApiTokenCreated', data: { tokenId, userId, name, tokenHash: hashApiToken(token), prefix: tokenDisplayPrefix(token), expiresAt: expiresAt?.toISOString() ?? null } }],
      { actor: userId, expectedRevision: 'no_stream' },
    );
    await this.reached(r.position, IDENTITY_VIEWS);
    const view = await getApiToken(this.db, tokenId);
    return {
      token,
      position: r.position,
      view: view ?? { id: tokenId, userId, name, prefix: tokenDisplayPrefix(token), createdAt: this.now().toISOString(), expiresAt: expiresAt?.toISOString() ?? null, revokedAt: null },
    };
  }

  listApiTokens(userId: string): Promise<ApiTokenView[]> {
    return listApiTokens(this.db, userId);
  }

  /** Revokes one of the user's own tokens; someone else's token is "not found". */
  async revokeApiToken(userId: string, tokenId: string): Promise<{ position: string }> {
    const view = await this.fresh(IDENTITY_VIEWS, () => getApiToken(this.db, tokenId), (t) => t !== undefined);
    if (!view || view.userId !== userId) throw new DomainError('not_found', 'token_not_found', `you have no API token ${tokenId}`, { tokenId });
    const streamId = apiTokenStreamId(tokenId);
    const events = await this.store.readStream(streamId);
    if (events.some((e) => e.type === 'ApiTokenRevoked')) return { position: await this.store.head() };
    const r = await this.store.append(streamId, [{ type: 'ApiTokenRevoked', data: { tokenId, userId } }], { actor: userId, expectedRevision: BigInt(events.length - 1) });
    // Dropped before and after the read model catches up: a request in between may not re-cache it.
    this.authCache.dropCredentialsWhere((c) => c.auth.tokenId === tokenId);
    await this.reached(r.position, IDENTITY_VIEWS);
    this.authCache.dropCredentialsWhere((c) => c.auth.tokenId === tokenId);
    return { position: r.position };
  }

  // --- invitations ---------------------------------------------------------------------------

  /** Creates an invitation link (authorization is the caller's business). The token is returned once. */
  async invite(actor: string, input: { email: string; projectId: string | null; role: Role | null }): Promise<{ invitationId: string; token: string; expiresAt: string; position: string }> {
    if (await this.findUserByEmail(input.email)) {
      throw new DomainError('conflict', 'user_exists', `${input.email} already has an account: add them to the project as a member instead`, { email: input.email });
    }
    if (input.projectId) await this.requireActiveProject(input.projectId);
    const token = generateInvitationToken();
    const invitationId = randomUUID();
    const expiresAt = new Date(this.now().getTime() + this.invitationTtlMs).toISOString();
    const events = invitationDecider.decide(
      { type: 'InviteUser', invitationId, email: input.email.trim(), tokenHash: hashInvitationToken(token), projectId: input.projectId, role: input.role, expiresAt },
      invitationDecider.initialState,
    );
    const r = await this.store.append(invitationStreamId(invitationId), events, { actor, expectedRevision: 'no_stream' });
    await this.reached(r.position, IDENTITY_VIEWS);
    return { invitationId, token, expiresAt, position: r.position };
  }

  async invitationByToken(token: string): Promise<InvitationView | undefined> {
    if (!isInvitationTokenFormat(token)) return undefined;
    return this.fresh(IDENTITY_VIEWS, () => findInvitationByTokenHash(this.db, hashInvitationToken(token)), (i) => i !== undefined);
  }

  /**
   * Accepting an invitation creates the account (and the membership it offers) in one
   * transaction, and signs the new user in.
   */
  async acceptInvitation(token: string, input: { name: string; password: string }, client: ClientInfo = {}): Promise<SignedIn & { projectId: string | null; position: string }> {
    const invitation = await this.invitationByToken(token);
    if (!invitation) throw new DomainError('not_found', 'invitation_not_found', 'this invitation link is not valid', {});
    requireGoodPassword(input.password, invitation.email);
    const invitationEvents = (await this.store.readStream(invitationStreamId(invitation.id))) as unknown as Recorded<InvitationEvent>[];
    const userId = randomUUID();
    const accepted = invitationDecider.decide(
      { type: 'AcceptInvitation', invitationId: invitation.id, userId, now: this.now().toISOString() },
      fold(invitationDecider, invitationEvents),
    );
    const passwordHash = await hashPassword(input.password, this.scrypt);
    const joinProject = invitation.projectId && invitation.role && (await this.projectIsActive(invitation.projectId)) ? invitation.projectId : null;
    // read before the transaction: on PGlite (one connection) a read outside it would wait for it
    const membership = joinProject ? await this.store.readStream(membershipStreamId(joinProject)) : [];
    const result = await this.store
      .transaction(async (log) => {
        await claimEmail(log, userId, invitation.email);
        await log.append(
          userStreamId(userId),
          [
            {
              type: 'UserRegistered',
              data: { userId, email: invitation.email, displayName: input.name.trim(), passwordHash, admin: false, origin: 'invitation', invitationId: invitation.id },
            },
          ],
          { actor: userId, expectedRevision: 'no_stream' },
        );
        let last = await log.append(invitationStreamId(invitation.id), accepted, { actor: userId, expectedRevision: BigInt(invitationEvents.length - 1) });
        if (joinProject) {
          last = await this.appendMembership(log, { type: 'AddMember', projectId: joinProject, userId, role: invitation.role! }, invitation.invitedBy, membership as Recorded<MembershipEvent>[]);
        }
        return last;
      })
      .catch((err: unknown) => {
        if (err instanceof WrongExpectedRevisionError && err.streamId.startsWith('invitation:')) {
          throw new DomainError('gone', 'invitation_used', 'this invitation has already been accepted', { invitationId: invitation.id });
        }
        throw err;
      });
    await this.reached(result.position, [...IDENTITY_VIEWS, ...MEMBERSHIP_VIEWS]);
    const user = (await getUser(this.db, userId)) ?? {
      id: userId,
      email: invitation.email,
      displayName: input.name.trim(),
      passwordHash,
      admin: false,
      createdAt: this.now().toISOString(),
    };
    const session = await this.sessions.create(userId, this.sessionTtlMs, client);
    return { user: publicUser(user), session, projectId: joinProject, position: result.position };
  }

  // --- membership ----------------------------------------------------------------------------

  /** Runs a membership command against the project's membership stream (authorization is the caller's). */
  async changeMembership(command: MembershipCommand, actor: string): Promise<{ revision: string; position: string }> {
    const r = await this.appendMembership(this.store, command, actor);
    await this.reached(r.position, MEMBERSHIP_VIEWS);
    this.authCache.dropProject(command.projectId);
    return { revision: r.revision.toString(), position: r.position };
  }

  /**
   * Appends a membership command's events with optimistic concurrency. Inside a transaction
   * pass the stream's events read beforehand (`past`): the expected revision guards them.
   */
  async appendMembership(log: Appender, command: MembershipCommand, actor: string, past?: readonly Recorded<MembershipEvent>[]): Promise<{ revision: bigint; position: string }> {
    const streamId = membershipStreamId(command.projectId);
    past ??= (await this.store.readStream(streamId)) as unknown as Recorded<MembershipEvent>[];
    const events = membershipDecider.decide(command, fold(membershipDecider, past));
    const revision = past.length ? BigInt(past.length - 1) : undefined;
    if (events.length === 0) return { revision: revision ?? -1n, position: past.at(-1)?.position ?? '0/0' };
    const r = await log.append(streamId, events, { actor, expectedRevision: revision ?? 'no_stream' });
    // Inside a transaction this runs before the commit and before the read model has it: other
    // requests may then re-cache the old role for at most the cache's TTL (changeMembership drops again).
    this.authCache.dropProject(command.projectId);
    return r;
  }

  membersState(projectId: string) {
    return this.store.readStream(membershipStreamId(projectId)).then((events) => fold(membershipDecider, events as unknown as MembershipEvent[]));
  }

  private async projectIsActive(projectId: string): Promise<boolean> {
    const events = (await this.store.readStream(projectStreamId(projectId))) as unknown as ProjectEvent[];
    return fold(projectDecider, events).status === 'active';
  }

  async requireActiveProject(projectId: string): Promise<void> {
    const events = (await this.store.readStream(projectStreamId(projectId))) as unknown as ProjectEvent[];
    const state = fold(projectDecider, events);
    if (state.status === 'none') throw new DomainError('not_found', 'project_not_found', `project ${projectId} does not exist`, { projectId });
    if (state.status === 'deleted') throw new DomainError('gone', 'project_deleted', `project ${projectId} was deleted`, { projectId });
  }

  // --- first start ---------------------------------------------------------------------------

  /**
   * On the first start (no account in the log) creates the owner account, site administrator;
   * with `adminToken` makes sure the first administrator has an API token of exactly that value
   * (idempotent across restarts and across processes starting at once).
   */
  async bootstrap(options: { ownerEmail: string; ownerPassword?: string | undefined; adminToken?: string | undefined; createOwner?: boolean }): Promise<BootstrapResult> {
    const result: BootstrapResult = {};
    let admin = await this.firstAdminInLog();
    if (!admin && options.createOwner !== false) {
      const userId = randomUUID();
      const generated = options.ownerPassword === undefined;
      const password = options.ownerPassword ?? generatePassword();
      requireGoodPassword(password, options.ownerEmail);
      try {
        const registered: UserRegistered['data'] = { userId, email: options.ownerEmail, displayName: 'Owner', passwordHash: await hashPassword(password, this.scrypt), admin: true, origin: 'bootstrap', invitationId: null };
        await this.store.transaction(async (log) => {
          await claimEmail(log, userId, options.ownerEmail);
          await log.append(userStreamId(userId), [{ type: 'UserRegistered', data: registered }], { actor: 'system', expectedRevision: 'no_stream' });
        });
        result.createdOwner = { userId, email: options.ownerEmail, password: generated ? password : undefined };
        // Not re-read from the log: readAll shows a commit only once every older transaction on
        // the server has ended, so under concurrent writers the owner just created could be
        // missed and the admin token never seeded (found by apps/cli/test/scale-out.int.spec.ts).
        admin = registered;
      } catch (err) {
        if (!(err instanceof DomainError && err.code === 'email_taken')) throw err;
        // another process bootstrapped at the same moment (and seeds the token itself)
      }
      admin ??= await this.firstAdminInLog();
    }
    let position: string | undefined;
    if (result.createdOwner) position = await this.store.head();
    if (options.adminToken && admin) {
      const seeded = await this.seedAdminToken(admin.userId, options.adminToken);
      result.adminToken = seeded.outcome;
      position = seeded.position ?? position;
    }
    // Usable at once: wait (bounded) until the accounts read model has what this start wrote.
    if (position) await this.reached(position, IDENTITY_VIEWS);
    return result;
  }

  /**
   * Makes sure `userId` (the first administrator) has an API token of exactly `adminToken`. Its id
   * comes from the token's hash, so concurrent and repeated calls seed it once.
   */
  protected async seedAdminToken(userId: string, adminToken: string): Promise<{ outcome: NonNullable<BootstrapResult['adminToken']>; position?: string }> {
    const tokenHash = hashApiToken(adminToken);
    const tokenId = uuidFromHash(tokenHash);
    const existing = await this.store.readStream(apiTokenStreamId(tokenId));
    if (existing.length) return { outcome: existing.some((e) => e.type === 'ApiTokenRevoked') ? 'revoked' : 'exists' };
    try {
      const r = await this.store.append(
        apiTokenStreamId(tokenId),
        [
          {
            id: uuidFromHash(sha256Hex(`admin-token-event:${tokenId}`)),
            type: 'ApiTokenCreated',
            data: { tokenId, userId, name: 'REFINERY_ADMIN_TOKEN', tokenHash, prefix: tokenDisplayPrefix(adminToken), expiresAt: null },
          },
        ],
        { actor: 'system', expectedRevision: 'no_stream' },
      );
      return { outcome: 'created', position: r.position };
    } catch (err) {
      if (!(err instanceof WrongExpectedRevisionError)) throw err;
      return { outcome: 'exists' };
    }
  }

  /** The first administrator, from the log itself (the read models may still be catching up at start). */
  protected async firstAdminInLog(): Promise<UserRegistered['data'] | undefined> {
    let after = formatPosition(START);
    for (;;) {
      const page = await this.store.readAll(after, { types: ['UserRegistered'], limit: 100 });
      for (const e of page.events as unknown as UserRegistered[]) if (e.data.admin) return e.data;
      if (page.events.length < 100) return undefined;
      after = page.checkpoint;
    }
  }
}

function identityOf(user: UserRecord): Omit<Authentication, 'method'> {
  return { userId: user.id, displayName: user.displayName, email: user.email, admin: user.admin };
}

function requireGoodPassword(password: string, email: string): void {
  const problem = passwordProblem(password, { email });
  if (problem) throw new DomainError('invalid', 'weak_password', `choose another password: ${problem}`, { field: 'password' });
}

/** One account per e-mail address, enforced by the log itself: a stream per address, created once. */
export async function claimEmail(log: Appender, userId: string, email: string): Promise<void> {
  try {
    await log.append(userEmailStreamId(email), [{ type: 'UserEmailClaimed', data: { userId, email: email.trim() } }], { actor: userId, expectedRevision: 'no_stream' });
  } catch (err) {
    if (err instanceof WrongExpectedRevisionError) {
      throw new DomainError('conflict', 'email_taken', `${email} already has an account`, { email });
    }
    throw err;
  }
}

