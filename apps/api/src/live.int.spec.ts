import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { recordStreamId } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { loadConfig, platformOn, type Platform } from '@refinery/runtime';
import { startProjector, type ProjectorHandle } from '@refinery/projector-app';
import { sameLiveLabels } from '@refinery/read-models';
import { startApiServer, type ApiServer } from './server.ts';
import { closed, connectLive, liveUrl, rawUpgrade, until, type LiveClient } from './live/testing.ts';

const ADMIN_TOKEN = 'rfy_live-int-spec-admin-token-0123456789';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/**
 * Live session documents at the protocol level: real Node Yjs clients (y-websocket provider,
 * no BroadcastChannel) against the API started on port 0, as `refinery start` wires it.
 */
for (const backend of testBackends()) {
  describe(`live sessions on ${backend.name}`, () => {
    let platform: Platform;
    let projector: ProjectorHandle;
    let api: ApiServer;
    let projectId: string;
    let otherProjectId: string;
    let taskId: string;
    const labels: Record<string, string> = {};
    /** name → { token, userId } */
    const people = new Map<string, { token: string; userId: string; name: string }>();
    const clients: LiveClient[] = [];

    async function startApi() {
      // generous: on a shared PostgreSQL server, other databases' long transactions hold the log's visibility back
      const config = { ...loadConfig({ REFINERY_ADMIN_TOKEN: ADMIN_TOKEN }), port: 0, readWaitMs: 30_000 };
      api = await startApiServer(platform, config, {
        onAdvanced: (l) => projector.runner.onAdvanced(l),
        localCheckpoints: () => projector.runner.localCheckpoints(),
        log: (m) => process.env.LIVE_SPEC_LOG && console.error(m),
        live: { storeDebounceMs: 50, storeMaxWaitMs: 200, claimSweepMs: 100, unloadAfterMs: 200, maxClientBytesPerDocument: 64 * 1024 },
      });
    }

    async function call(method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<{ status: number; body: Json }> {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      let payload: string | undefined;
      if (typeof body === 'string') {
        payload = body;
        headers['content-type'] = 'application/x-ndjson';
      } else if (body !== undefined) {
        payload = JSON.stringify(body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${api.url}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    }
    const ok = async (p: Promise<{ status: number; body: Json }>, status = 200): Promise<Json> => {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      return r.body;
    };

    async function person(name: string, role: string | undefined, project = projectId) {
      const inv = await ok(call('POST', '/api/invitations', { email: `${name}@example.com` }), 201);
      const res = await fetch(`${api.url}/api/invitations/${inv.token}/accept`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, password: `${name}-password-123` }),
      });
      const accepted = (await res.json()) as { user: { id: string }; csrfToken: string };
      const cookie = res.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const created = await fetch(`${api.url}/api/auth/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': accepted.csrfToken },
        body: JSON.stringify({ name: 'live' }),
      });
      const token = ((await created.json()) as { token: string }).token;
      if (role) await ok(call('POST', `/api/projects/${project}/members`, { userId: accepted.user.id, role }), 201);
      people.set(name, { token, userId: accepted.user.id, name });
      return { token, userId: accepted.user.id, cookie };
    }
    const tokenOf = (name: string) => people.get(name)!.token;
    const live = async (sessionId: string, name: string, params: Record<string, string> = {}) => {
      const c = await connectLive(api.url, projectId, sessionId, name === 'owner' ? ADMIN_TOKEN : tokenOf(name), params);
      clients.push(c);
      return c;
    };
    let last = '';
    async function teamSession(distribution: Record<string, unknown>, name = 'Team'): Promise<string> {
      const r = await ok(call('POST', `/api/projects/${projectId}/sessions`, { name, distribution }), 201);
      last = r.position;
      return r.id;
    }
    async function label(recordId: string, labelName: string, as: string) {
      const r = await ok(call('PUT', `/api/projects/${projectId}/records/${recordId}/labels/${taskId}`, { labelIds: [labels[labelName]] }, as === 'owner' ? ADMIN_TOKEN : tokenOf(as)));
      last = r.position;
      return r;
    }

    beforeAll(async () => {
      platform = await platformOn(await backend.open(), backend.name === 'pglite' ? 'embedded' : 'server');
      projector = await startProjector(platform, { log: () => undefined });
      await startApi();
      for (let i = 0; i < 200 && (await call('GET', '/api/auth/me')).status === 401; i++) await new Promise((r) => setTimeout(r, 50));
      projectId = (await ok(call('POST', '/api/projects', { name: 'Live' }), 201)).id;
      otherProjectId = (await ok(call('POST', '/api/projects', { name: 'Elsewhere' }), 201)).id;
      for (const id of [projectId, otherProjectId]) {
        for (let i = 0; i < 600 && (await call('GET', `/api/projects/${id}`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      }
      const jsonl = Array.from({ length: 8 }, (_, i) => JSON.stringify({ id: `r${i + 1}`, text: `record number ${i + 1}` })).join('\n');
      await ok(call('POST', `/api/projects/${projectId}/imports?primaryKey=id`, jsonl), 201);
      taskId = (await ok(call('POST', `/api/projects/${projectId}/tasks`, { name: 'Sentiment', kind: 'single_label' }), 201)).id;
      for (const name of ['positive', 'negative']) labels[name] = (await ok(call('POST', `/api/projects/${projectId}/tasks/${taskId}/labels`, { name }), 201)).id;
      await person('ann', 'annotator');
      await person('bob', 'annotator');
      await person('cyd', 'expert');
      await person('watcher', 'annotator');
      await person('outsider', undefined);
      await person('elsewhere', 'engineer', otherProjectId);
    }, 120_000);
    afterAll(async () => {
      for (const c of clients) c.close();
      await api.close();
      await projector.stop();
      await platform.store.close();
      await backend.cleanup();
    });

    it('checks credentials, project and session on upgrade, before any WebSocket exists', async () => {
      const session = await teamSession({ overlap: 1 });
      const url = `${liveUrl(api.url, projectId)}/${session}`;
      const none = await rawUpgrade(url);
      expect([none.status, none.body?.error.code]).toEqual([401, 'unauthenticated']);
      const wrong = await rawUpgrade(`${url}?token=rfy_not-a-token`);
      expect(wrong.status).toBe(401);
      const outsider = await rawUpgrade(`${url}?token=${tokenOf('outsider')}`);
      expect([outsider.status, outsider.body?.error.code]).toEqual([403, 'forbidden']);
      // a member of another project: their project id with this session, or this project → 403 / 404
      const elsewhere = await rawUpgrade(`${url}?token=${tokenOf('elsewhere')}`);
      expect([elsewhere.status, elsewhere.body?.error.code]).toEqual([403, 'forbidden']);
      const crossed = await rawUpgrade(`${liveUrl(api.url, otherProjectId)}/${session}?token=${tokenOf('elsewhere')}`);
      expect([crossed.status, crossed.body?.error.code]).toEqual([404, 'session_not_found']);
      const bad = await rawUpgrade(`${liveUrl(api.url, projectId)}/not-a-uuid?token=${ADMIN_TOKEN}`);
      expect(bad.status).toBe(400);
      const nowhere = await rawUpgrade(`${api.url.replace('http', 'ws')}/api/live/elsewhere?token=${ADMIN_TOKEN}`);
      expect(nowhere.status).toBe(404);
      // a personal session is its owner's only
      const personal = (await ok(call('POST', `/api/projects/${projectId}/sessions`, { name: 'Mine' }), 201)).id;
      expect((await rawUpgrade(`${liveUrl(api.url, projectId)}/${personal}?token=${tokenOf('ann')}`)).status).toBe(404);
      // a cookie from a page of another origin is refused (cross-site WebSocket hijacking)
      const signIn = await fetch(`${api.url}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ann@example.com', password: 'ann-password-123' }) });
      const cookie = signIn.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const foreign = await rawUpgrade(url, { cookie, origin: 'https://evil.example' });
      expect([foreign.status, foreign.body?.error.code]).toEqual([403, 'origin_not_allowed']);
      const own = await rawUpgrade(url, { cookie, origin: api.url });
      expect(own.status).toBe(101);
      own.ws!.close();
    });

    it('relays awareness with the server-stamped user, and drafts between writers', async () => {
      const session = await teamSession({ overlap: 2 });
      const a = await live(session, 'ann');
      const b = await live(session, 'bob');
      a.provider.awareness.setLocalState({ record: 'r3', user: { name: 'Somebody Else', color: '#000000' } });
      const stateOfAnn = () => [...b.provider.awareness.getStates().values()].find((s) => (s as Json).user?.id === people.get('ann')!.userId) as Json;
      await until(() => stateOfAnn()?.record === 'r3', 5000, 'ann’s presence at bob');
      expect(stateOfAnn().user).toMatchObject({ id: people.get('ann')!.userId, name: 'ann', readOnly: false });
      expect(stateOfAnn().user.color).toMatch(/^#[0-9a-f]{6}$/);
      a.doc.getMap('drafts').set('r3', 'maybe positive?');
      await until(() => b.doc.getMap('drafts').get('r3') === 'maybe positive?', 5000, 'the draft at bob');
      // leaving removes the presence
      a.close();
      await until(() => stateOfAnn() === undefined, 5000, 'ann’s presence gone');
    });

    it('mirrors a label written over HTTP into every open document once it is projected', async () => {
      const session = await teamSession({ overlap: 2 });
      const a = await live(session, 'ann');
      const b = await live(session, 'cyd');
      await label('r2', 'negative', 'bob');
      for (const c of [a, b]) {
        await until(() => (c.doc.getMap('labels').get('r2') as Json)?.annotators?.includes(people.get('bob')!.userId), 5000, 'the label in the document');
        expect((c.doc.getMap('labels').get('r2') as Json).tasks[taskId][people.get('bob')!.userId]).toEqual([labels.negative]);
      }
      // a client that arrives later reads it from the read model
      const late = await live(session, 'owner');
      expect((late.doc.getMap('labels').get('r2') as Json).count).toBe(1);
    });

    it('writes labels committed through this node at once, folded from the events; the read model agrees; other writers arrive through the mirror', async () => {
      const session = await teamSession({ overlap: 3 });
      const a = await live(session, 'ann');
      const folded = api.live.stats.foldedLabels;
      const confirmed = api.live.stats.foldsConfirmed;
      await label('r5', 'positive', 'bob');
      await label('r5', 'negative', 'bob'); // replaces bob's answer
      await label('r5', 'positive', 'cyd');
      await ok(call('PUT', `/api/projects/${projectId}/records/r5/gold/${taskId}`, { labelIds: [labels.negative] }, tokenOf('cyd')));
      const bob = people.get('bob')!.userId;
      const cyd = people.get('cyd')!.userId;
      const want = { annotators: [bob, cyd].sort(), tasks: { [taskId]: { gold: [labels.negative], [bob]: [labels.negative], [cyd]: [labels.positive] } }, count: 2 };
      await until(() => sameLiveLabels(a.doc.getMap('labels').get('r5'), want), 5000, 'the folded labels in the document');
      const foldedNow = api.live.stats.foldedLabels;
      expect(foldedNow - folded).toBeGreaterThanOrEqual(4); // every open document of the project
      // the mirror, reaching those events, finds the documents right and reads nothing for them
      await until(() => api.live.stats.foldsConfirmed > confirmed, 5000, 'the mirror confirming the folds');
      // a later client reads the same from the read model
      await call('GET', `/api/projects/${projectId}/records/r5/labels?after=${last}`);
      const late = await live(session, 'owner');
      expect(sameLiveLabels(late.doc.getMap('labels').get('r5'), want)).toBe(true);
      // an answer appended by another writer (not this node's API) comes through the mirror
      const batches = api.live.stats.mirroredBatches;
      await platform.store.append(recordStreamId(projectId, 'r6'), [{ type: 'RecordLabeled', data: { projectId, recordId: 'r6', taskId, annotator: cyd, labelIds: [labels.positive], spans: [] } }], { actor: cyd });
      await until(() => sameLiveLabels(a.doc.getMap('labels').get('r6'), { annotators: [cyd], tasks: { [taskId]: { [cyd]: [labels.positive] } }, count: 1 }), 5000, 'the mirrored label');
      expect(api.live.stats.mirroredBatches).toBeGreaterThan(batches);
      expect(api.live.stats.foldedLabels).toBe(foldedNow);
      // both on one record: this node's fold, then another writer's answer — the mirror reads it
      await label('r7', 'negative', 'bob');
      await platform.store.append(recordStreamId(projectId, 'r7'), [{ type: 'RecordLabeled', data: { projectId, recordId: 'r7', taskId, annotator: cyd, labelIds: [labels.positive], spans: [] } }], { actor: cyd });
      const both = { annotators: [bob, cyd].sort(), tasks: { [taskId]: { [bob]: [labels.negative], [cyd]: [labels.positive] } }, count: 2 };
      await until(() => sameLiveLabels(a.doc.getMap('labels').get('r7'), both), 5000, 'both answers on r7');
    });

    it('a role that may only watch gets a read-only connection: its updates never reach the document', async () => {
      const session = await teamSession({ overlap: 1, annotators: [people.get('ann')!.userId] });
      const writer = await live(session, 'ann');
      const watcher = await live(session, 'watcher');
      watcher.provider.awareness.setLocalState({ record: 'r1' });
      await until(() => [...writer.provider.awareness.getStates().values()].some((s) => (s as Json).user?.readOnly === true), 5000, 'the watcher’s presence');
      watcher.doc.getMap('drafts').set('r1', 'written by a watcher');
      writer.doc.getMap('drafts').set('r2', 'written by ann');
      await until(() => watcher.doc.getMap('drafts').get('r2') === 'written by ann', 5000, 'ann’s draft at the watcher');
      await new Promise((r) => setTimeout(r, 300));
      expect(writer.doc.getMap('drafts').get('r1')).toBeUndefined();
      const fresh = await live(session, 'owner');
      expect(fresh.doc.getMap('drafts').get('r1')).toBeUndefined();
      expect(fresh.doc.getMap('drafts').get('r2')).toBe('written by ann');
      // … and the HTTP side agrees: the watcher cannot claim
      const refused = await call('POST', `/api/projects/${projectId}/sessions/${session}/next`, { after: last }, tokenOf('watcher'));
      expect([refused.status, refused.body.error.code]).toEqual([403, 'session_read_only']);
      // ?mode=watch makes any connection read-only
      const watching = await live(session, 'ann', { mode: 'watch' });
      watching.doc.getMap('drafts').set('r4', 'not stored');
      await new Promise((r) => setTimeout(r, 300));
      expect(fresh.doc.getMap('drafts').get('r4')).toBeUndefined();
    });

    it('closes a socket that sends an oversized, malformed or forbidden message, and keeps serving the others', async () => {
      const session = await teamSession({ overlap: 1 });
      const a = await live(session, 'ann');
      const b = await live(session, 'bob');
      const url = `${liveUrl(api.url, projectId)}/${session}?token=${tokenOf('cyd')}`;

      const big = (await rawUpgrade(url)).ws!;
      const bigClosed = closed(big);
      big.send(new Uint8Array(1024 * 1024 + 10));
      const tooBig = await bigClosed;
      expect(tooBig.code).toBe(1009);
      expect(tooBig.reason).toMatch(/limit is 1048576/);

      const garbage = (await rawUpgrade(url)).ws!;
      const garbageClosed = closed(garbage);
      garbage.send(new Uint8Array([0, 1, 200, 200, 200])); // an update whose length runs past the end
      expect((await garbageClosed).code).toBe(1007);

      const unknown = (await rawUpgrade(url)).ws!;
      const unknownClosed = closed(unknown);
      unknown.send(new Uint8Array([42]));
      expect(await unknownClosed).toEqual({ code: 1007, reason: 'malformed message: unknown message type 42' });

      const text = (await rawUpgrade(url)).ws!;
      const textClosed = closed(text);
      text.send('hello');
      expect((await textClosed).code).toBe(1003);

      // a writer trying to write labels itself: the update is refused and the socket closed
      const forger = (await rawUpgrade(url)).ws!;
      const forgerClosed = closed(forger);
      const fake = new Y.Doc();
      fake.getMap('labels').set('r1', { annotators: ['me'], tasks: {}, count: 1 });
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint(e, 2);
      encoding.writeVarUint8Array(e, Y.encodeStateAsUpdate(fake));
      forger.send(encoding.toUint8Array(e));
      const forged = await forgerClosed;
      expect(forged.code).toBe(1008);
      expect(forged.reason).toMatch(/"labels"/);

      // drafts are bounded per document: a writer going past the limit is closed, nothing applied
      const hoarder = await live(session, 'cyd');
      const hoarderClosed = new Promise<{ code: number; reason: string }>((resolve) =>
        hoarder.provider.on('connection-close', (event: { code: number; reason: string } | null) => resolve({ code: event?.code ?? 0, reason: event?.reason ?? '' })),
      );
      hoarder.doc.getMap('drafts').set('big', 'x'.repeat(70 * 1024));
      const hoarded = await hoarderClosed;
      expect(hoarded.code).toBe(1008);
      expect(hoarded.reason).toMatch(/drafts reached 65536 bytes/);
      hoarder.close();

      // the others carry on
      a.doc.getMap('drafts').set('r5', 'still here');
      await until(() => b.doc.getMap('drafts').get('r5') === 'still here', 5000, 'sync after the bad clients');
      expect(b.doc.getMap('labels').get('r1')).toBeUndefined();
      expect(b.doc.getMap('drafts').get('big')).toBeUndefined();
    });

    it('hands out records by overlap and claims: never the same record to two people while claimed, released when idle', async () => {
      const session = await teamSession({ overlap: 2, claimTimeoutSeconds: 1 });
      const watcherDoc = await live(session, 'owner');
      const claims = () => watcherDoc.doc.getMap('claims');
      const next = (who: string) => ok(call('POST', `/api/projects/${projectId}/sessions/${session}/next`, { after: last || undefined }, tokenOf(who)));

      // concurrent offers: all different while claimed
      const first = await Promise.all(['ann', 'bob', 'cyd'].map((w) => next(w)));
      const offered = first.map((r) => r.recordId);
      expect(new Set(offered).size).toBe(3);
      await until(() => claims().size === 3, 5000, 'three claims in the document');
      expect((claims().get(offered[0]) as Json).userId).toBe(people.get('ann')!.userId);

      // someone else's claim is refused; your own is renewed
      const taken = await call('POST', `/api/projects/${projectId}/sessions/${session}/claims`, { recordId: offered[0] }, tokenOf('bob'));
      expect([taken.status, taken.body.error.code]).toEqual([409, 'claimed']);
      await ok(call('POST', `/api/projects/${projectId}/sessions/${session}/claims`, { recordId: offered[0] }, tokenOf('ann')));
      expect((await call('POST', `/api/projects/${projectId}/sessions/${session}/claims`, { recordId: 'nope' }, tokenOf('ann'))).status).toBe(404);

      // idle: ann's claim lapses after 1 s and the document drops it; then bob may take it
      await until(() => !claims().has(offered[0]), 5000, 'the lapsed claim gone from the document');
      await ok(call('POST', `/api/projects/${projectId}/sessions/${session}/claims`, { recordId: offered[0] }, tokenOf('bob')));
      await ok(call('DELETE', `/api/projects/${projectId}/sessions/${session}/claims/${encodeURIComponent(offered[0])}`, undefined, tokenOf('bob')));

      // overlap 2: once two people labeled a record, nobody else is offered it
      await label('r1', 'positive', 'ann');
      await label('r1', 'negative', 'cyd');
      for (let i = 0; i < 6; i++) {
        const r = await next('bob');
        expect(r.recordId).not.toBe('r1');
        if (r.recordId) await label(r.recordId, 'positive', 'bob');
      }
      // bob labeled everything else (or it is taken): he is offered nothing he already labeled
      const offeredToBob = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const r = await next('bob');
        if (r.recordId) offeredToBob.add(r.recordId);
      }
      expect(offeredToBob.has('r1')).toBe(false);

      // a personal session has no distribution
      const personal = await ok(call('POST', `/api/projects/${projectId}/sessions`, { name: 'Solo' }), 201);
      expect((await call('POST', `/api/projects/${projectId}/sessions/${personal.id}/next`, { after: personal.position })).body.error.code).toBe('not_a_team_session');
      // annotators may not start team sessions
      const notAllowed = await call('POST', `/api/projects/${projectId}/sessions`, { distribution: { overlap: 2 } }, tokenOf('ann'));
      expect(notAllowed.status).toBe(403);
    });

    it('stores documents (debounced) and restores them after a restart', async () => {
      const session = await teamSession({ overlap: 1 });
      const a = await live(session, 'ann');
      a.doc.getMap('drafts').set('r6', 'kept across restarts');
      await label('r6', 'positive', 'ann');
      await until(() => a.doc.getMap('labels').has('r6'), 5000, 'the label in the document');
      await new Promise((r) => setTimeout(r, 400)); // past the debounce
      a.close();
      await api.close();
      await startApi();
      const b = await live(session, 'bob');
      expect(b.doc.getMap('drafts').get('r6')).toBe('kept across restarts');
      expect((b.doc.getMap('labels').get('r6') as Json).annotators).toContain(people.get('ann')!.userId);
      // and labels keep flowing after the restart
      await label('r7', 'negative', 'bob');
      await until(() => b.doc.getMap('labels').has('r7'), 5000, 'a label after the restart');
    });
  });
}
