import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '@refinery/events/testing';
import { closeAsOfViews, verifyLog } from '@refinery/audit';
import { startTestApi, type Json, type TestApi } from '../../test/product.ts';

const ADMIN_TOKEN = 'rfy_audit-int-spec-admin-token-0123456789';

async function* linesOf(text: string): AsyncIterable<string> {
  for (const line of text.split('\n')) yield line;
}

for (const backend of testBackends()) {
  describe(`history, as-of and log export API on ${backend.name}`, () => {
    let t: TestApi;
    let projectId: string;
    let task: string;
    const labels: Record<string, string> = {};
    /** positions after named steps */
    const at: Record<string, string> = {};
    let last = '';

    const ok = async (method: string, path: string, body?: unknown, status = 200, headers: Record<string, string> = {}): Promise<Json> => {
      const r = await t.call(method, path, body, headers);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(status);
      if (r.body?.position) last = r.body.position;
      return r.body;
    };

    beforeAll(async () => {
      t = await startTestApi(backend, { adminToken: ADMIN_TOKEN, config: { readWaitMs: 10_000 } });
      projectId = (await ok('POST', '/api/projects', { name: 'Audit' }, 201)).id;
      at['created'] = last;
      const jsonl = ['r1', 'r2', 'r3'].map((id) => JSON.stringify({ id, text: `text ${id}` })).join('\n');
      await ok('POST', `/api/projects/${projectId}/imports?primaryKey=id`, jsonl, 201, { 'content-type': 'application/x-ndjson' });
      task = (await ok('POST', `/api/projects/${projectId}/tasks`, { name: 'Sentiment', kind: 'single_label' }, 201)).id;
      for (const name of ['positive', 'negative']) labels[name] = (await ok('POST', `/api/projects/${projectId}/tasks/${task}/labels`, { name }, 201)).id;
      await ok('PUT', `/api/projects/${projectId}/records/r1/labels/${task}`, { labelIds: [labels['positive']] });
      at['first'] = last;
      await ok('PUT', `/api/projects/${projectId}/records/r1/labels/${task}`, { labelIds: [labels['negative']] });
      at['second'] = last;
      await ok('PUT', `/api/projects/${projectId}/records/r2/labels/${task}`, { labelIds: [labels['positive']] });
      at['third'] = last;
    });
    afterAll(async () => {
      await closeAsOfViews(t.platform.store);
      await t.close();
    });

    it("a record's timeline with before → after, paged", async () => {
      const page = await ok('GET', `/api/projects/${projectId}/records/r1/history?limit=1&after=${last}`);
      expect(page.items).toHaveLength(1);
      expect(page.items[0]).toMatchObject({ type: 'RecordLabeled', recordId: 'r1', before: { labelIds: [labels['positive']] }, after: { labelIds: [labels['negative']] }, position: at['second'] });
      expect(page.nextCursor).toBe(at['second']);
      const next = await ok('GET', `/api/projects/${projectId}/records/r1/history?limit=1&cursor=${page.nextCursor}`);
      expect(next.items[0]).toMatchObject({ before: null, after: { labelIds: [labels['positive']] }, position: at['first'] });
      expect(next.nextCursor).toBeNull();
    });

    it('the project timeline filtered by user and type; bad paging is a 400', async () => {
      const me = (await ok('GET', '/api/auth/me')).user.id as string;
      const mine = await ok('GET', `/api/projects/${projectId}/history?user=${me}&type=RecordLabeled,LabelAdded&limit=50&after=${last}`);
      expect(mine.items.map((i: { type: string }) => i.type)).toEqual(['RecordLabeled', 'RecordLabeled', 'RecordLabeled', 'LabelAdded', 'LabelAdded']);
      expect(mine.items.every((i: { actor: string }) => i.actor === me)).toBe(true);
      const all = await ok('GET', `/api/projects/${projectId}/history?limit=500`);
      expect(all.items.at(-1).type).toBe('ProjectCreated');
      for (const bad of ['cursor=abc', 'limit=0', 'limit=501', 'type=Record-Labeled']) {
        const r = await t.call('GET', `/api/projects/${projectId}/history?${bad}`);
        expect(r.status, bad).toBe(400);
        expect(r.body.error.code).toBe('invalid_request');
      }
    });

    it('as of a past position and time: label counts as they were', async () => {
      const then = await ok('GET', `/api/projects/${projectId}/as-of?position=${at['first']}`);
      expect(then).toMatchObject({ position: at['first'], records: 3 });
      expect(then.counts.filter((c: { source: string }) => c.source === 'manual')).toEqual([{ taskId: task, labelId: labels['positive'], source: 'manual', records: 1 }]);
      const now = await ok('GET', `/api/projects/${projectId}/as-of?time=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
      expect(now.counts.filter((c: { source: string }) => c.source === 'manual')).toEqual([
        { taskId: task, labelId: labels['negative'], source: 'manual', records: 1 },
        { taskId: task, labelId: labels['positive'], source: 'manual', records: 1 },
      ].sort((a, b) => (a.labelId! < b.labelId! ? -1 : 1)));
      expect(now.tasks[0]).toMatchObject({ taskId: task, name: 'Sentiment' });
    });

    it('compares two points: count deltas and changed records', async () => {
      const diff = await ok('GET', `/api/projects/${projectId}/as-of/compare?from=${at['first']}&to=${at['third']}&limit=1`);
      expect(diff.from.position).toBe(at['first']);
      expect(diff.counts).toEqual(expect.arrayContaining([expect.objectContaining({ labelId: labels['negative'], source: 'manual', from: 0, to: 1, delta: 1 })]));
      expect(diff.changedRecords.items).toHaveLength(1);
      expect(diff.changedRecords.items[0].recordId).toBe('r1');
      expect(diff.changedRecords.items[0].changes).toEqual(
        expect.arrayContaining([expect.objectContaining({ source: 'manual', before: [labels['positive']], after: [labels['negative']] })]),
      );
      expect(diff.changedRecords.nextCursor).toBe('r1');
      const rest = await ok('GET', `/api/projects/${projectId}/as-of/compare?from=${at['first']}&to=${at['third']}&limit=1&cursor=r1`);
      expect(rest.changedRecords.items.map((i: { recordId: string }) => i.recordId)).toEqual(['r2']);
      expect(rest.changedRecords.nextCursor).toBeNull();
    });

    it('refuses points outside the project with 4xx and the error shape', async () => {
      const before = await t.call('GET', `/api/projects/${projectId}/as-of?time=2000-01-01T00:00:00Z`);
      expect([before.status, before.body.error.code]).toEqual([422, 'before_project']);
      const [tx, seq] = last.split('/');
      const beyond = await t.call('GET', `/api/projects/${projectId}/as-of?position=${BigInt(tx!) + 1000n}/${seq}`);
      expect([beyond.status, beyond.body.error.code]).toEqual([422, 'position_beyond_end']);
      for (const q of ['', 'time=yesterday', `time=2026-01-01T00:00:00Z&position=${last}`, 'position=12']) {
        const r = await t.call('GET', `/api/projects/${projectId}/as-of?${q}`);
        expect([r.status, r.body.error.code], q).toEqual([400, 'invalid_as_of_point']);
      }
      const unknown = await t.call('GET', '/api/projects/99999999-9999-4999-8999-999999999999/as-of?time=2026-01-01T00:00:00Z');
      expect(unknown.status).toBe(403); // not a member of a project that does not exist
    });

    it('downloads a verifiable export of the project log', async () => {
      const res = await fetch(`${t.api.url}/api/projects/${projectId}/audit/log-export`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/ndjson/);
      const text = await res.text();
      const report = await verifyLog(linesOf(text));
      expect(report).toMatchObject({ ok: true, artifacts: 1 });
      expect(report.events).toBeGreaterThan(8);
      expect(text).toContain(`"projectId":"${projectId}"`);
    });
  });
}
