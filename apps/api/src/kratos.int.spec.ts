import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '@refinery/events/testing';
import { userIdOfKratosIdentity } from '@refinery/identity';
import { loadConfig, platformOn, type Platform } from '@refinery/runtime';
import { startProjector, type ProjectorHandle } from '@refinery/projector-app';
import { bootstrapAnnouncement, startApiServer, type ApiServer } from './server.ts';
import { liveUrl, rawUpgrade } from './live/testing.ts';

const ADMIN_TOKEN = 'rfy_kratos-int-spec-admin-token-0123456789';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface FakeIdentity {
  id: string;
  email: string;
  displayName?: string;
}

/**
 * The part of Ory Kratos' public API that refinery calls: `GET /sessions/whoami`, answering as
 * Kratos does (schema `Session` of @ory/client: id, active, expires_at, identity { id, schema_id,
 * schema_url, traits }) for a known `ory_kratos_session` cookie or `X-Session-Token`, and 401 with
 * Kratos' error body otherwise. `mode` makes it fail like a sick Kratos.
 */
class FakeKratos {
  readonly byCookie = new Map<string, FakeIdentity>();
  readonly byToken = new Map<string, FakeIdentity>();
  mode: 'ok' | 'error' = 'ok';
  whoamiCalls = 0;
  lastCookie: string | undefined;
  private server: Server | undefined;
  url = '';

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'GET' || !req.url?.startsWith('/sessions/whoami')) return send(404, { error: { code: 404, status: 'Not Found' } });
      this.whoamiCalls++;
      if (this.mode === 'error') return send(500, { error: { code: 500, status: 'Internal Server Error', message: 'database is down' } });
      const token = req.headers['x-session-token'] as string | undefined;
      const cookie = req.headers.cookie;
      this.lastCookie = cookie;
      const cookieValue = /(?:^|;\s*)ory_kratos_session=([^;]+)/.exec(cookie ?? '')?.[1];
      const identity = token ? this.byToken.get(token) : cookieValue ? this.byCookie.get(cookieValue) : undefined;
      if (!identity) {
        return send(401, { error: { code: 401, status: 'Unauthorized', id: 'session_inactive', reason: 'No active session was found in this request.', message: 'request does not have a valid authentication session' } });
      }
      const now = Date.now();
      send(200, {
        id: `5e55${identity.id.slice(4)}`,
        active: true,
        expires_at: new Date(now + 3600_000).toISOString(),
        authenticated_at: new Date(now - 1000).toISOString(),
        authenticator_assurance_level: 'aal1',
        authentication_methods: [{ method: 'password', aal: 'aal1', completed_at: new Date(now - 1000).toISOString() }],
        issued_at: new Date(now - 1000).toISOString(),
        identity: {
          id: identity.id,
          schema_id: 'refinery',
          schema_url: `${this.url}/schemas/cmVmaW5lcnk`,
          state: 'active',
          traits: { email: identity.email, ...(identity.displayName ? { displayName: identity.displayName } : {}) },
          verifiable_addresses: [],
          recovery_addresses: [],
          metadata_public: null,
          created_at: new Date(now - 60_000).toISOString(),
          updated_at: new Date(now - 60_000).toISOString(),
        },
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}

const alice: FakeIdentity = { id: '0a11ce00-0000-4000-8000-000000000001', email: 'alice@example.com', displayName: 'Alice Kratos' };
const bob: FakeIdentity = { id: '0b0b0000-0000-4000-8000-000000000002', email: 'bob@example.com' };
const mallory: FakeIdentity = { id: '0ba11000-0000-4000-8000-000000000003', email: 'ALICE@example.com' };

for (const backend of testBackends()) {
  describe(`Ory Kratos as the identity provider on ${backend.name}`, () => {
    let platform: Platform;
    let projector: ProjectorHandle;
    let api: ApiServer;
    const kratos = new FakeKratos();

    async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; headers: Headers; body: Json }> {
      const init: RequestInit = { method, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) } };
      if (body !== undefined) init.body = JSON.stringify(body);
      const res = await fetch(`${api.url}${path}`, init);
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
    }
    const asAlice = { cookie: 'ory_kratos_session=alice-cookie-value; other=1' };
    const asBob = { 'x-session-token': 'bob-session-token' };
    const asAdmin = { authorization: `Bearer ${ADMIN_TOKEN}` };

    beforeAll(async () => {
      await kratos.start();
      kratos.byCookie.set('alice-cookie-value', alice);
      kratos.byToken.set('bob-session-token', bob);
      kratos.byToken.set('mallory-session-token', mallory);
      platform = await platformOn(await backend.open(), backend.name === 'pglite' ? 'embedded' : 'server');
      projector = await startProjector(platform, { log: () => undefined });
      const config = { ...loadConfig({ REFINERY_ADMIN_TOKEN: ADMIN_TOKEN, ORY_SDK_URL: kratos.url, ORY_BROWSER_URL: 'http://localhost:4433', ORY_TIMEOUT_MS: '2000' }), port: 0, readWaitMs: 5_000 };
      api = await startApiServer(platform, config, {
        onAdvanced: (l) => projector.runner.onAdvanced(l),
        localCheckpoints: () => projector.runner.localCheckpoints(),
        log: () => undefined,
        authCacheTtlMs: 300,
      });
    }, 60_000);
    afterAll(async () => {
      await api.close();
      await projector.stop();
      await platform.store.close();
      await backend.cleanup();
      await kratos.stop();
    });

    it('no password owner on the first start; the first Kratos identity becomes the site administrator and REFINERY_ADMIN_TOKEN then works', async () => {
      expect(api.bootstrap.createdOwner).toBeUndefined();
      expect(api.bootstrap.kratos).toEqual({ signInUrl: 'http://localhost:4433/self-service/login/browser', administratorExists: false });
      expect(bootstrapAnnouncement(api.bootstrap, 'owner@localhost')).toMatch(/first identity to sign in .* becomes the site administrator/);
      expect((await call('GET', '/api/auth/me', asAdmin)).status).toBe(401);
      expect((await call('GET', '/api/auth/me')).status).toBe(401);

      const me = await call('GET', '/api/auth/me', asAlice);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ method: 'external', user: { id: userIdOfKratosIdentity(alice.id), email: alice.email, displayName: 'Alice Kratos', admin: true }, memberships: [] });
      expect(me.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      // the web app reads the CSRF token from the readable cookie, as with built-in sessions
      expect(me.headers.getSetCookie().find((c) => c.startsWith('refinery_csrf='))).toContain(`refinery_csrf=${me.body.csrfToken}`);
      // only Kratos' cookies are forwarded, never refinery's own
      const withOurs = await call('GET', '/api/auth/me', { cookie: `${asAlice.cookie}; refinery_session=abc; refinery_csrf=def` });
      expect(withOurs.status).toBe(200);

      // registered once, as an event of the log
      const events = await platform.store.readStream(`user:${userIdOfKratosIdentity(alice.id)}`);
      expect(events.map((e) => [e.type, (e.data as Json).origin, (e.data as Json).passwordHash, (e.data as Json).admin])).toEqual([['UserRegistered', 'external', null, true]]);

      const token = await call('GET', '/api/auth/me', asAdmin);
      expect(token.status).toBe(200);
      expect(token.body).toMatchObject({ method: 'api-token', user: { id: userIdOfKratosIdentity(alice.id), admin: true } });

      const second = await call('GET', '/api/auth/me', asBob);
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ method: 'external', csrfToken: null, user: { id: userIdOfKratosIdentity(bob.id), email: bob.email, displayName: 'bob', admin: false } });
    });

    it('unknown or missing Kratos credentials are 401; Kratos is not asked without a credential', async () => {
      const before = kratos.whoamiCalls;
      const none = await call('GET', '/api/projects');
      expect([none.status, none.body.error.code]).toEqual([401, 'unauthenticated']);
      expect(kratos.whoamiCalls).toBe(before);
      expect((await call('GET', '/api/projects', { cookie: 'ory_kratos_session=stolen-or-expired' })).status).toBe(401);
      expect((await call('GET', '/api/projects', { 'x-session-token': 'nope' })).status).toBe(401);
      // refinery's own cookies alone are not sent to Kratos, and mean nothing here
      expect((await call('GET', '/api/projects', { cookie: 'refinery_session=abc' })).status).toBe(401);
      expect(kratos.whoamiCalls).toBe(before + 2);
      // a Kratos session token in Authorization is not ours: Bearer is for refinery API tokens only
      expect((await call('GET', '/api/projects', { authorization: 'Bearer bob-session-token' })).status).toBe(401);
    });

    it('passwords, sign-in and invitations are Kratos’ business: 409 with the self-service links', async () => {
      const signIn = await call('POST', '/api/auth/sign-in', {}, { email: alice.email, password: 'whatever-password' });
      expect([signIn.status, signIn.body.error.code]).toEqual([409, 'accounts_managed_by_kratos']);
      expect(signIn.body.error.details).toMatchObject({ provider: 'kratos', signInUrl: 'http://localhost:4433/self-service/login/browser', settingsUrl: 'http://localhost:4433/self-service/settings/browser' });
      const password = await call('POST', '/api/auth/password', asAdmin, { currentPassword: 'a', newPassword: 'b-long-password' });
      expect([password.status, password.body.error.code]).toEqual([409, 'accounts_managed_by_kratos']);
      const invite = await call('POST', '/api/invitations', asAdmin, { email: 'carol@example.com' });
      expect([invite.status, invite.body.error.code]).toEqual([409, 'accounts_managed_by_kratos']);
      const accept = await call('POST', '/api/invitations/rfyi_0123456789abcdef/accept', {}, { name: 'Carol', password: 'carol-password' });
      expect([accept.status, accept.body.error.code]).toEqual([409, 'accounts_managed_by_kratos']);
    });

    it('a Kratos browser session needs the CSRF token on unsafe requests; roles stay refinery’s and are enforced', async () => {
      const me = await call('GET', '/api/auth/me', asAlice);
      const refused = await call('POST', '/api/projects', asAlice, { name: 'Kratos project' });
      expect([refused.status, refused.body.error.code]).toEqual([403, 'csrf_token_invalid']);
      const created = await call('POST', '/api/projects', { ...asAlice, 'x-csrf-token': me.body.csrfToken }, { name: 'Kratos project' });
      expect(created.status).toBe(201);
      const projectId = created.body.id as string;

      // bob (X-Session-Token: no ambient credentials, no CSRF token) is not a member yet
      const outsider = await call('GET', `/api/projects/${projectId}?after=${created.body.position}`, asBob);
      expect([outsider.status, outsider.body.error.code, outsider.body.error.details.role]).toEqual([403, 'forbidden', null]);
      // alice's API token (refinery's own) adds him as annotator
      const added = await call('POST', `/api/projects/${projectId}/members`, asAdmin, { userId: userIdOfKratosIdentity(bob.id), role: 'annotator' });
      expect(added.status).toBe(201);
      expect((await call('GET', `/api/projects/${projectId}`, asBob)).status).toBe(200);
      const manage = await call('PATCH', `/api/projects/${projectId}`, asBob, { name: 'mine now' });
      expect([manage.status, manage.body.error.code, manage.body.error.details.role]).toEqual([403, 'forbidden', 'annotator']);
      const heuristics = await call('GET', `/api/projects/${projectId}/heuristics`, asBob);
      expect([heuristics.status, heuristics.body.error.details.permission]).toEqual([403, 'project:heuristics:read']);
      const projects = await call('GET', '/api/projects', asBob);
      expect(projects.body.projects.map((p: Json) => [p.id, p.role])).toEqual([[projectId, 'annotator']]);
    });

    it('an identity whose e-mail address belongs to another account is refused with 409, not merged', async () => {
      const r = await call('GET', '/api/auth/me', { 'x-session-token': 'mallory-session-token' });
      expect([r.status, r.body.error.code]).toEqual([409, 'external_identity_email_taken']);
      expect(await platform.store.readStream(`user:${userIdOfKratosIdentity(mallory.id)}`)).toEqual([]);
    });

    it('caches a resolved session briefly, like built-in credentials', async () => {
      await new Promise((r) => setTimeout(r, 350));
      const before = kratos.whoamiCalls;
      for (let i = 0; i < 5; i++) expect((await call('GET', '/api/auth/me', asAlice)).status).toBe(200);
      expect(kratos.whoamiCalls).toBe(before + 1);
    });

    it('the live WebSocket authenticates through Kratos: cookie + own origin, 401 without, 503 when Kratos is sick', async () => {
      const me = await call('GET', '/api/auth/me', asAlice);
      const created = await call('POST', '/api/projects', { ...asAlice, 'x-csrf-token': me.body.csrfToken }, { name: 'Live with Kratos' });
      const projectId = created.body.id as string;
      const headers = { ...asAdmin, 'x-csrf-token': 'unused' };
      const task = await call('POST', `/api/projects/${projectId}/tasks`, headers, { name: 'Sentiment', kind: 'single_label' });
      expect(task.status).toBe(201);
      const session = await call('POST', `/api/projects/${projectId}/sessions`, headers, { name: 'Team' });
      expect(session.status).toBe(201);
      expect((await call('GET', `/api/projects/${projectId}/sessions/${session.body.id}?after=${session.body.position}`, asAdmin)).status).toBe(200);
      const url = `${liveUrl(api.url, projectId)}/${session.body.id}`;

      const own = await rawUpgrade(url, { cookie: asAlice.cookie, origin: api.url });
      expect(own.status).toBe(101);
      own.ws!.close();
      const foreign = await rawUpgrade(url, { cookie: asAlice.cookie, origin: 'https://evil.example' });
      expect([foreign.status, foreign.body?.error.code]).toEqual([403, 'origin_not_allowed']);
      const stranger = await rawUpgrade(url, { cookie: 'ory_kratos_session=unknown', origin: api.url });
      expect([stranger.status, stranger.body?.error.code]).toEqual([401, 'unauthenticated']);
      const nonMember = await rawUpgrade(url, asBob);
      expect([nonMember.status, nonMember.body?.error.code]).toEqual([403, 'forbidden']);

      kratos.mode = 'error';
      try {
        await new Promise((r) => setTimeout(r, 350)); // past the authentication cache
        const sick = await rawUpgrade(url, { cookie: asAlice.cookie, origin: api.url });
        expect([sick.status, sick.body?.error.code]).toEqual([503, 'identity_provider_unavailable']);
        // refinery API tokens do not depend on Kratos
        const byToken = await rawUpgrade(`${url}?token=${ADMIN_TOKEN}`);
        expect(byToken.status).toBe(101);
        byToken.ws!.close();
      } finally {
        kratos.mode = 'ok';
      }
    });

    it('Kratos answering 5xx or not reachable at all → 503 identity_provider_unavailable; API tokens keep working; the server keeps serving', async () => {
      kratos.mode = 'error';
      await new Promise((r) => setTimeout(r, 350));
      const sick = await call('GET', '/api/projects', asAlice);
      expect([sick.status, sick.body.error.code, sick.body.error.details]).toEqual([503, 'identity_provider_unavailable', { provider: 'kratos' }]);
      expect(sick.body.error.message).toMatch(/Kratos.*500/);
      kratos.mode = 'ok';

      const port = kratos.port;
      await kratos.stop();
      try {
        await new Promise((r) => setTimeout(r, 350));
        const down = await call('GET', '/api/projects', { 'x-session-token': 'bob-session-token' });
        expect([down.status, down.body.error.code]).toEqual([503, 'identity_provider_unavailable']);
        expect(down.body.error.message).toMatch(/ECONNREFUSED/);
        const token = await call('GET', '/api/projects', asAdmin);
        expect(token.status).toBe(200);
        expect((await call('GET', '/healthz')).status).toBe(200);
        // public routes do not ask Kratos at all
        expect((await call('GET', '/api/invitations/rfyi_0123456789abcdef', asAlice)).status).toBe(404);
      } finally {
        await kratos.start(port);
      }
      expect((await call('GET', '/api/auth/me', asAlice)).status).toBe(200);
    });
  });
}
