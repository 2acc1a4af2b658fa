import { randomUUID } from 'node:crypto';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { membershipStreamId } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { allowed, PERMISSIONS, ROLES, SUBJECTS, type Role, type Subject } from '@refinery/domain';
import { loadConfig, platformOn, type Platform } from '@refinery/runtime';
import { startProjector, type ProjectorHandle } from '@refinery/projector-app';
import { canonicalPermission, mountRoutes, projectParam, type AnyRoute } from './http/routes.ts';
import { startApiServer, type ApiServer } from './server.ts';
import { connectLive, liveUrl, rawUpgrade, until } from './live/testing.ts';

const ADMIN_TOKEN = 'rfy_permissions-int-spec-admin-token-0123';

/** The crowd holder's routes (docs/crowd.md): `public` in the table, checked by the link and the crowd credential. */
const isCrowdRoute = (route: AnyRoute) => route.path.startsWith('/api/crowd/:token');

/**
 * Every route of the route table (so routes added later are covered without touching this file)
 * × every kind of caller: the server must refuse exactly what `allowed(subject, permission)`
 * refuses — 401 without credentials, 403 otherwise — and let everything else through to the
 * handler (whatever the handler then answers: 200, 400 for the deliberately empty body, 404 …).
 */
for (const backend of testBackends()) {
  describe(`route permissions on ${backend.name}`, () => {
    let platform: Platform;
    let projector: ProjectorHandle;
    let api: ApiServer;
    /** bearer token per subject; anonymous has none */
    const tokens = new Map<Subject, string>();
    const userIds = new Map<Subject, string>();

    async function call(method: string, path: string, init: { token?: string | undefined; body?: unknown; contentType?: string } = {}) {
      const headers: Record<string, string> = {};
      if (init.token) headers['authorization'] = `Bearer ${init.token}`;
      let body: string | undefined;
      if (init.body !== undefined) {
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
        headers['content-type'] = init.contentType ?? 'application/json';
      }
      const res = await fetch(`${api.url}${path}`, { method: method.toUpperCase(), headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: { error?: { code: string; details: Record<string, unknown> } } | undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed };
    }

    beforeAll(async () => {
      platform = await platformOn(await backend.open(), backend.name === 'pglite' ? 'embedded' : 'server');
      projector = await startProjector(platform, { log: () => undefined });
      const config = { ...loadConfig({ REFINERY_ADMIN_TOKEN: ADMIN_TOKEN }), port: 0, readWaitMs: 5_000 };
      api = await startApiServer(platform, config, { onAdvanced: (l) => projector.runner.onAdvanced(l), localCheckpoints: () => projector.runner.localCheckpoints(), log: () => undefined });
      tokens.set('owner', ADMIN_TOKEN);
      userIds.set('owner', api.bootstrap.createdOwner!.userId);
      // one account per other subject, each with its own API token
      for (const subject of ['engineer', 'expert', 'annotator', 'signed-in'] as const) {
        const inv = await call('post', '/api/invitations', { token: ADMIN_TOKEN, body: { email: `${subject}@example.com` } });
        expect(inv.status).toBe(201);
        const res = await fetch(`${api.url}/api/invitations/${(inv.body as unknown as { token: string }).token}/accept`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: subject, password: `${subject}-password` }),
        });
        const accepted = (await res.json()) as { user: { id: string }; csrfToken: string };
        const cookie = res.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; ');
        const created = await fetch(`${api.url}/api/auth/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': accepted.csrfToken },
          body: JSON.stringify({ name: 'walk' }),
        });
        expect(created.status).toBe(201);
        tokens.set(subject, ((await created.json()) as { token: string }).token);
        userIds.set(subject, accepted.user.id);
      }
    });
    afterAll(async () => {
      await api.close();
      await projector.stop();
      await platform.store.close();
      await backend.cleanup();
    });

    /** A fresh project (routes may delete or change it) whose members are the owner and one account per role. */
    async function projectWithTeam(): Promise<string> {
      const created = await call('post', '/api/projects', { token: ADMIN_TOKEN, body: { name: 'Permission walk' } });
      expect(created.status).toBe(201);
      const projectId = (created.body as unknown as { id: string }).id;
      const others = ROLES.filter((r): r is Exclude<Role, 'owner'> => r !== 'owner');
      await platform.store.append(
        membershipStreamId(projectId),
        others.map((role) => ({ type: 'MemberAdded', data: { projectId, userId: userIds.get(role)!, role } })),
        { actor: 'permissions-test', expectedRevision: 0n },
      );
      return projectId;
    }

    /** Valid-looking path parameters: the project for :id / :projectId, a fresh uuid for anything else. */
    function pathFor(route: AnyRoute, projectId: string): string {
      const key = projectParam(route.path);
      return route.path.replace(/:([A-Za-z_]\w*)/g, (_m, name: string) => (name === key ? projectId : randomUUID()));
    }

    it('walks every route for every subject: refused exactly when allowed(subject, permission) says no', async () => {
      const routes = api.routes;
      expect(routes.length).toBeGreaterThan(15);
      const mismatches: string[] = [];
      let checked = 0;
      for (const route of routes) {
        const permission = canonicalPermission(route.permission);
        expect(PERMISSIONS).toContain(permission);
        const projectId = await projectWithTeam();
        // owner last: a route that deletes the project must not hide the answers for the others
        for (const subject of SUBJECTS) {
          const path = pathFor(route, projectId);
          const init = route.rawBody
            ? { token: tokens.get(subject), body: '', contentType: route.rawBody.contentTypes[0]! }
            : route.body
              ? { token: tokens.get(subject), body: {} }
              : { token: tokens.get(subject) };
          const r = await call(route.method, path, init);
          checked++;
          if (isCrowdRoute(route)) {
            // public in the table, but only for a crowd credential of the link (walked below): users' tokens are no such credential
            const codes = ['crowd_link_invalid', 'crowd_unauthenticated'];
            if (r.status !== 401 || !codes.includes(r.body?.error?.code ?? '')) mismatches.push(`${subject} ${route.method.toUpperCase()} ${route.path}: expected 401 ${codes.join('/')}, got ${r.status} ${r.body?.error?.code}`);
            continue;
          }
          const expectAllowed = allowed(subject, permission);
          const refused = r.status === 401 || r.status === 403;
          if (expectAllowed && refused) mismatches.push(`${subject} ${route.method.toUpperCase()} ${route.path} (${permission}): refused ${r.status} ${r.body?.error?.code}`);
          if (!expectAllowed) {
            const want = subject === 'anonymous' ? [401, 'unauthenticated'] : [403, 'forbidden'];
            if (r.status !== want[0] || r.body?.error?.code !== want[1]) {
              mismatches.push(`${subject} ${route.method.toUpperCase()} ${route.path} (${permission}): expected ${want.join(' ')}, got ${r.status} ${r.body?.error?.code}`);
            } else if (subject !== 'anonymous') {
              const details = r.body!.error!.details;
              if (details['permission'] !== permission || details['role'] !== (subject === 'signed-in' ? null : subject)) {
                mismatches.push(`${subject} ${route.method.toUpperCase()} ${route.path}: 403 details ${JSON.stringify(details)}`);
              }
            }
          }
        }
      }
      expect(mismatches).toEqual([]);
      expect(checked).toBe(routes.length * SUBJECTS.length);
    });

    it('walks every route with a crowd credential: its own link routes let through, every other route that needs a caller 403', async () => {
      const projectId = await projectWithTeam();
      const task = await call('post', `/api/projects/${projectId}/tasks`, { token: ADMIN_TOKEN, body: { name: 'Crowd walk', kind: 'single_label' } });
      expect(task.status).toBe(201);
      const slice = await call('post', `/api/projects/${projectId}/slices`, { token: ADMIN_TOKEN, body: { name: 'All', kind: 'static', recordIds: ['r1'] } });
      expect(slice.status).toBe(201);
      const link = await call('post', `/api/projects/${projectId}/crowd-links`, {
        token: ADMIN_TOKEN,
        body: { name: 'Walk', sliceId: (slice.body as unknown as { id: string }).id, quota: 5, expiresInHours: 1 },
      });
      expect(link.status).toBe(201);
      const linkToken = (link.body as unknown as { token: string }).token;
      const joined = await call('post', `/api/crowd/${linkToken}/join`);
      expect(joined.status).toBe(201);
      const credential = (joined.body as unknown as { credential: string }).credential;
      const mismatches: string[] = [];
      for (const route of api.routes) {
        const permission = canonicalPermission(route.permission);
        const path = pathFor(route, projectId).replace(/^\/api\/crowd\/[^/]+/, `/api/crowd/${linkToken}`);
        const init = route.rawBody ? { token: credential, body: '', contentType: route.rawBody.contentTypes[0]! } : route.body ? { token: credential, body: {} } : { token: credential };
        const r = await call(route.method, path, init);
        if (isCrowdRoute(route)) {
          if (r.status === 401 || r.body?.error?.code === 'forbidden') mismatches.push(`crowd ${route.method.toUpperCase()} ${route.path}: refused ${r.status} ${r.body?.error?.code}`);
        } else if (permission !== 'public' && (r.status !== 403 || r.body?.error?.code !== 'forbidden')) {
          mismatches.push(`crowd ${route.method.toUpperCase()} ${route.path} (${permission}): expected 403 forbidden, got ${r.status} ${r.body?.error?.code}`);
        }
      }
      expect(mismatches).toEqual([]);
    });

    it('walks the live-session WebSocket for every subject: 401 / 403 on upgrade, read-only for who may only watch', async () => {
      const projectId = await projectWithTeam();
      // the team's memberships were appended directly: wait until they are projected
      for (let i = 0; i < 600; i++) {
        const m = await call('get', `/api/projects/${projectId}/members`, { token: ADMIN_TOKEN });
        if (m.status === 200 && (m.body as unknown as { members: unknown[] }).members.length === ROLES.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // a team session whose annotator list is empty: the annotator role may watch, not work
      const started = await call('post', `/api/projects/${projectId}/sessions`, { token: ADMIN_TOKEN, body: { name: 'Walk', distribution: { overlap: 1, annotators: [] } } });
      expect(started.status).toBe(201);
      const sessionId = (started.body as unknown as { id: string }).id;
      const observer = await connectLive(api.url, projectId, sessionId, ADMIN_TOKEN);
      const mismatches: string[] = [];
      try {
        for (const subject of SUBJECTS) {
          const token = tokens.get(subject);
          const expected = allowed(subject, 'project:read');
          if (!expected) {
            const r = await rawUpgrade(`${liveUrl(api.url, projectId)}/${sessionId}${token ? `?token=${token}` : ''}`);
            const want = subject === 'anonymous' ? [401, 'unauthenticated'] : [403, 'forbidden'];
            if (r.status !== want[0] || r.body?.error.code !== want[1]) mismatches.push(`${subject}: expected ${want.join(' ')}, got ${r.status} ${r.body?.error.code}`);
            continue;
          }
          if (subject === 'owner') continue; // the observer
          const c = await connectLive(api.url, projectId, sessionId, token!);
          c.provider.awareness.setLocalState({ record: subject });
          const seen = () => [...observer.provider.awareness.getStates().values()].find((s) => (s as { record?: string }).record === subject) as { user: { readOnly: boolean } } | undefined;
          await until(() => seen() !== undefined, 5000, `${subject}'s presence`);
          const readOnly = !allowed(subject, 'project:manage') && subject === 'annotator';
          if (seen()!.user.readOnly !== readOnly) mismatches.push(`${subject}: readOnly ${seen()!.user.readOnly}, expected ${readOnly}`);
          c.close();
        }
      } finally {
        observer.close();
      }
      expect(mismatches).toEqual([]);
    });

    it('the table covers the identity routes and every project route names its project in the path', () => {
      const keys = api.routes.map((r) => `${r.method.toUpperCase()} ${r.path}`);
      expect(keys).toEqual(
        expect.arrayContaining([
          'POST /api/auth/sign-in',
          'POST /api/auth/sign-out',
          'GET /api/auth/me',
          'POST /api/auth/tokens',
          'GET /api/auth/tokens',
          'DELETE /api/auth/tokens/:tokenId',
          'POST /api/invitations',
          'POST /api/invitations/:token/accept',
          'GET /api/projects/:id/members',
          'POST /api/projects/:id/members',
          'PATCH /api/projects/:id/members/:userId',
          'DELETE /api/projects/:id/members/:userId',
        ]),
      );
      for (const route of api.routes) {
        if (canonicalPermission(route.permission).startsWith('project:')) expect(projectParam(route.path), route.path).toBeDefined();
      }
    });

    it('mounting refuses a project permission on a route without the project in its path', () => {
      const route = { method: 'get', path: '/api/things', summary: '', tags: [], permission: 'project:read', responses: {}, handler: async () => ({ body: {} }) } as unknown as AnyRoute;
      expect(() => mountRoutes(express.Router(), [route], { authenticate: async () => undefined, roleIn: async () => undefined, checkCsrf: () => undefined })).toThrow(/needs permission project:read/);
    });

    it('a non-uuid project id is a 400 for members and a 403 never leaks which projects exist', async () => {
      const r = await call('get', '/api/projects/not-a-uuid', { token: tokens.get('signed-in') });
      expect(r.status).toBe(400);
      const missing = await call('get', `/api/projects/${randomUUID()}`, { token: tokens.get('signed-in') });
      const existing = await call('get', `/api/projects/${await projectWithTeam()}`, { token: tokens.get('signed-in') });
      expect([missing.status, missing.body?.error?.code]).toEqual([403, 'forbidden']);
      expect([existing.status, existing.body?.error?.code]).toEqual([403, 'forbidden']);
    });
  });
}
