/**
 * Acceptance: the YouTube comments imported through the API, the first 7 labeling functions of
 * the data set written as product heuristics once in JavaScript and once in Python, run through
 * the API and the workers; the label matrix must equal columns 0–6 of `weak_labels` for every
 * record (abstain = -1, HAM = 0, SPAM = 1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '@refinery/events/testing';
import { startWorkers, type WorkersHandle } from '@refinery/workers';
import { PythonPool } from '@refinery/sandbox';
import { loadYoutubeComments, YOUTUBE_LFS as LFS } from '@refinery/sandbox/testing';
import { startTestApi, type TestApi } from '../test/product.ts';

const ADMIN_TOKEN = 'rfy_youtube-int-spec-admin-token-0123456789';
const comments = loadYoutubeComments();
const records = comments.map((c) => ({ id: `${c.split}-${c.index}`, text: c.text }));
const expected = comments.map((c) => c.expected);

for (const backend of testBackends()) {
  describe(`YouTube spam heuristics through the product on ${backend.name}`, () => {
    let workers: WorkersHandle;
    let pool: PythonPool;

    let product: TestApi;
    const call = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => product.call(method, url, body, headers);
    async function ok(p: ReturnType<typeof call>, status = 200) {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      return r.body;
    }

    beforeAll(async () => {
      pool = new PythonPool({ size: 2, log: () => undefined });
      product = await startTestApi(backend, {
        adminToken: ADMIN_TOKEN,
        config: { readWaitMs: 30_000 },
        alongside: async (p) => {
          workers = await startWorkers(p, { pythonPool: pool });
          return { stop: async () => (await workers.stop(), await pool.close()) };
        },
      });
    }, 60_000);
    afterAll(() => product.close());

    it('the label matrix equals weak_labels columns 0–6 for every record, in JavaScript and in Python', async () => {
      expect(records.length).toBe(1956);
      const projectId = (await ok(call('POST', '/api/projects', { name: 'YouTube spam' }), 201)).id as string;
      const jsonl = records.map((r) => JSON.stringify(r)).join('\n');
      await ok(call('POST', `/api/projects/${projectId}/imports?primaryKey=id`, jsonl, { 'content-type': 'application/x-ndjson' }), 201);
      const taskId = (await ok(call('POST', `/api/projects/${projectId}/tasks`, { name: 'Spam', kind: 'single_label' }), 201)).id as string;
      const ham = (await ok(call('POST', `/api/projects/${projectId}/tasks/${taskId}/labels`, { name: 'HAM' }), 201)).id as string;
      const spam = (await ok(call('POST', `/api/projects/${projectId}/tasks/${taskId}/labels`, { name: 'SPAM' }), 201)).id as string;

      const heuristics: Array<{ id: string; column: number; runId: string }> = [];
      for (const language of ['javascript', 'python'] as const) {
        for (let j = 0; j < LFS.length; j++) {
          const lf = LFS[j]!;
          const h = await ok(call('POST', `/api/projects/${projectId}/heuristics`, { name: `${lf.name} (${language})`, taskId, type: 'labeling_function', language, code: lf[language] }), 201);
          const run = await ok(call('POST', `/api/projects/${projectId}/heuristics/${h.id}/runs`, {}), 202);
          heuristics.push({ id: h.id, column: j, runId: run.runId });
        }
      }
      // every run completes (the workers run them; the projection loads their votes)
      for (const h of heuristics) {
        const deadline = Date.now() + 120_000;
        for (;;) {
          const run = await ok(call('GET', `/api/projects/${projectId}/heuristics/${h.id}/runs/${h.runId}`).then((r) => (r.status === 404 ? { status: 200, body: { status: 'pending' } } : r)));
          if (run.status === 'completed') break;
          expect(run.status, JSON.stringify(run.error)).not.toBe('failed');
          expect(Date.now()).toBeLessThan(deadline);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      const code = (v: unknown) => (v === null ? -1 : v === ham ? 0 : v === spam ? 1 : -2);
      const got = new Map<string, Record<string, unknown>>();
      let cursor: string | null = null;
      do {
        const page: { rows: Array<{ recordId: string; votes: Record<string, unknown> }>; nextCursor: string | null; total: number } = await ok(
          call('GET', `/api/projects/${projectId}/label-matrix?taskId=${taskId}&limit=700${cursor ? `&cursor=${cursor}` : ''}`),
        );
        expect(page.total).toBe(1956);
        for (const row of page.rows) got.set(row.recordId, row.votes);
        cursor = page.nextCursor;
      } while (cursor);
      expect([...got.keys()]).toEqual(records.map((r) => r.id)); // every record once, in import order
      const mismatches: string[] = [];
      records.forEach((r, i) => {
        const votes = got.get(r.id)!;
        for (const h of heuristics) {
          const want = expected[i]![h.column]!;
          const have = code(votes[h.id]);
          if (have !== want) mismatches.push(`${r.id} column ${h.column} (${h.id}): got ${have}, want ${want}`);
        }
      });
      expect(mismatches.slice(0, 20)).toEqual([]);

      // statistics are there for every heuristic; JS and Python twins agree
      const list = await ok(call('GET', `/api/projects/${projectId}/heuristics`));
      expect(list.heuristics).toHaveLength(14);
      for (let j = 0; j < 7; j++) {
        const js = list.heuristics.find((x: { id: string }) => x.id === heuristics[j]!.id);
        const py = list.heuristics.find((x: { id: string }) => x.id === heuristics[j + 7]!.id);
        const hits = expected.filter((w) => w[j] !== -1).length;
        expect(js.stats.hits).toBe(hits);
        expect(js.stats.coverage).toBeCloseTo(hits / 1956, 10);
        expect(py.stats).toEqual(js.stats);
        expect(js.latestRun.status).toBe('completed');
      }
    }, 300_000);
  });
}
