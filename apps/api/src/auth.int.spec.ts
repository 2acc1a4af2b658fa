import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '@refinery/events/testing';
import { loadConfig, platformOn, type Platform } from '@refinery/runtime';
import { startProjector, type ProjectorHandle } from '@refinery/projector-app';
import { startApiServer, type ApiServer } from './server.ts';

const OWNER_EMAIL = 'owner@localhost';
const OWNER_PASSWORD = 'owner-password-for-tests';
const ADMIN_TOKEN = 'rfy_auth-int-spec-admin-token-0123456789';

interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A client with a cookie jar (session + CSRF cookies) or a bearer token. */
class Client {
  cookies = new Map<string, string>();
  bearer: string | undefined;
  /** send X-CSRF-Token from the refinery_csrf cookie on unsafe requests */
  csrf = true;
  constructor(private readonly base: () => string) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const h: Record<string, string> = { ...headers };
    if (this.bearer) h['authorization'] = `Bearer ${this.bearer}`;
    if (this.cookies.size) h['cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.csrf && method !== 'GET' && this.cookies.has('refinery_csrf') && !('x-csrf-token' in h)) h['x-csrf-token'] = this.cookies.get('refinery_csrf')!;
    const init: RequestInit = { method, headers: h };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const res = await fetch(`${this.base()}${path}`, init);
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [name, value] = pair!.split('=');
      if (/Max-Age=0/.test(c)) this.cookies.delete(name!);
      else this.cookies.set(name!, value!);
    }
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }
}

function expectError(r: Reply, status: number, code: string): void {
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status, code });
  expect(typeof r.body.error.message).toBe('string');
}

for (const backend of testBackends()) {
  describe(`identity and roles on ${backend.name}`, () => {
    let platform: Platform;
    let projector: ProjectorHandle;
    let api: ApiServer;
    const url = () => api.url;
    const owner = new Client(url);
    const admin = new Client(url);
    admin.bearer = ADMIN_TOKEN;
    const config = () => ({ ...loadConfig({ REFINERY_OWNER_PASSWORD: OWNER_PASSWORD, REFINERY_ADMIN_TOKEN: ADMIN_TOKEN }), port: 0, readWaitMs: 5_000 });

    beforeAll(async () => {
      platform = await platformOn(await backend.open(), backend.name === 'pglite' ? 'embedded' : 'server');
      projector = await startProjector(platform, { log: () => undefined });
      api = await startApiServer(platform, config(), { onAdvanced: (l) => projector.runner.onAdvanced(l), localCheckpoints: () => projector.runner.localCheckpoints(), log: () => undefined });
    });
    afterAll(async () => {
      await api.close();
      await projector.stop();
      await platform.store.close();
      await backend.cleanup();
    });

    /** invites `email` (to a project with a role, or to the site) as the admin, accepts, and returns the signed-in client */
    async function newUser(email: string, project?: { id: string; role: string }, password = `${email}-password`): Promise<Client & { userId: string }> {
      const inv = await admin.call('POST', '/api/invitations', { email, ...(project ? { projectId: project.id, role: project.role } : {}) });
      expect(inv.status).toBe(201);
      const c = new Client(url) as Client & { userId: string };
      const accepted = await c.call('POST', `/api/invitations/${inv.body.token}/accept`, { name: email.split('@')[0], password });
      expect(accepted.status).toBe(201);
      c.userId = accepted.body.user.id;
      return c;
    }

    async function newProject(client: Client, name = 'Spam'): Promise<string> {
      const r = await client.call('POST', '/api/projects', { name });
      expect(r.status).toBe(201);
      return r.body.id;
    }

    it('first start: an owner (site administrator) exists and signs in with a session cookie', async () => {
      expect(api.bootstrap.createdOwner).toMatchObject({ email: OWNER_EMAIL, password: undefined });
      expect(api.bootstrap.adminToken).toBe('created');
      const r = await owner.call('POST', '/api/auth/sign-in', { email: 'Owner@LocalHost ', password: OWNER_PASSWORD });
      expect(r.status).toBe(200);
      expect(r.body.user).toMatchObject({ email: OWNER_EMAIL, admin: true });
      expect(JSON.stringify(r.body)).not.toMatch(/passwordHash|scrypt/);
      const cookies = r.headers.getSetCookie();
      const session = cookies.find((c) => c.startsWith('refinery_session='))!;
      expect(session).toMatch(/; HttpOnly/);
      expect(session).toMatch(/; SameSite=Lax/);
      expect(session).not.toMatch(/Secure/);
      expect(cookies.find((c) => c.startsWith('refinery_csrf='))).not.toMatch(/HttpOnly/);
      expect(r.body.csrfToken).toBe(owner.cookies.get('refinery_csrf'));

      const me = await owner.call('GET', '/api/auth/me');
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ user: { email: OWNER_EMAIL, admin: true }, method: 'session', csrfToken: r.body.csrfToken });
      // behind an https proxy the cookies are Secure
      const https = new Client(url);
      const viaProxy = await https.call('POST', '/api/auth/sign-in', { email: OWNER_EMAIL, password: OWNER_PASSWORD }, { 'x-forwarded-proto': 'https' });
      expect(viaProxy.headers.getSetCookie().every((c) => /; Secure/.test(c))).toBe(true);
    });

    it('no, unknown or malformed credentials: 401 unauthenticated', async () => {
      const anonymous = new Client(url);
      const r = await anonymous.call('GET', '/api/projects');
      expectError(r, 401, 'unauthenticated');
      expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
      anonymous.bearer = 'rfy_' + 'x'.repeat(43);
      expectError(await anonymous.call('GET', '/api/auth/me'), 401, 'unauthenticated');
      anonymous.bearer = undefined;
      expectError(await anonymous.call('GET', '/api/auth/me', undefined, { authorization: 'Basic b3duZXI6cGFzcw==' }), 401, 'unauthenticated');
      anonymous.cookies.set('refinery_session', 'A'.repeat(43));
      expectError(await anonymous.call('GET', '/api/auth/me'), 401, 'unauthenticated');
      // public routes need nothing
      expect((await new Client(url).call('GET', '/healthz')).status).toBe(200);
    });

    it('wrong password: 401; five failures a minute per account and address: 429 with Retry-After, even with the right password', async () => {
      const victim = await newUser('victim@example.com');
      const attacker = new Client(url);
      for (let i = 0; i < 5; i++) expectError(await attacker.call('POST', '/api/auth/sign-in', { email: 'victim@example.com', password: `guess-${i}` }), 401, 'invalid_credentials');
      const limited = await attacker.call('POST', '/api/auth/sign-in', { email: 'victim@example.com', password: 'victim@example.com-password' });
      expectError(limited, 429, 'rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      // an unknown e-mail is refused the same way, and another account is not affected
      expectError(await attacker.call('POST', '/api/auth/sign-in', { email: 'nobody@example.com', password: 'whatever-it-is' }), 401, 'invalid_credentials');
      expect((await new Client(url).call('POST', '/api/auth/sign-in', { email: OWNER_EMAIL, password: OWNER_PASSWORD })).status).toBe(200);
      // the victim's existing session still works
      expect((await victim.call('GET', '/api/auth/me')).status).toBe(200);
    });

    it('CSRF: cookie sessions must echo the token on unsafe methods; bearer tokens need none', async () => {
      const c = new Client(url);
      await c.call('POST', '/api/auth/sign-in', { email: OWNER_EMAIL, password: OWNER_PASSWORD });
      c.csrf = false;
      expectError(await c.call('POST', '/api/projects', { name: 'no token' }), 403, 'csrf_token_invalid');
      expectError(await c.call('POST', '/api/projects', { name: 'wrong token' }, { 'x-csrf-token': 'A'.repeat(43) }), 403, 'csrf_token_invalid');
      expect((await c.call('GET', '/api/projects')).status).toBe(200);
      expect((await c.call('POST', '/api/projects', { name: 'with token' }, { 'x-csrf-token': c.cookies.get('refinery_csrf')! })).status).toBe(201);
      // a CSRF token of another session does not do
      expectError(await c.call('POST', '/api/projects', { name: 'other token' }, { 'x-csrf-token': owner.cookies.get('refinery_csrf')! }), 403, 'csrf_token_invalid');
      expect((await admin.call('POST', '/api/projects', { name: 'bearer' })).status).toBe(201);
      // sign-out needs the token too, and ends the session
      expectError(await c.call('POST', '/api/auth/sign-out'), 403, 'csrf_token_invalid');
      const session = c.cookies.get('refinery_session')!;
      c.csrf = true;
      const out = await c.call('POST', '/api/auth/sign-out');
      expect(out.status).toBe(200);
      expect(out.headers.getSetCookie().some((x) => x.startsWith('refinery_session=;') && /Max-Age=0/.test(x))).toBe(true);
      c.cookies.set('refinery_session', session);
      expectError(await c.call('GET', '/api/auth/me'), 401, 'unauthenticated');
    });

    it('personal API tokens: shown once, listed without their value, revoked immediately, only by their owner', async () => {
      const created = await owner.call('POST', '/api/auth/tokens', { name: 'cli' });
      expect(created.status).toBe(201);
      expect(created.body.token).toMatch(/^rfy_[A-Za-z0-9_-]{43}$/);
      expect(created.body.prefix).toBe(created.body.token.slice(0, 8));
      const list = await owner.call('GET', '/api/auth/tokens');
      expect(list.body.tokens.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['cli', 'REFINERY_ADMIN_TOKEN']));
      expect(JSON.stringify(list.body)).not.toContain(created.body.token);

      const cli = new Client(url);
      cli.bearer = created.body.token;
      const me = await cli.call('GET', '/api/auth/me');
      expect(me.body).toMatchObject({ method: 'api-token', csrfToken: null, user: { email: OWNER_EMAIL } });

      const other = await newUser('token-thief@example.com');
      expectError(await other.call('DELETE', `/api/auth/tokens/${created.body.id}`), 404, 'token_not_found');
      expect((await cli.call('GET', '/api/auth/me')).status).toBe(200);

      const revoked = await owner.call('DELETE', `/api/auth/tokens/${created.body.id}`);
      expect(revoked.status).toBe(200);
      expectError(await cli.call('GET', '/api/auth/me'), 401, 'unauthenticated');
      const after = await owner.call('GET', '/api/auth/tokens');
      expect(after.body.tokens.find((t: { id: string }) => t.id === created.body.id).revokedAt).not.toBeNull();
      expect((await owner.call('DELETE', `/api/auth/tokens/${created.body.id}`)).status).toBe(200); // idempotent
    });

    it('REFINERY_ADMIN_TOKEN is seeded once: a restart keeps one token and one owner', async () => {
      const again = await startApiServer(platform, config(), { onAdvanced: (l) => projector.runner.onAdvanced(l), localCheckpoints: () => projector.runner.localCheckpoints(), log: () => undefined });
      try {
        expect(again.bootstrap).toEqual({ adminToken: 'exists' });
        const r = await fetch(`${again.url}/api/auth/tokens`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const body = (await r.json()) as { tokens: { name: string }[] };
        expect(body.tokens.filter((t) => t.name === 'REFINERY_ADMIN_TOKEN')).toHaveLength(1);
      } finally {
        await again.close();
      }
      const owners = await platform.store.readAll('0/0', { types: ['UserRegistered'] });
      expect(owners.events.filter((e) => (e.data as { admin: boolean }).admin)).toHaveLength(1);
    });

    it('invitations: to a project with a role, accepted once into a signed-in account', async () => {
      const projectId = await newProject(owner, 'Invitations');
      const inv = await owner.call('POST', '/api/invitations', { email: 'ann@example.com', projectId, role: 'annotator' });
      expect(inv.status).toBe(201);
      expect(inv.body.token).toMatch(/^rfyi_/);
      expect(inv.body.link).toBe(`/sign-in?invitation=${inv.body.token}`);
      const shown = await new Client(url).call('GET', `/api/invitations/${inv.body.token}`);
      expect(shown.body).toMatchObject({ email: 'ann@example.com', projectId, projectName: 'Invitations', role: 'annotator', status: 'pending' });

      const ann = new Client(url);
      expectError(await ann.call('POST', `/api/invitations/${inv.body.token}/accept`, { name: 'Ann', password: 'short' }), 422, 'weak_password');
      const accepted = await ann.call('POST', `/api/invitations/${inv.body.token}/accept`, { name: 'Ann', password: 'ann-password-1' });
      expect(accepted.status).toBe(201);
      expect(accepted.body).toMatchObject({ user: { email: 'ann@example.com', displayName: 'Ann', admin: false }, projectId });
      const me = await ann.call('GET', '/api/auth/me');
      expect(me.body.memberships).toEqual([{ projectId, role: 'annotator' }]);
      expect((await ann.call('GET', `/api/projects/${projectId}`)).body.role).toBe('annotator');
      expectError(await new Client(url).call('POST', `/api/invitations/${inv.body.token}/accept`, { name: 'Eve', password: 'eve-password-1' }), 410, 'invitation_used');
      expect((await new Client(url).call('GET', `/api/invitations/${inv.body.token}`)).body.status).toBe('accepted');
      // she can sign in with her password later
      expect((await new Client(url).call('POST', '/api/auth/sign-in', { email: 'ann@example.com', password: 'ann-password-1' })).status).toBe(200);

      expectError(await owner.call('POST', '/api/invitations', { email: 'ANN@example.com', projectId, role: 'expert' }), 409, 'user_exists');
      expectError(await new Client(url).call('GET', '/api/invitations/rfyi_nope-nope-nope'), 404, 'invitation_not_found');
      expectError(await owner.call('POST', '/api/invitations', { email: 'x@example.com', projectId }), 400, 'invalid_request');
    });

    it('invitations: who may invite whom', async () => {
      const projectId = await newProject(owner, 'Who invites');
      const engineer = await newUser('eng-inviter@example.com', { id: projectId, role: 'engineer' });
      const annotator = await newUser('ann-inviter@example.com', { id: projectId, role: 'annotator' });
      const outsider = await newUser('outsider-inviter@example.com');
      expect((await engineer.call('POST', '/api/invitations', { email: 'e1@example.com', projectId, role: 'expert' })).status).toBe(201);
      expectError(await engineer.call('POST', '/api/invitations', { email: 'e2@example.com', projectId, role: 'owner' }), 403, 'forbidden');
      expectError(await annotator.call('POST', '/api/invitations', { email: 'e3@example.com', projectId, role: 'annotator' }), 403, 'forbidden');
      expectError(await outsider.call('POST', '/api/invitations', { email: 'e4@example.com', projectId, role: 'annotator' }), 403, 'forbidden');
      // site invitations (no project): administrators only
      const site = await engineer.call('POST', '/api/invitations', { email: 'e5@example.com' });
      expectError(site, 403, 'forbidden');
      expect(site.body.error.details.permission).toBe('admin');
      expect((await owner.call('POST', '/api/invitations', { email: 'e5@example.com' })).status).toBe(201);
    });

    it('membership: the creator owns the project; roles are enforced; members are added, changed and removed', async () => {
      const projectId = await newProject(owner, 'Team');
      const creatorList = await owner.call('GET', `/api/projects/${projectId}/members`);
      expect(creatorList.body.members).toEqual([expect.objectContaining({ email: OWNER_EMAIL, role: 'owner' })]);

      const bob = await newUser('bob@example.com');
      // not a member yet: no access, and the project is not in his list
      expectError(await bob.call('GET', `/api/projects/${projectId}`), 403, 'forbidden');
      expect((await bob.call('GET', '/api/projects')).body.projects.some((p: { id: string }) => p.id === projectId)).toBe(false);

      const added = await owner.call('POST', `/api/projects/${projectId}/members`, { email: 'BOB@example.com', role: 'annotator' });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({ userId: bob.userId, role: 'annotator' });
      expectError(await owner.call('POST', `/api/projects/${projectId}/members`, { userId: bob.userId, role: 'expert' }), 409, 'member_exists');
      expectError(await owner.call('POST', `/api/projects/${projectId}/members`, { email: 'ghost@example.com', role: 'expert' }), 404, 'user_not_found');
      const list = await bob.call('GET', '/api/projects');
      expect(list.body.projects.find((p: { id: string }) => p.id === projectId)).toMatchObject({ role: 'annotator' });
      expect((await bob.call('GET', `/api/projects/${projectId}/records`)).status).toBe(200);
      const refused = await bob.call('PATCH', `/api/projects/${projectId}`, { name: 'Mine now' });
      expectError(refused, 403, 'forbidden');
      expect(refused.body.error.details).toEqual({ permission: 'project:manage', role: 'annotator' });
      expectError(await bob.call('POST', `/api/projects/${projectId}/members`, { email: 'victim@example.com', role: 'owner' }), 403, 'forbidden');

      // promoted to engineer: may manage and change other non-owner roles, but not touch owners
      expect((await owner.call('PATCH', `/api/projects/${projectId}/members/${bob.userId}`, { role: 'engineer' })).status).toBe(200);
      expect((await bob.call('PATCH', `/api/projects/${projectId}`, { name: 'Team (renamed)' })).status).toBe(200);
      const carol = await newUser('carol@example.com', { id: projectId, role: 'annotator' });
      expect((await bob.call('PATCH', `/api/projects/${projectId}/members/${carol.userId}`, { role: 'expert' })).status).toBe(200);
      const ownerId = creatorList.body.members[0].userId;
      expectError(await bob.call('PATCH', `/api/projects/${projectId}/members/${carol.userId}`, { role: 'owner' }), 403, 'forbidden');
      expectError(await bob.call('DELETE', `/api/projects/${projectId}/members/${ownerId}`), 403, 'forbidden');

      // removed: access ends at once
      expect((await bob.call('DELETE', `/api/projects/${projectId}/members/${carol.userId}`)).status).toBe(200);
      expectError(await carol.call('GET', `/api/projects/${projectId}`), 403, 'forbidden');
      expectError(await owner.call('DELETE', `/api/projects/${projectId}/members/${carol.userId}`), 404, 'member_not_found');
      const members = await owner.call('GET', `/api/projects/${projectId}/members`);
      expect(members.body.members.map((m: { email: string; role: string }) => [m.email, m.role])).toEqual([
        [OWNER_EMAIL, 'owner'],
        ['bob@example.com', 'engineer'],
      ]);
    });

    it('the last owner can be neither removed nor demoted (409), until there is another owner', async () => {
      const projectId = await newProject(owner, 'Owners');
      const me = (await owner.call('GET', '/api/auth/me')).body.user.id;
      expectError(await owner.call('DELETE', `/api/projects/${projectId}/members/${me}`), 409, 'last_owner');
      expectError(await owner.call('PATCH', `/api/projects/${projectId}/members/${me}`, { role: 'engineer' }), 409, 'last_owner');
      const dana = await newUser('dana@example.com', { id: projectId, role: 'owner' });
      expect((await owner.call('PATCH', `/api/projects/${projectId}/members/${me}`, { role: 'engineer' })).status).toBe(200);
      expectError(await dana.call('DELETE', `/api/projects/${projectId}/members/${dana.userId}`), 409, 'last_owner');
      expect((await dana.call('DELETE', `/api/projects/${projectId}/members/${me}`)).status).toBe(200);
      expectError(await owner.call('GET', `/api/projects/${projectId}`), 403, 'forbidden');
    });

    it('changing the password: needs the current one, ends the other sessions', async () => {
      const erin = await newUser('erin@example.com', undefined, 'erin-old-password');
      const elsewhere = new Client(url);
      expect((await elsewhere.call('POST', '/api/auth/sign-in', { email: 'erin@example.com', password: 'erin-old-password' })).status).toBe(200);
      expectError(await erin.call('POST', '/api/auth/password', { currentPassword: 'not-it-at-all', newPassword: 'erin-new-password' }), 401, 'invalid_credentials');
      expectError(await erin.call('POST', '/api/auth/password', { currentPassword: 'erin-old-password', newPassword: 'short' }), 422, 'weak_password');
      expect((await erin.call('POST', '/api/auth/password', { currentPassword: 'erin-old-password', newPassword: 'erin-new-password' })).status).toBe(200);
      expect((await erin.call('GET', '/api/auth/me')).status).toBe(200);
      expectError(await elsewhere.call('GET', '/api/auth/me'), 401, 'unauthenticated');
      expectError(await new Client(url).call('POST', '/api/auth/sign-in', { email: 'erin@example.com', password: 'erin-old-password' }), 401, 'invalid_credentials');
      expect((await new Client(url).call('POST', '/api/auth/sign-in', { email: 'erin@example.com', password: 'erin-new-password' })).status).toBe(200);
    });

    it('the log holds hashes, never passwords or tokens', async () => {
      const all = await platform.store.readAll('0/0', { limit: 100_000 });
      const mine = all.events.filter((e) => e.streamId.startsWith('user') || e.streamId.startsWith('api-token') || e.streamId.startsWith('invitation'));
      expect(mine.length).toBeGreaterThan(10);
      const text = JSON.stringify(mine.map((e) => ({ type: e.type, data: e.data })));
      for (const secret of [OWNER_PASSWORD, ADMIN_TOKEN, 'ann-password-1', 'erin-new-password']) expect(text).not.toContain(secret);
      expect(text).toContain('"algorithm":"scrypt"');
    });
  });
}
