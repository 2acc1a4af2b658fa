import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '@refinery/events/testing';
import { heuristicStreamId } from '@refinery/events';
import type { Platform } from '@refinery/runtime';
import { CatchUpWaiter } from '@refinery/projector';
import { heuristicRunReactor, startWorkers, type WorkersHandle } from '@refinery/workers';
import { PythonPool } from '@refinery/sandbox';
import { startTestApi, type TestApi } from '../test/product.ts';

const ADMIN_TOKEN = 'rfy_heuristics-int-spec-admin-token-012345';

for (const backend of testBackends()) {
  describe(`heuristics on ${backend.name}`, () => {
    let platform: Platform;
    let workers: WorkersHandle;
    let pool: PythonPool;
    let P: string;
    let taskId: string;
    const label: Record<string, string> = {};

    let product: TestApi;
    const call = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => product.call(method, url, body, headers);
    async function ok(p: ReturnType<typeof call>, status = 200) {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      return r.body;
    }
    async function refused(p: ReturnType<typeof call>, status: number, code: string) {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.error.code).toBe(code);
      return r.body.error;
    }
    const create = async (body: Record<string, unknown>) => (await ok(call('POST', `/api/projects/${P}/heuristics`, { taskId, ...body }), 201)).id as string;
    const run = async (h: string, body: Record<string, unknown> = {}) => (await ok(call('POST', `/api/projects/${P}/heuristics/${h}/runs`, body), 202)).runId as string;
    async function outcome(h: string, runId: string, until: (s: string) => boolean = (s) => ['completed', 'failed', 'cancelled'].includes(s)) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const r = await call('GET', `/api/projects/${P}/heuristics/${h}/runs/${runId}`);
        if (r.status === 200 && until(r.body.status)) return r.body;
        if (Date.now() > deadline) throw new Error(`run ${runId} did not finish: ${JSON.stringify(r.body)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const lf = (language: string, code: string, name = 'lf') => create({ name, type: 'labeling_function', language, code });

    beforeAll(async () => {
      pool = new PythonPool({ size: 2, log: () => undefined });
      product = await startTestApi(backend, {
        adminToken: ADMIN_TOKEN,
        config: { readWaitMs: 10_000 },
        alongside: async (p) => {
          const waiter = new CatchUpWaiter(p.db);
          const reactor = heuristicRunReactor({
            db: p.db,
            store: p.store,
            artifacts: p.artifacts,
            pythonPool: pool,
            sandboxBatch: 4,
            readBatch: 8,
            progressIntervalMs: 0,
            cancelCheckMs: 0,
            concurrency: 3,
            log: () => undefined,
            waitFor: async (position) => void (await waiter.waitFor(position, ['records', 'heuristics'], 10_000)),
          });
          workers = await startWorkers(p, { reactors: [reactor], log: () => undefined });
          return { stop: async () => (await workers.stop(), await pool.close()) };
        },
      });
      platform = product.platform;

      P = (await ok(call('POST', '/api/projects', { name: 'Heuristics' }), 201)).id;
      const texts = ['Check out my channel', 'Great song!', 'Subscribe to Acme for free stuff', 'I love this song so much', 'nice', 'Visit http://spam.example', 'Globex rules', 'what a voice'];
      const jsonl = Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `r${i}`, text: texts[i % texts.length] })).join('\n');
      await ok(call('POST', `/api/projects/${P}/imports?primaryKey=id`, jsonl, { 'content-type': 'application/x-ndjson' }), 201);
      taskId = (await ok(call('POST', `/api/projects/${P}/tasks`, { name: 'Spam', kind: 'single_label' }), 201)).id;
      for (const name of ['HAM', 'SPAM']) label[name] = (await ok(call('POST', `/api/projects/${P}/tasks/${taskId}/labels`, { name }), 201)).id;
    }, 60_000);
    afterAll(() => product.close());

    it('refuses invalid heuristics with the error shape', async () => {
      await refused(call('POST', `/api/projects/${P}/heuristics`, { name: 'x', taskId, type: 'nope' }), 400, 'invalid_request');
      await refused(call('POST', `/api/projects/${P}/heuristics`, { name: 'x', taskId, type: 'labeling_function', code: 'function lf(){}' }), 422, 'language_required');
      await refused(call('POST', `/api/projects/${P}/heuristics`, { name: 'x', taskId: 'nope', type: 'labeling_function', language: 'javascript', code: 'x' }), 404, 'task_not_found');
      await refused(call('POST', `/api/projects/${P}/heuristics`, { name: 'x', taskId, type: 'lookup_list', lookupListId: 'nope', labelId: label.SPAM }), 404, 'lookup_list_not_found');
      await refused(call('POST', `/api/projects/${P}/heuristics/nope/runs`, {}), 404, 'heuristic_not_found');
      await refused(call('GET', `/api/projects/${P}/heuristics/nope`), 404, 'heuristic_not_found');
      const anonymous = await fetch(`${product.api.url}/api/projects/${P}/heuristics`);
      expect(anonymous.status).toBe(401);
    });

    it('failing functions fail their run with kind, message, record id and line; others are unaffected', async () => {
      const cases: Array<[string, string, string, Partial<{ kind: string; recordId: string; line: number }>, RegExp]> = [
        ['javascript', 'function lf(record) {\n  return (;\n}', 'syntax', { kind: 'syntax', line: 2 }, /./],
        ['python', 'def lf(record):\n    return (\n', 'syntax py', { kind: 'syntax' }, /./],
        ['javascript', 'function lf(record, ctx) {\n  if (ctx.recordId === "r3") {\n    throw new Error("boom");\n  }\n}', 'throws', { kind: 'runtime', recordId: 'r3', line: 3 }, /boom/],
        ['python', 'def lf(record, ctx):\n    if ctx.record_id == "r5":\n        raise ValueError("kaputt")\n', 'throws py', { kind: 'runtime', recordId: 'r5', line: 3 }, /kaputt/],
        ['javascript', 'function lf(record) {\n  while (true) {}\n}', 'loop', { kind: 'timeout', recordId: 'r0' }, /./],
        ['javascript', 'function lf(record) {\n  return "EGGS";\n}', 'unknown label', { kind: 'invalid_output', recordId: 'r0' }, /EGGS/],
        ['javascript', 'function lf(record) {\n  return require("fs") ? "SPAM" : null;\n}', 'require', { kind: 'runtime', recordId: 'r0', line: 2 }, /require/],
        ['javascript', 'function lf(record) {\n  return fetch("http://example.com") ? "SPAM" : null;\n}', 'fetch', { kind: 'runtime', line: 2 }, /fetch/],
        ['javascript', 'const a = [];\nfunction lf(record) {\n  for (;;) a.push(new Array(1e6).fill(1));\n}', 'memory', { kind: 'memory' }, /./],
      ];
      const runs: Array<{ h: string; runId: string; c: (typeof cases)[number] }> = [];
      for (const c of cases) {
        const h = await lf(c[0], c[1], c[2]);
        runs.push({ h, runId: await run(h), c });
      }
      const good = await lf('javascript', 'function lf(record) {\n  return /song/i.test(record.text) ? "HAM" : null;\n}', 'song');
      const goodRun = await run(good);
      for (const r of runs) {
        const o = await outcome(r.h, r.runId);
        expect(o.status, `${r.c[2]}: ${JSON.stringify(o)}`).toBe('failed');
        expect(o.error, r.c[2]).toMatchObject(r.c[3]);
        expect(o.error.message, r.c[2]).toMatch(r.c[4]);
      }
      const o = await outcome(good, goodRun);
      expect(o).toMatchObject({ status: 'completed', counts: { records: 20, votes: 6, byLabel: { [label.HAM!]: 6 } } });
      const health = await call('GET', '/api/projects');
      expect(health.status).toBe(200);
    }, 120_000);

    it('lookup lists: read by functions, and as a heuristic on their own; statistics against reference labels', async () => {
      const created = await ok(call('POST', `/api/projects/${P}/lookup-lists`, { name: 'brands', terms: ['acme', 'Globex', ' acme '] }), 201);
      const list = created.id;
      await ok(call('GET', `/api/projects/${P}/lookup-lists?after=${created.position}`)); // names are checked against the read model
      await refused(call('POST', `/api/projects/${P}/lookup-lists`, { name: 'brands', terms: [] }), 409, 'lookup_list_name_taken');
      const saved = await ok(call('PUT', `/api/projects/${P}/lookup-lists/${list}`, { name: 'brands', terms: ['acme', 'Globex', ' acme '] }));
      const lists = await ok(call('GET', `/api/projects/${P}/lookup-lists?after=${saved.position}`));
      expect(lists.lookupLists).toMatchObject([{ id: list, name: 'brands', terms: ['acme', 'Globex'], caseInsensitive: true, wholeWord: true }]);
      const fromList = await create({ name: 'brands list', type: 'lookup_list', lookupListId: list, labelId: label.SPAM, attribute: 'text' });
      const inFn = await lf('python', 'def lf(record):\n    return "SPAM" if in_lookup("brands", record["text"]) else None\n', 'brands fn');
      const [a, b] = [await run(fromList), await run(inFn)];
      expect((await outcome(fromList, a)).counts.votes).toBe(5); // r2 r6 r10 r14 r18
      expect((await outcome(inFn, b)).counts.votes).toBe(5);
      // reference labels: r2 SPAM, r6 HAM (one annotator each)
      await ok(call('PUT', `/api/projects/${P}/records/r2/labels/${taskId}`, { labelIds: [label.SPAM] }));
      const last = await ok(call('PUT', `/api/projects/${P}/records/r6/labels/${taskId}`, { labelIds: [label.HAM] }));
      const h = await ok(call('GET', `/api/projects/${P}/heuristics/${fromList}?after=${last.position}`));
      await ok(call('GET', `/api/projects/${P}/records/r6/labels?after=${last.position}`));
      const stats = (await ok(call('GET', `/api/projects/${P}/heuristics/${fromList}`))).stats;
      expect(h.latestRun.status).toBe('completed');
      // 5 of 20 records; the Python twin votes the same records -> 5 overlaps, no conflicts with it; the
      // only reference labels on voted records: r2 SPAM (correct), r6 HAM (wrong)
      expect(stats).toMatchObject({ coverage: 0.25, hits: 5, overlaps: 5, checked: 2, correct: 1, precision: 0.5, recall: 1 });
      // rows for the data browser
      const rows = await platform.db.query(`select count(*)::int as n from rm_record_labels where project_id = $1 and source = 'heuristic' and annotator = $2`, [P, fromList]);
      expect(rows.rows[0]).toEqual({ n: 5 });
    }, 60_000);

    it('a request handled again (crash before the checkpoint moved) appends nothing twice', async () => {
      const h = await lf('javascript', 'function lf(record) {\n  return record.text.length > 10 ? "SPAM" : null;\n}', 'replayed');
      const runId = await run(h);
      await outcome(h, runId);
      const stream = heuristicStreamId(P, h);
      const before = await platform.store.readStream(stream);
      const request = before.find((e) => e.type === 'HeuristicRunRequested')!;
      const again = heuristicRunReactor({ db: platform.db, store: platform.store, artifacts: platform.artifacts, pythonPool: pool, log: () => undefined });
      await again.handle(request, { stopped: false });
      expect((await platform.store.readStream(stream)).length).toBe(before.length);
      // and a completed event re-appended with its deterministic id is a replay, not a second event
      const completed = before.find((e) => e.type === 'HeuristicRunCompleted')!;
      await platform.store.append(stream, [{ id: completed.id, type: completed.type, data: completed.data }], { actor: completed.meta.actor, expectedRevision: 'any', causationId: request.id });
      expect((await platform.store.readStream(stream)).length).toBe(before.length);
    });

    it('external votes: uploaded, validated, in the matrix', async () => {
      const ext = await create({ name: 'external model', type: 'external' });
      await refused(call('POST', `/api/projects/${P}/heuristics/${ext}/votes`, JSON.stringify({ votes: [{ recordId: 'r1', label: 'EGGS' }] }), { 'content-type': 'application/json' }), 422, 'unknown_label');
      await refused(call('POST', `/api/projects/${P}/heuristics/${ext}/votes`, JSON.stringify({ votes: [{ recordId: 'zz', label: 'HAM' }] }), { 'content-type': 'application/json' }), 422, 'record_not_found');
      await refused(call('POST', `/api/projects/${P}/heuristics/${ext}/runs`, {}), 422, 'external_heuristic');
      const up = await ok(call('POST', `/api/projects/${P}/heuristics/${ext}/votes`, JSON.stringify({ votes: [{ recordId: 'r1', label: 'HAM' }, { recordId: 'r4', label: label.SPAM }] }), { 'content-type': 'application/json' }), 201);
      const matrix = await ok(call('GET', `/api/projects/${P}/label-matrix?limit=3&after=${up.position}`));
      expect(matrix.rows.map((r: { recordId: string }) => r.recordId)).toEqual(['r0', 'r1', 'r2']);
      expect(matrix.rows[1].votes[ext]).toBe(label.HAM);
      expect(matrix.rows[0].votes[ext]).toBeNull();
      expect(matrix.nextCursor).not.toBeNull();
    });

    it('a run can be cancelled between batches; deleting a heuristic removes its column', async () => {
      const slow = await lf('javascript', 'function lf(record) {\n  const t = Date.now();\n  while (Date.now() - t < 30) {}\n  return "SPAM";\n}', 'slow');
      const runId = await run(slow);
      await outcome(slow, runId, (s) => s === 'running');
      await ok(call('POST', `/api/projects/${P}/heuristics/${slow}/runs/${runId}/cancel`), 202);
      const o = await outcome(slow, runId);
      expect(o.status).toBe('cancelled');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const events = await platform.store.readStream(heuristicStreamId(P, slow));
      expect(events.find((e) => e.type === 'HeuristicRunFailed')?.data).toBeUndefined();
      expect(events.map((e) => e.type).filter((t) => t !== 'HeuristicRunProgressed')).toEqual(['HeuristicCreated', 'HeuristicRunRequested', 'HeuristicRunCancelled']);
      await refused(call('POST', `/api/projects/${P}/heuristics/${slow}/runs/${runId}/cancel`), 409, 'run_finished');

      const del = await ok(call('DELETE', `/api/projects/${P}/heuristics/${slow}`));
      const matrix = await ok(call('GET', `/api/projects/${P}/label-matrix?after=${del.position}`));
      expect(matrix.heuristics.map((h: { id: string }) => h.id)).not.toContain(slow);
      await refused(call('POST', `/api/projects/${P}/heuristics/${slow}/runs`, {}), 410, 'heuristic_deleted');
    }, 60_000);
  });
}
