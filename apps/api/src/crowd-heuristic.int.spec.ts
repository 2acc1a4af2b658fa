/**
 * Crowd labels as a heuristic (docs/crowd.md, docs/heuristics.md): crowd holders label through a
 * crowd link; a `crowd` heuristic's column (one vote per record: the label most pseudonyms gave,
 * abstaining on none or a tie) follows their answers, its statistics are computed against the
 * reference labels like any heuristic's, and a weak-supervision run that includes it uses it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '@refinery/events/testing';
import { startTestApi, weakSupervisionWorker, type Json, type TestApi } from '../test/product.ts';

const ADMIN_TOKEN = 'rfy_crowd-heuristic-int-spec-admin-token-01';
const IDS = ['a', 'b', 'c', 'd', 'e', 'f'];

for (const backend of testBackends()) {
  describe(`crowd labels as a heuristic on ${backend.name}`, () => {
    let t: TestApi;
    let P: string;
    let taskId: string;
    let spanTask: string;
    let linkToken: string;
    let early: string;
    const label: Record<string, string> = {};
    const holders: string[] = [];
    let last = '';

    async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const r = await t.call(method, path, body, headers);
      if (r.body?.position) last = r.body.position;
      return r;
    }
    const ok = async (p: Promise<{ status: number; body: Json }>, status = 200): Promise<Json> => {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      return r.body;
    };
    const refused = async (p: Promise<{ status: number; body: Json }>, status: number, code: string) => {
      const r = await p;
      expect([r.status, r.body?.error?.code], JSON.stringify(r.body)).toEqual([status, code]);
    };
    /** a crowd holder's request (Bearer = the holder credential) */
    async function crowd(method: string, path: string, credential?: string, body?: unknown) {
      const headers: Record<string, string> = {};
      if (credential) headers['authorization'] = `Bearer ${credential}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${t.api.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      const parsed = (text ? JSON.parse(text) : undefined) as Json;
      if (parsed?.position) last = parsed.position;
      return { status: res.status, body: parsed };
    }
    /** holder `h` answers `record` with a label name (or withdraws with null) */
    const answer = (h: number, record: string, name: string | null) =>
      ok(crowd('PUT', `/api/crowd/${linkToken}/records/${record}/labels/${taskId}`, holders[h], { labelIds: name ? [label[name]] : [] }));
    const columnOf = async (heuristicId: string): Promise<Record<string, string>> => {
      const m = await ok(call('GET', `/api/projects/${P}/label-matrix?taskId=${taskId}&after=${last}&limit=100`));
      return Object.fromEntries(m.rows.filter((r: Json) => r.votes[heuristicId]).map((r: Json) => [r.recordId, r.votes[heuristicId]]));
    };
    const heuristic = async (id: string) => ok(call('GET', `/api/projects/${P}/heuristics/${id}?after=${last}`));

    beforeAll(async () => {
      t = await startTestApi(backend, {
        adminToken: ADMIN_TOKEN,
        config: { readWaitMs: 10_000 },
        alongside: weakSupervisionWorker(),
      });
      P = (await ok(call('POST', '/api/projects', { name: 'Crowd heuristic' }), 201)).id;
      const jsonl = IDS.map((id) => JSON.stringify({ id, text: `text ${id}`, lang: 'en' })).join('\n');
      await ok(call('POST', `/api/projects/${P}/imports?primaryKey=id`, jsonl, { 'content-type': 'application/x-ndjson' }), 201);
      taskId = (await ok(call('POST', `/api/projects/${P}/tasks`, { name: 'Sentiment', kind: 'single_label' }), 201)).id;
      spanTask = (await ok(call('POST', `/api/projects/${P}/tasks`, { name: 'Names', kind: 'span', attribute: 'text' }), 201)).id;
      for (const name of ['pos', 'neg']) label[name] = (await ok(call('POST', `/api/projects/${P}/tasks/${taskId}/labels`, { name }), 201)).id;
      await ok(call('GET', `/api/projects/${P}/records?after=${last}`));
      const sliceId = (await ok(call('POST', `/api/projects/${P}/slices`, { name: 'All', kind: 'dynamic', filter: { attribute: 'lang', op: 'eq', value: 'en', caseSensitive: false } }), 201)).id;
      await ok(call('GET', `/api/projects/${P}/slices?after=${last}`));
      linkToken = (await ok(call('POST', `/api/projects/${P}/crowd-links`, { name: 'Crowd', sliceId, taskId, quota: 6, expiresInHours: 24 }), 201)).token;
      for (let i = 0; i < 3; i++) holders.push((await ok(crowd('POST', `/api/crowd/${linkToken}/join`), 201)).credential);
      // the reference: manual labels of the owner on a, b and d
      for (const [record, name] of [['a', 'pos'], ['b', 'pos'], ['d', 'pos']] as const) await ok(call('PUT', `/api/projects/${P}/records/${record}/labels/${taskId}`, { labelIds: [label[name]] }));
    }, 120_000);
    afterAll(() => t.close());

    it('creating one: classification tasks only; it is never run and takes no uploaded votes', async () => {
      await refused(call('POST', `/api/projects/${P}/heuristics`, { name: 'crowd spans', taskId: spanTask, type: 'crowd' }), 422, 'crowd_needs_classification');
      early = (await ok(call('POST', `/api/projects/${P}/heuristics`, { name: 'The crowd', taskId, type: 'crowd' }), 201)).id;
      await refused(call('POST', `/api/projects/${P}/heuristics/${early}/runs`, {}), 422, 'crowd_heuristic');
      await refused(call('POST', `/api/projects/${P}/heuristics/${early}/votes`, { votes: [{ recordId: 'a', label: 'pos' }] }), 422, 'not_external');
      const h = await heuristic(early);
      expect(h).toMatchObject({ type: 'crowd', taskId, latestRun: null, currentRunId: null, runs: [] });
      // no crowd answers yet: an empty column, statistics of zero
      expect(h.stats).toMatchObject({ coverage: 0, hits: 0, checked: 0, precision: null });
    });

    it('its column follows the crowd answers: the majority of the pseudonyms per record, abstaining on a tie', async () => {
      await answer(0, 'a', 'pos');
      await answer(1, 'a', 'pos');
      await answer(2, 'a', 'neg');
      await answer(0, 'b', 'neg');
      await answer(1, 'b', 'neg');
      await answer(0, 'c', 'pos');
      await answer(1, 'c', 'neg');
      await answer(2, 'd', 'pos');
      expect(await columnOf(early)).toEqual({ a: label.pos, b: label.neg, d: label.pos });

      // statistics against the reference (a, b, d labeled pos by the owner): 3 of 6 covered, b is wrong
      const h = await heuristic(early);
      expect(h.stats).toMatchObject({ coverage: 0.5, hits: 3, checked: 3, correct: 2 });
      expect(h.stats.precision).toBeCloseTo(2 / 3, 10);
      expect((await ok(call('GET', `/api/projects/${P}/heuristics?after=${last}`))).heuristics.find((x: Json) => x.id === early).stats.hits).toBe(3);

      // a crowd heuristic created after the answers starts with the same column
      const late = (await ok(call('POST', `/api/projects/${P}/heuristics`, { name: 'The crowd, later', taskId, type: 'crowd' }), 201)).id;
      expect(await columnOf(late)).toEqual(await columnOf(early));
      expect((await heuristic(late)).stats).toMatchObject({ coverage: 0.5, hits: 3, correct: 2 });
      // the data browser sees its votes as heuristic labels
      const search = await ok(call('POST', `/api/projects/${P}/records/search`, { filter: { label: { taskId, source: 'heuristic', annotator: late } }, limit: 50 }));
      expect(search.records.map((r: Json) => r.id).sort()).toEqual(['a', 'b', 'd']);
      await ok(call('DELETE', `/api/projects/${P}/heuristics/${late}`));

      // a changed answer breaks the tie on c; a withdrawn one ties a (pos 1 : neg 1)
      await answer(2, 'c', 'pos');
      await answer(0, 'a', null);
      expect(await columnOf(early)).toEqual({ b: label.neg, c: label.pos, d: label.pos });
      expect((await heuristic(early)).stats).toMatchObject({ coverage: 0.5, hits: 3, checked: 2, correct: 1 });
    });

    it('a weak-supervision run that includes it uses its votes (a snapshot of the column as an artifact)', async () => {
      const { runId } = await ok(call('POST', `/api/projects/${P}/tasks/${taskId}/weak-supervision/runs`, { heuristicIds: [early] }), 202);
      let run: Json;
      for (let i = 0; ; i++) {
        const r = await call('GET', `/api/projects/${P}/weak-supervision/runs/${runId}`);
        if (r.status === 200 && r.body.status !== 'requested') {
          run = r.body;
          break;
        }
        if (i > 1200) throw new Error('the weak-supervision run did not finish');
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(run.status, JSON.stringify(run.error)).toBe('completed');
      expect(run.heuristics).toEqual([{ heuristicId: early, runId: null, votesArtifact: expect.stringMatching(/^[0-9a-f]{64}$/), votes: 3 }]);
      expect(run.counts).toMatchObject({ records: 6, covered: 3, labeled: 3 });
      const artifact = await t.platform.artifacts.get(run.heuristics[0].votesArtifact);
      expect(JSON.parse(Buffer.from(artifact!.bytes).toString('utf8'))).toEqual({ format: 'refinery.heuristic-votes.v1', kind: 'classification', recordIds: ['b', 'c', 'd'], votes: [label.neg, label.pos, label.pos] });
      // the records the crowd voted on get a weak label (the model also weighs the reference: b's crowd
      // vote contradicts it, so only where crowd and reference agree or no reference exists is the label pinned)
      for (const record of ['b', 'c', 'd']) {
        const weak = await ok(call('GET', `/api/projects/${P}/records/${record}/weak-labels?after=${last}`));
        expect(weak.weakLabels, record).toHaveLength(1);
      }
      for (const record of ['c', 'd']) expect((await ok(call('GET', `/api/projects/${P}/records/${record}/weak-labels`))).weakLabels[0].labelId, record).toBe(label.pos);
      expect((await ok(call('GET', `/api/projects/${P}/records/e/weak-labels`))).weakLabels).toEqual([]);
    });

    it('removing a label recounts the crowd column without it', async () => {
      await ok(call('DELETE', `/api/projects/${P}/tasks/${taskId}/labels/${label.neg}`));
      // b (neg, neg) has no answers left; a (pos vs the withdrawn/neg) is pos now; c and d stay pos
      expect(await columnOf(early)).toEqual({ a: label.pos, c: label.pos, d: label.pos });
    });
  });
}
