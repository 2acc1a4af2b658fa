import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crowdLinkStreamId } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { startTestApi, type Json, type TestApi } from '../test/product.ts';
import { crowdLinkIdOf } from './features/crowd.ts';

const ADMIN_TOKEN = 'rfy_crowd-int-spec-admin-token-0123456789';

for (const backend of testBackends()) {
  describe(`crowd links on ${backend.name}`, () => {
    let t: TestApi;
    let projectId: string;
    let otherProject: string;
    let taskId: string;
    let otherTask: string;
    const labels: Record<string, string> = {};
    let sliceId: string;
    let last = '';

    async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const r = await t.call(method, path, body, headers);
      if (r.body?.position) last = r.body.position;
      return r;
    }
    /** a request without the owner's token: as a crowd holder (or nobody) */
    async function crowd(method: string, path: string, credential?: string, body?: unknown) {
      const headers: Record<string, string> = {};
      if (credential) headers['authorization'] = `Bearer ${credential}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${t.api.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Json };
    }
    const ok = async (p: Promise<{ status: number; body: Json }>, status = 200): Promise<Json> => {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      return r.body;
    };
    const refused = async (p: Promise<{ status: number; body: Json }>, status: number, code: string): Promise<Json> => {
      const r = await p;
      expect([r.status, r.body?.error?.code], JSON.stringify(r.body)).toEqual([status, code]);
      return r.body;
    };
    const linkEvents = async (token: string) => (await t.platform.store.readStream(crowdLinkStreamId(crowdLinkIdOf(token)))).map((e) => e.type);

    beforeAll(async () => {
      t = await startTestApi(backend, { adminToken: ADMIN_TOKEN, config: { readWaitMs: 10_000 } });
      projectId = (await ok(call('POST', '/api/projects', { name: 'Crowd' }), 201)).id;
      otherProject = (await ok(call('POST', '/api/projects', { name: 'Other' }), 201)).id;
      const jsonl = ['a', 'b', 'c', 'd', 'e']
        .map((id, i) => JSON.stringify({ id, text: `text ${id}`, lang: i < 4 ? 'en' : 'de' }))
        .join('\n');
      await ok(call('POST', `/api/projects/${projectId}/imports?primaryKey=id`, jsonl, { 'content-type': 'application/x-ndjson' }), 201);
      taskId = (await ok(call('POST', `/api/projects/${projectId}/tasks`, { name: 'Sentiment', kind: 'single_label' }), 201)).id;
      otherTask = (await ok(call('POST', `/api/projects/${projectId}/tasks`, { name: 'Topic', kind: 'single_label' }), 201)).id;
      for (const name of ['pos', 'neg']) labels[name] = (await ok(call('POST', `/api/projects/${projectId}/tasks/${taskId}/labels`, { name }), 201)).id;
      labels.topic = (await ok(call('POST', `/api/projects/${projectId}/tasks/${otherTask}/labels`, { name: 'sports' }), 201)).id;
      await ok(call('GET', `/api/projects/${projectId}/records?after=${last}`));
      sliceId = (await ok(call('POST', `/api/projects/${projectId}/slices`, { name: 'English', kind: 'dynamic', filter: { attribute: 'lang', op: 'eq', value: 'en', caseSensitive: false } }), 201)).id;
      await ok(call('GET', `/api/projects/${projectId}/slices?after=${last}`));
    });
    afterAll(() => t.close());

    async function createLink(body: Record<string, unknown> = {}) {
      return ok(call('POST', `/api/projects/${projectId}/crowd-links`, { name: 'Friday crowd', sliceId, taskId, quota: 3, expiresInHours: 24, ...body }), 201);
    }

    it('creates a link (token shown once, only its hash in the log) and refuses bad input without writing', async () => {
      const link = await createLink();
      expect(link.token).toMatch(/^rfyl_[A-Za-z0-9_-]{43}$/);
      expect(link.link).toBe(`/crowd/${link.token}`);
      const stored = await t.platform.store.readStream(crowdLinkStreamId(link.id));
      expect(stored.map((e) => e.type)).toEqual(['CrowdLinkCreated']);
      expect(JSON.stringify(stored, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(link.token);

      await refused(call('POST', `/api/projects/${projectId}/crowd-links`, { name: 'x', sliceId: 'nope', quota: 3, expiresInHours: 1 }), 404, 'slice_not_found');
      await refused(call('POST', `/api/projects/${projectId}/crowd-links`, { name: 'x', sliceId, taskId: 'nope', quota: 3, expiresInHours: 1 }), 404, 'task_not_found');
      await refused(call('POST', `/api/projects/${projectId}/crowd-links`, { name: 'x', sliceId, quota: 0, expiresInHours: 1 }), 400, 'invalid_request');
      await refused(call('POST', `/api/projects/${projectId}/crowd-links`, { name: 'x', sliceId, quota: 3, expiresInHours: 24 * 365 }), 400, 'invalid_request');
      // nothing written: still the one link (other writers, e.g. session upkeep, may move the head)

      const list = await ok(call('GET', `/api/projects/${projectId}/crowd-links?after=${last}`));
      expect(list.links).toHaveLength(1); // the refused creations wrote nothing
      expect(list.links[0]).toMatchObject({ id: link.id, status: 'active', holders: 0, recordsLabeled: 0, quota: 3, sliceId, taskId });
      expect(JSON.stringify(list)).not.toContain(link.token);
    });

    it('join → next → read → label, in the slice only, up to the quota; labels are source crowd with the pseudonym', async () => {
      const link = await createLink();
      await refused(crowd('POST', `/api/crowd/rfyl_${'x'.repeat(43)}/join`), 401, 'crowd_link_invalid');
      await refused(crowd('POST', '/api/crowd/garbage/join'), 401, 'crowd_link_invalid');
      const joined = await ok(crowd('POST', `/api/crowd/${link.token}/join`), 201);
      expect(joined.pseudonym).toMatch(/^crowd-[0-9a-f]{6}$/);
      expect(joined.credential).toMatch(/^rfyc_/);
      expect(joined.tasks.map((x: Json) => x.id)).toEqual([taskId]);
      expect(joined.progress).toEqual({ done: 0, quota: 3 });
      const cred: string = joined.credential;
      // the same credential re-joins as the same holder
      const again = await ok(crowd('POST', `/api/crowd/${link.token}/join`, cred));
      expect(again.pseudonym).toBe(joined.pseudonym);
      const second = await ok(crowd('POST', `/api/crowd/${link.token}/join`), 201);
      expect(second.pseudonym).not.toBe(joined.pseudonym);

      await refused(crowd('GET', `/api/crowd/${link.token}/next`), 401, 'crowd_unauthenticated');
      await refused(crowd('GET', `/api/crowd/${link.token}/next`, second.credential.replace(/.$/, (c: string) => (c === 'A' ? 'B' : 'A'))), 401, 'crowd_unauthenticated');

      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        const next = await ok(crowd('GET', `/api/crowd/${link.token}/next`, cred));
        expect(next.record).not.toBeNull();
        expect(next.progress.done).toBe(i);
        seen.push(next.record.id);
        const read = await ok(crowd('GET', `/api/crowd/${link.token}/records/${next.record.id}`, cred));
        expect(read.record.values.lang).toBe('en');
        const saved = await ok(crowd('PUT', `/api/crowd/${link.token}/records/${next.record.id}/labels/${taskId}`, cred, { labelIds: [i === 1 ? labels.neg : labels.pos] }));
        expect(saved.progress).toEqual({ done: i + 1, quota: 3 });
      }
      expect(seen).toEqual(['a', 'b', 'c']);
      // changing an answer already given is free; a fourth record is not
      await ok(crowd('PUT', `/api/crowd/${link.token}/records/a/labels/${taskId}`, cred, { labelIds: [labels.neg] }));
      const done = await ok(crowd('GET', `/api/crowd/${link.token}/next`, cred));
      expect(done).toMatchObject({ record: null, reason: 'quota_reached', progress: { done: 3, quota: 3 } });
      const before = await linkEvents(link.token);
      await refused(crowd('PUT', `/api/crowd/${link.token}/records/d/labels/${taskId}`, cred, { labelIds: [labels.pos] }), 409, 'crowd_quota_reached');
      // outside the slice, outside the task, unknown labels: refused, nothing written
      await refused(crowd('GET', `/api/crowd/${link.token}/records/e`, second.credential), 403, 'record_outside_link');
      await refused(crowd('GET', `/api/crowd/${link.token}/records/nope`, second.credential), 403, 'record_outside_link');
      await refused(crowd('PUT', `/api/crowd/${link.token}/records/e/labels/${taskId}`, second.credential, { labelIds: [labels.pos] }), 403, 'record_outside_link');
      await refused(crowd('PUT', `/api/crowd/${link.token}/records/a/labels/${otherTask}`, second.credential, { labelIds: [labels.topic] }), 403, 'task_outside_link');
      await refused(crowd('PUT', `/api/crowd/${link.token}/records/a/labels/${taskId}`, second.credential, { labelIds: ['nope'] }), 422, 'unknown_label');
      await refused(crowd('PUT', `/api/crowd/${link.token}/records/a/labels/${taskId}`, second.credential, { labelIds: [labels.pos, labels.neg] }), 422, 'single_label_only');
      expect(await linkEvents(link.token)).toEqual(before);

      // the second holder labels the same records: agreement between the two pseudonyms
      let written = '';
      for (const [id, label] of [['a', 'neg'], ['b', 'neg'], ['c', 'neg']] as const) {
        written = (await ok(crowd('PUT', `/api/crowd/${link.token}/records/${id}/labels/${taskId}`, second.credential, { labelIds: [labels[label]] }))).position;
      }
      // read-your-writes with the position the last answer returned
      const view = await ok(call('GET', `/api/projects/${projectId}/records/a/labels?after=${written}`));
      const crowdAnswers = view.answers.filter((l: Json) => l.source === 'crowd');
      expect(crowdAnswers.map((l: Json) => [l.annotator, l.labelIds]).sort()).toEqual(
        [
          [joined.pseudonym, [labels.neg]],
          [second.pseudonym, [labels.neg]],
        ].sort(),
      );
      // crowd answers are their own source: no manual answer, no reference from them
      expect(view.answers.filter((l: Json) => l.source !== 'crowd')).toEqual([]);
      expect(view.reference).toEqual([]);
      const search = await ok(call('POST', `/api/projects/${projectId}/records/search`, { filter: { label: { taskId, source: 'any', labelId: labels.pos } } }));
      expect(search.records.map((r: Json) => r.id)).toEqual(['c']);
      const bySource = await ok(call('POST', `/api/projects/${projectId}/records/search`, { filter: { label: { taskId, source: 'crowd', labelId: labels.neg, annotator: second.pseudonym } } }));
      expect(bySource.records.map((r: Json) => r.id)).toEqual(['a', 'b', 'c']);
      const manual = await ok(call('POST', `/api/projects/${projectId}/records/search`, { filter: { label: { taskId, source: 'manual' } } }));
      expect(manual.records).toEqual([]);
      const agreement = await ok(call('GET', `/api/projects/${projectId}/agreement?task=${taskId}`));
      expect(agreement.annotators.map((a: Json) => a.id).sort()).toEqual([joined.pseudonym, second.pseudonym].sort());
      expect(agreement.records).toBe(3);

      const list = await ok(call('GET', `/api/projects/${projectId}/crowd-links?after=${await t.platform.store.head()}`));
      expect(list.links.find((l: Json) => l.id === link.id)).toMatchObject({ holders: 2, recordsLabeled: 6 });
    });

    it('concurrent answers cannot exceed the quota (decided on the link stream with its revision)', async () => {
      const link = await createLink({ quota: 1 });
      const joined = await ok(crowd('POST', `/api/crowd/${link.token}/join`), 201);
      const answers = await Promise.all(['a', 'b', 'c'].map((id) => crowd('PUT', `/api/crowd/${link.token}/records/${id}/labels/${taskId}`, joined.credential, { labelIds: [labels.pos] })));
      expect(answers.map((r) => r.status).sort()).toEqual([200, 409, 409]);
      expect(answers.filter((r) => r.status === 409).every((r) => r.body.error.code === 'crowd_quota_reached')).toBe(true);
      expect((await linkEvents(link.token)).filter((x) => x === 'CrowdRecordLabeled')).toHaveLength(1);
    });

    it('revoked and expired links: 410 and nothing written; revoking is for owners and engineers', async () => {
      const link = await createLink();
      const joined = await ok(crowd('POST', `/api/crowd/${link.token}/join`), 201);
      await ok(call('DELETE', `/api/projects/${projectId}/crowd-links/${link.id}`));
      await ok(call('DELETE', `/api/projects/${projectId}/crowd-links/${link.id}`));
      await refused(call('DELETE', `/api/projects/${otherProject}/crowd-links/${link.id}`), 404, 'crowd_link_not_found');
      const before = await linkEvents(link.token);
      expect(before.filter((x) => x === 'CrowdLinkRevoked')).toHaveLength(1);
      await refused(crowd('POST', `/api/crowd/${link.token}/join`), 410, 'crowd_link_revoked');
      await refused(crowd('GET', `/api/crowd/${link.token}/next`, joined.credential), 410, 'crowd_link_revoked');
      await refused(crowd('PUT', `/api/crowd/${link.token}/records/a/labels/${taskId}`, joined.credential, { labelIds: [labels.pos] }), 410, 'crowd_link_revoked');
      expect(await linkEvents(link.token)).toEqual(before);

      const short = await createLink({ expiresInHours: 1 / 60 });
      const holder = await ok(crowd('POST', `/api/crowd/${short.token}/join`), 201);
      const stored = await linkEvents(short.token);
      // an expired link: move the clock past its expiry
      const realNow = Date.now;
      Date.now = () => realNow() + 2 * 60_000;
      const RealDate = Date;
      globalThis.Date = class extends RealDate {
        constructor(...args: unknown[]) {
          if (args.length === 0) super(realNow() + 2 * 60_000);
          else super(...(args as [string]));
        }
        static override now = () => realNow() + 2 * 60_000;
      } as DateConstructor;
      try {
        await refused(crowd('POST', `/api/crowd/${short.token}/join`), 410, 'crowd_link_expired');
        await refused(crowd('GET', `/api/crowd/${short.token}/next`, holder.credential), 410, 'crowd_link_expired');
        await refused(crowd('PUT', `/api/crowd/${short.token}/records/a/labels/${taskId}`, holder.credential, { labelIds: [labels.pos] }), 410, 'crowd_link_expired');
      } finally {
        globalThis.Date = RealDate;
        Date.now = realNow;
      }
      expect(await linkEvents(short.token)).toEqual(stored);
      const list = await ok(call('GET', `/api/projects/${projectId}/crowd-links?after=${await t.platform.store.head()}`));
      expect(list.links.find((l: Json) => l.id === link.id).status).toBe('revoked');
    });

    it('a crowd credential is refused (403) by every other route; another link’s token does not accept it', async () => {
      const link = await createLink({ taskId: null });
      const other = await createLink();
      const joined = await ok(crowd('POST', `/api/crowd/${link.token}/join`), 201);
      expect(joined.tasks.map((x: Json) => x.id).sort()).toEqual([taskId, otherTask].sort());
      for (const [method, path] of [
        ['GET', '/api/auth/me'],
        ['GET', '/api/projects'],
        ['GET', `/api/projects/${projectId}`],
        ['GET', `/api/projects/${projectId}/records`],
        ['GET', `/api/projects/${projectId}/crowd-links`],
        ['PUT', `/api/projects/${projectId}/records/a/labels/${taskId}`],
      ] as const) {
        const r = await crowd(method, path, joined.credential, method === 'PUT' ? { labelIds: [labels.pos] } : undefined);
        expect([method, path, r.status, r.body?.error?.code]).toEqual([method, path, 403, 'forbidden']);
      }
      await refused(crowd('GET', `/api/crowd/${other.token}/next`, joined.credential), 401, 'crowd_unauthenticated');
      // a link for every task: both tasks may be answered
      await ok(crowd('PUT', `/api/crowd/${link.token}/records/a/labels/${otherTask}`, joined.credential, { labelIds: [labels.topic] }));
    });
  });
}
