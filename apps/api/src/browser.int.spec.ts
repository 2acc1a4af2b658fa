import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseCsv } from 'csv-parse/sync';
import { testBackends } from '@refinery/events/testing';
import type { Platform } from '@refinery/runtime';
import type { ApiServer } from './server.ts';
import { startTestApi, type TestApi } from '../test/product.ts';

const ADMIN_TOKEN = 'rfy_browser-int-spec-admin-token-0123456789';

interface Res {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
  headers: Headers;
}

for (const backend of testBackends()) {
  describe(`data browser on ${backend.name}`, () => {
    let product: TestApi;
    let platform: Platform;
    let api: ApiServer;
    let P: string;
    let last = '';
    let me: string;
    const task: Record<string, string> = {};
    const label: Record<string, string> = {};

    async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
      const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers } };
      if (typeof body === 'string') init.body = body;
      else if (body !== undefined) {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
      const res = await fetch(`${api.url}${path}`, init);
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text && res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      const b = parsed as { position?: string } | undefined;
      if (b?.position) last = b.position;
      return { status: res.status, body: parsed, text, headers: res.headers };
    }
    const ok = async (p: Promise<Res>, status = 200) => {
      const r = await p;
      expect(r.status, r.text.slice(0, 500)).toBe(status);
      return r.body;
    };
    const refused = async (p: Promise<Res>, status: number, code: string) => {
      const r = await p;
      expect(r.status, r.text.slice(0, 500)).toBe(status);
      expect(r.body.error.code).toBe(code);
      expect(typeof r.body.error.message).toBe('string');
      expect(typeof r.body.error.details).toBe('object');
      return r.body.error;
    };
    const search = (body: Record<string, unknown>) => call('POST', `/api/projects/${P}/records/search`, { after: last, ...body });
    const ids = async (filter: unknown, extra: Record<string, unknown> = {}) => {
      const r = await ok(search({ filter, limit: 500, ...extra }));
      expect(r.total).toBe(r.records.length);
      return r.records.map((x: { id: string }) => x.id);
    };

    const RECORDS = [
      { id: 'r1', text: 'Acme Corp ships to Berlin.', lang: 'en', n: 1, score: 0.5, flag: true },
      { id: 'r2', text: 'Great price, "slow" shipping', lang: 'en', n: 2, score: 1.5, flag: false },
      { id: 'r3', text: 'Nichts zu sehen\nzweite Zeile', lang: 'de', n: 10, score: 2.25, flag: true },
      { id: 'r4', text: 'order #42 arrived', lang: 'EN', n: 20, score: null, flag: false },
      { id: 'r5', text: 'Berlin, Paris, Rome', lang: 'fr', n: -3, score: 9, flag: null },
      { id: 'r6', text: null, lang: null, n: null, score: 0, flag: true },
    ];

    beforeAll(async () => {
      product = await startTestApi(backend, { adminToken: ADMIN_TOKEN, config: { readWaitMs: 10_000 } });
      ({ platform, api } = product);
      me = (await ok(call('GET', '/api/auth/me'))).user.id;
      P = (await ok(call('POST', '/api/projects', { name: 'Browser' }), 201)).id;
      const jsonl = RECORDS.map((r) => JSON.stringify(r)).join('\n');
      await ok(call('POST', `/api/projects/${P}/imports?primaryKey=id`, jsonl, { 'content-type': 'application/x-ndjson' }), 201);
      task.sentiment = (await ok(call('POST', `/api/projects/${P}/tasks`, { name: 'Sentiment', kind: 'single_label' }), 201)).id;
      task.topics = (await ok(call('POST', `/api/projects/${P}/tasks`, { name: 'Topics', kind: 'multi_label', attribute: 'text' }), 201)).id;
      task.entities = (await ok(call('POST', `/api/projects/${P}/tasks`, { name: 'Entities', kind: 'span', attribute: 'text' }), 201)).id;
      for (const name of ['positive', 'negative']) label[name] = (await ok(call('POST', `/api/projects/${P}/tasks/${task.sentiment}/labels`, { name }), 201)).id;
      for (const name of ['shipping', 'price']) label[name] = (await ok(call('POST', `/api/projects/${P}/tasks/${task.topics}/labels`, { name }), 201)).id;
      for (const name of ['ORG', 'LOC']) label[name] = (await ok(call('POST', `/api/projects/${P}/tasks/${task.entities}/labels`, { name }), 201)).id;
      const put = (rid: string, t: string | undefined, body: unknown, kind = 'labels') => ok(call('PUT', `/api/projects/${P}/records/${rid}/${kind}/${t}`, body));
      await put('r1', task.sentiment, { labelIds: [label.positive] });
      await put('r2', task.sentiment, { labelIds: [label.negative] });
      await put('r3', task.sentiment, { labelIds: [label.positive] });
      await put('r3', task.sentiment, { labelIds: [label.negative] }, 'gold');
      await put('r2', task.topics, { labelIds: [label.shipping, label.price] });
      await put('r1', task.entities, { spans: [{ labelId: label.ORG, start: 0, end: 9 }, { labelId: label.LOC, start: 19, end: 25 }] });
      await ok(call('POST', `/api/projects/${P}/records/r4/comments`, { body: 'check this' }), 201);
      // Weak supervision and heuristics arrive with a later issue; they write these rows.
      await ok(call('GET', `/api/projects/${P}/records/r1/labels?after=${last}`));
      const ins = `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, span_start, span_end, token_start, token_end, labeled_at, confidence)
                   values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), $11)`;
      await platform.db.query(ins, [P, 'r4', task.sentiment, 'weak_supervision', 'model-1', label.positive, null, null, null, null, 0.9]);
      await platform.db.query(ins, [P, 'r5', task.sentiment, 'weak_supervision', 'model-1', label.negative, null, null, null, null, 0.4]);
      await platform.db.query(ins, [P, 'r5', task.sentiment, 'heuristic', 'lf-berlin', label.positive, null, null, null, null, null]);
      await platform.db.query(ins, [P, 'r5', task.entities, 'weak_supervision', 'model-1', label.LOC, 0, 6, 0, 1, 0.8]);
      // A disagreement between annotators (a second annotator needs a second account; the flag is what the filter reads).
      await platform.db.query(`update rm_reference set disagreement = true where project_id = $1 and record_id = 'r3'`, [P]);
    });
    afterAll(() => product.close());

    it('filters attributes with every operator, typed by the attribute', async () => {
      expect(await ids(undefined)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
      expect(await ids({ attribute: 'lang', op: 'eq', value: 'en' })).toEqual(['r1', 'r2']);
      expect(await ids({ attribute: 'lang', op: 'eq', value: 'en', caseSensitive: false })).toEqual(['r1', 'r2', 'r4']);
      expect(await ids({ attribute: 'lang', op: 'neq', value: 'en' })).toEqual(['r3', 'r4', 'r5', 'r6']);
      expect(await ids({ attribute: 'text', op: 'contains', value: 'berlin' })).toEqual(['r1', 'r5']);
      expect(await ids({ attribute: 'text', op: 'contains', value: 'berlin', caseSensitive: true })).toEqual([]);
      expect(await ids({ attribute: 'text', op: 'regex', value: '^[A-Z][a-z]+ [A-Z]' })).toEqual(['r1', 'r2', 'r3']);
      expect(await ids({ attribute: 'text', op: 'regex', value: '^[A-Z][a-z]+ [A-Z]', caseSensitive: true })).toEqual(['r1']);
      expect(await ids({ attribute: 'n', op: 'gt', value: 2 })).toEqual(['r3', 'r4']); // numerically: 10 > 2
      expect(await ids({ attribute: 'n', op: 'gte', value: 2 })).toEqual(['r2', 'r3', 'r4']);
      expect(await ids({ attribute: 'n', op: 'lt', value: 1 })).toEqual(['r5']);
      expect(await ids({ attribute: 'n', op: 'lte', value: 1 })).toEqual(['r1', 'r5']);
      expect(await ids({ attribute: 'score', op: 'between', value: [0.5, 2.25] })).toEqual(['r1', 'r2', 'r3']);
      expect(await ids({ attribute: 'n', op: 'in', value: [1, 20, 99] })).toEqual(['r1', 'r4']);
      expect(await ids({ attribute: 'lang', op: 'in', value: ['de', 'fr'] })).toEqual(['r3', 'r5']);
      expect(await ids({ attribute: 'score', op: 'is_null' })).toEqual(['r4']);
      expect(await ids({ attribute: 'text', op: 'is_not_null' })).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
      expect(await ids({ attribute: 'flag', op: 'eq', value: true })).toEqual(['r1', 'r3', 'r6']);
      expect(await ids({ attribute: 'text', op: 'gt', value: 'N' })).toEqual(['r3', 'r4']);
    });

    it('combines conditions and filters on labels by source, disagreement, confidence and comments', async () => {
      expect(await ids({ all: [{ attribute: 'lang', op: 'eq', value: 'en' }, { label: { taskId: task.sentiment, source: 'manual', labelId: label.negative } }] })).toEqual(['r2']);
      expect(await ids({ any: [{ attribute: 'n', op: 'gt', value: 15 }, { attribute: 'lang', op: 'eq', value: 'fr' }] })).toEqual(['r4', 'r5']);
      expect(await ids({ not: { attribute: 'lang', op: 'eq', value: 'en' } })).toEqual(['r3', 'r4', 'r5', 'r6']);
      expect(await ids({ label: { taskId: task.sentiment, source: 'manual' } })).toEqual(['r1', 'r2', 'r3']);
      expect(await ids({ label: { taskId: task.sentiment, source: 'manual', annotator: me, labelId: label.positive } })).toEqual(['r1', 'r3']);
      expect(await ids({ label: { taskId: task.sentiment, source: 'manual', annotator: 'someone-else' } })).toEqual([]);
      expect(await ids({ label: { taskId: task.sentiment, source: 'gold', labelId: label.negative } })).toEqual(['r3']);
      expect(await ids({ label: { taskId: task.sentiment, source: 'reference', labelId: label.negative } })).toEqual(['r2', 'r3']);
      expect(await ids({ label: { taskId: task.sentiment, source: 'manual', labelId: null } })).toEqual(['r4', 'r5', 'r6']);
      expect(await ids({ label: { taskId: task.sentiment, source: 'any', labelId: null } })).toEqual(['r6']);
      expect(await ids({ label: { taskId: task.sentiment, source: 'weak_supervision' } })).toEqual(['r4', 'r5']);
      expect(await ids({ label: { taskId: task.sentiment, source: 'heuristic', annotator: 'lf-berlin', labelId: label.positive } })).toEqual(['r5']);
      expect(await ids({ label: { taskId: task.topics, source: 'manual', labelId: label.price } })).toEqual(['r2']);
      expect(await ids({ label: { taskId: task.entities, source: 'manual', labelId: label.LOC } })).toEqual(['r1']);
      expect(await ids({ disagreement: { taskId: task.sentiment } })).toEqual(['r3']);
      expect(await ids({ confidence: { taskId: task.sentiment, min: 0.5 } })).toEqual(['r4']);
      expect(await ids({ confidence: { taskId: task.sentiment, max: 0.5 } })).toEqual(['r5']);
      expect(await ids({ hasComments: true })).toEqual(['r4']);
      expect(await ids({ hasComments: false })).toEqual(['r1', 'r2', 'r3', 'r5', 'r6']);
      expect(await ids({ recordIds: ['r5', 'r2', 'nope'] })).toEqual(['r2', 'r5']);

      const page = await ok(search({ filter: { recordIds: ['r1'] } }));
      const labels = page.records[0].labels;
      expect(labels.find((l: { taskId: string; source: string }) => l.taskId === task.entities && l.source === 'manual').spans).toHaveLength(2);
      expect(labels.find((l: { taskId: string; source: string }) => l.taskId === task.sentiment && l.source === 'reference').labelIds).toEqual([label.positive]);
    });

    it('sorts and pages with keyset cursors (seq, attribute, random)', async () => {
      const walk = async (sort: unknown, limit = 2) => {
        const out: string[] = [];
        let cursor: string | undefined;
        do {
          const r = await ok(search({ sort, limit, ...(cursor ? { cursor } : {}) }));
          expect(r.total).toBe(6);
          out.push(...r.records.map((x: { id: string }) => x.id));
          cursor = r.nextCursor ?? undefined;
        } while (cursor);
        return out;
      };
      expect(await walk({ by: 'seq', direction: 'desc' })).toEqual(['r6', 'r5', 'r4', 'r3', 'r2', 'r1']);
      expect(await walk({ by: { attribute: 'n' } })).toEqual(['r5', 'r1', 'r2', 'r3', 'r4', 'r6']);
      expect(await walk({ by: { attribute: 'n' }, direction: 'desc' }, 4)).toEqual(['r6', 'r4', 'r3', 'r2', 'r1', 'r5']);
      expect(await walk({ by: { attribute: 'score' } }, 1)).toEqual(['r6', 'r1', 'r2', 'r3', 'r5', 'r4']);
      const shuffled = await walk({ by: 'random', seed: 'abc' });
      expect([...shuffled].sort()).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
      expect(await walk({ by: 'random', seed: 'abc' }, 4)).toEqual(shuffled);
      expect(await walk({ by: 'random', seed: 'xyz' })).not.toEqual(shuffled);
    });

    it('refuses bad input with 4xx and the error shape', async () => {
      let e = await refused(search({ filter: { attribute: 'nope', op: 'eq', value: 1 } }), 400, 'unknown_attribute');
      expect(e.details.allowed).toEqual(['id', 'text', 'lang', 'n', 'score', 'flag']);
      expect(e.details.path).toBe('filter.attribute');
      e = await refused(search({ filter: { all: [{ hasComments: true }, { label: { taskId: 'nope', source: 'manual' } }] } }), 400, 'unknown_task');
      expect(e.details.path).toBe('filter.all.1.label.taskId');
      e = await refused(search({ filter: { attribute: 'text', op: 'regex', value: 'a(b' } }), 400, 'invalid_regex');
      expect(e.details.path).toBe('filter.value');
      // valid in JavaScript, refused by PostgreSQL's ARE dialect
      await refused(search({ filter: { attribute: 'text', op: 'regex', value: '(?<name>x)' } }), 400, 'invalid_regex');
      e = await refused(search({ filter: { any: [{ attribute: 'n', op: 'gt', value: 'ten' }] } }), 400, 'invalid_value');
      expect(e.details.path).toBe('filter.any.0.value');
      e = await refused(search({ filter: { foo: 1 } }), 400, 'invalid_filter');
      await refused(search({ filter: { label: { taskId: task.sentiment, source: 'robot' } } }), 400, 'invalid_filter');
      await refused(search({ filter: { attribute: 'flag', op: 'gt', value: true } }), 400, 'invalid_operator');
      e = await refused(search({ filter: { recordIds: Array.from({ length: 10_001 }, (_, i) => `x${i}`) } }), 400, 'invalid_filter');
      expect(e.details.limit).toBe(10_000);
      // a confidence is a probability: out-of-range or crossed bounds are refused, not an empty page
      e = await refused(search({ filter: { confidence: { taskId: task.sentiment, min: 5 } } }), 400, 'invalid_filter');
      expect(e.details.path).toBe('filter.confidence.min');
      e = await refused(search({ filter: { confidence: { taskId: task.sentiment, min: 0.8, max: 0.2 } } }), 400, 'invalid_filter');
      expect(e.details.path).toBe('filter.confidence');
      await refused(search({ cursor: 'garbage' }), 400, 'invalid_cursor');
      expect((await ok(search({ cursor: null, limit: 1 }))).records).toHaveLength(1);
      const c = (await ok(search({ limit: 1 }))).nextCursor;
      await refused(search({ cursor: c, sort: { by: 'random', seed: 's' } }), 400, 'invalid_cursor');
      await refused(search({ filter: { slice: 'nope' } }), 400, 'unknown_slice');
      await refused(search({ limit: 501 }), 400, 'invalid_request');
    });

    it('bounds a catastrophically slow regex', async () => {
      const long = JSON.stringify({ id: 'slow', text: `${'a'.repeat(400)}b` });
      await ok(call('POST', `/api/projects/${P}/imports?primaryKey=id`, long, { 'content-type': 'application/x-ndjson' }), 201);
      const slow = { attribute: 'text', op: 'regex', value: '(.+)(.+)(.+)\\3\\2\\1$', caseSensitive: true };
      const started = Date.now();
      if (backend.name === 'postgres') await refused(search({ filter: slow }), 422, 'query_timeout');
      else await refused(search({ filter: slow }), 400, 'regex_not_supported');
      expect(Date.now() - started).toBeLessThan(15_000);
      // the server answers normally afterwards
      expect((await ok(search({ filter: { recordIds: ['slow'] } }))).total).toBe(1);
    });

    it('saves dynamic and static slices with unique names, and deletes them', async () => {
      const before = (await ok(call('GET', `/api/projects/${P}/slices?after=${last}`))).slices.length;
      const dyn = await ok(call('POST', `/api/projects/${P}/slices`, { name: 'English', kind: 'dynamic', filter: { attribute: 'lang', op: 'eq', value: 'en', caseSensitive: false } }), 201);
      const stat = await ok(call('POST', `/api/projects/${P}/slices`, { name: 'Positive now', kind: 'static', filter: { label: { taskId: task.sentiment, source: 'manual', labelId: label.positive } } }), 201);
      expect(stat.recordCount).toBe(2);
      await refused(call('POST', `/api/projects/${P}/slices`, { name: 'english', kind: 'static', recordIds: ['r1'] }), 409, 'slice_name_taken');
      await refused(call('POST', `/api/projects/${P}/slices`, { name: 'Bad', kind: 'dynamic', filter: { attribute: 'zzz', op: 'is_null' } }), 400, 'unknown_attribute');
      await refused(call('POST', `/api/projects/${P}/slices`, { name: 'Huge', kind: 'static', recordIds: Array.from({ length: 10_001 }, (_, i) => `x${i}`) }), 422, 'slice_too_large');
      const list = (await ok(call('GET', `/api/projects/${P}/slices?after=${last}`))).slices;
      expect(list.map((s: { name: string }) => s.name)).toEqual(['English', 'Positive now']);
      expect(list.length).toBe(before + 2);
      expect(await ids({ slice: dyn.id })).toEqual(['r1', 'r2', 'r4']);
      expect(await ids({ all: [{ slice: stat.id }, { not: { slice: dyn.id } }] })).toEqual(['r3']);
      await ok(call('DELETE', `/api/projects/${P}/slices/${stat.id}`));
      await refused(call('DELETE', `/api/projects/${P}/slices/${stat.id}`), 404, 'slice_not_found');
      expect((await ok(call('GET', `/api/projects/${P}/slices?after=${last}`))).slices.map((s: { name: string }) => s.name)).toEqual(['English']);
      await refused(search({ filter: { slice: stat.id } }), 400, 'unknown_slice');
    });

    it('runs labeling sessions: ordered and shuffled, stable, paging both ways, with progress', async () => {
      const slice = (await ok(call('GET', `/api/projects/${P}/slices?after=${last}`))).slices[0];
      const ordered = await ok(call('POST', `/api/projects/${P}/sessions`, { name: 'Mine', sliceId: slice.id, order: 'ordered' }), 201);
      expect(ordered.total).toBe(3);
      const shuffled = await ok(call('POST', `/api/projects/${P}/sessions`, { order: 'shuffled', seed: 'seed-1' }), 201);
      expect(shuffled.total).toBe(7);
      const again = await ok(call('POST', `/api/projects/${P}/sessions`, { order: 'shuffled', seed: 'seed-1' }), 201);
      await refused(call('POST', `/api/projects/${P}/sessions`, { filter: { attribute: 'nope', op: 'is_null' } }), 400, 'unknown_attribute');

      const pages = async (id: string, limit: number) => {
        const out: string[][] = [];
        let cursor: string | null = null;
        do {
          const r: { recordIds: string[]; nextCursor: string | null } = await ok(call('GET', `/api/projects/${P}/sessions/${id}/records?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}&after=${last}`));
          out.push(r.recordIds);
          cursor = r.nextCursor;
        } while (cursor);
        return out;
      };
      expect((await pages(ordered.id, 2)).flat()).toEqual(['r1', 'r2', 'r4']);
      const order = (await pages(shuffled.id, 3)).flat();
      expect([...order].sort()).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'slow']);
      expect(order).not.toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'slow']);
      expect((await pages(again.id, 2)).flat()).toEqual(order); // same seed, same order

      // backwards from the end, then forwards and back from the middle
      const end = await ok(call('GET', `/api/projects/${P}/sessions/${shuffled.id}/records?direction=prev&limit=3`));
      expect(end.recordIds).toEqual(order.slice(4));
      expect(end.nextCursor).toBeNull();
      const back = await ok(call('GET', `/api/projects/${P}/sessions/${shuffled.id}/records?direction=prev&limit=3&cursor=${end.prevCursor}`));
      expect(back.recordIds).toEqual(order.slice(1, 4));
      const fwd = await ok(call('GET', `/api/projects/${P}/sessions/${shuffled.id}/records?direction=next&limit=2&cursor=${back.nextCursor}`));
      expect(fwd.recordIds).toEqual(order.slice(4, 6));
      const first = await ok(call('GET', `/api/projects/${P}/sessions/${shuffled.id}/records?direction=prev&limit=5&cursor=${back.prevCursor}`));
      expect(first.recordIds).toEqual(order.slice(0, 1));
      expect(first.prevCursor).toBeNull();
      await refused(call('GET', `/api/projects/${P}/sessions/${shuffled.id}/records?cursor=${end.prevCursor!.slice(0, 10)}`), 400, 'invalid_cursor');
      await refused(call('GET', `/api/projects/${P}/sessions/${ordered.id}/records?cursor=${end.prevCursor}`), 400, 'invalid_cursor');

      let s = await ok(call('GET', `/api/projects/${P}/sessions/${ordered.id}?after=${last}`));
      expect(s).toMatchObject({ id: ordered.id, name: 'Mine', owner: me, order: 'ordered', total: 3, labeled: 2 });
      await ok(call('PUT', `/api/projects/${P}/records/r4/labels/${task.sentiment}`, { labelIds: [label.negative] }));
      s = await ok(call('GET', `/api/projects/${P}/sessions/${ordered.id}?after=${last}`));
      expect(s.labeled).toBe(3);
      const mine = await ok(call('GET', `/api/projects/${P}/sessions?after=${last}`));
      expect(mine.sessions.map((x: { id: string }) => x.id).sort()).toEqual([ordered.id, shuffled.id, again.id].sort());
      await refused(call('GET', `/api/projects/${P}/sessions/00000000-0000-4000-8000-000000000000`), 404, 'session_not_found');
    });

    it('exports JSONL, JSON and CSV with refinery column names, span token lists and confidence', async () => {
      const get = (q: string) => call('GET', `/api/projects/${P}/export?after=${last}&${q}`);
      const jl = await get('format=jsonl');
      expect(jl.status).toBe(200);
      expect(jl.headers.get('content-disposition')).toMatch(/^attachment; filename=".*\.jsonl"$/);
      const rows = jl.text.trim().split('\n').map((l) => JSON.parse(l));
      expect(rows).toHaveLength(7);
      expect(Object.keys(rows[0])).toEqual([
        'id', 'text', 'lang', 'n', 'score', 'flag',
        '__Sentiment__MANUAL', '__Sentiment__WEAK_SUPERVISION', '__Sentiment__WEAK_SUPERVISION__confidence',
        'text__Topics__MANUAL', 'text__Topics__WEAK_SUPERVISION', 'text__Topics__WEAK_SUPERVISION__confidence',
        'text__Entities__MANUAL', 'text__Entities__WEAK_SUPERVISION', 'text__Entities__WEAK_SUPERVISION__confidence',
      ]);
      const by = (id: string, list = rows) => list.find((r: { id: string }) => r.id === id);
      expect(by('r1')['__Sentiment__MANUAL']).toBe('positive');
      expect(by('r3')['__Sentiment__MANUAL']).toBe('negative'); // gold wins
      expect(by('r2')['text__Topics__MANUAL']).toEqual(['shipping', 'price']);
      expect(by('r1')['text__Entities__MANUAL']).toEqual(['ORG', 'ORG', null, null, 'LOC', null]);
      expect(by('r4')['__Sentiment__WEAK_SUPERVISION']).toBe('positive');
      expect(by('r4')['__Sentiment__WEAK_SUPERVISION__confidence']).toBe(0.9);
      expect(by('r5')['text__Entities__WEAK_SUPERVISION']).toEqual(['LOC', null, null, null, null]);
      expect(by('r5')['text__Entities__WEAK_SUPERVISION__confidence']).toEqual([0.8, null, null, null, null]);
      expect(by('r6')['__Sentiment__MANUAL']).toBeNull();

      const min = (await get('format=jsonl&minConfidence=0.5')).text.trim().split('\n').map((l) => JSON.parse(l));
      expect(by('r4', min)['__Sentiment__WEAK_SUPERVISION']).toBe('positive');
      expect(by('r5', min)['__Sentiment__WEAK_SUPERVISION']).toBeNull();
      expect(by('r5', min)['__Sentiment__WEAK_SUPERVISION__confidence']).toBeNull();

      const json = await get('format=json');
      expect(json.headers.get('content-type')).toMatch(/application\/json/);
      expect(JSON.parse(json.text)).toEqual(rows);

      const csv = await get('format=csv');
      expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
      expect(csv.text).toContain('"Great price, ""slow"" shipping"');
      const table = parseCsv(csv.text, { columns: true }) as Record<string, string>[];
      expect(table).toHaveLength(7);
      expect(table.find((r) => r.id === 'r2')!.text).toBe('Great price, "slow" shipping');
      expect(table.find((r) => r.id === 'r3')!.text).toBe('Nichts zu sehen\nzweite Zeile');
      expect(JSON.parse(table.find((r) => r.id === 'r1')!['text__Entities__MANUAL']!)).toEqual(['ORG', 'ORG', null, null, 'LOC', null]);
      expect(table.find((r) => r.id === 'r6')!.text).toBe('');

      const slice = (await ok(call('GET', `/api/projects/${P}/slices?after=${last}`))).slices[0];
      const sliced = (await get(`format=jsonl&sliceId=${slice.id}`)).text.trim().split('\n').map((l) => JSON.parse(l).id);
      expect(sliced).toEqual(['r1', 'r2', 'r4']);
      const empty = await get(`format=json&sliceId=${slice.id}&minConfidence=0.1`);
      expect(JSON.parse(empty.text)).toHaveLength(3);
      await refused(get('format=xml'), 400, 'invalid_request');
      await refused(get('sliceId=nope'), 404, 'slice_not_found');
    });
  });
}
