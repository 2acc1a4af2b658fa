import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '@refinery/events/testing';
import { startTestApi, weakSupervisionWorker, type Json, type TestApi } from '../test/product.ts';

const ADMIN_TOKEN = 'rfy_metrics-int-spec-admin-token-0123456';

const TEXTS = ['Acme Corp sells songs', 'Globex Industries rules', 'nothing here', 'Acme again', 'plain text', 'more text', 'unlabeled'];

/**
 * A small hand-made project: three annotators (the owner O and two experts A and B) label six
 * records; one gold decision; an external heuristic; weak-supervision rows (written straight into
 * the read model: the weak-supervision events are not in the catalog yet). Every expected number
 * below is worked out by hand in the comments.
 */
for (const backend of testBackends()) {
  describe(`metrics and agreement on ${backend.name}`, () => {
    let product: TestApi;
    let P: string;
    let T: string; // single-label task
    let S: string; // span task
    let H: string; // external heuristic
    const label: Record<string, string> = {};
    const user: Record<'O' | 'A' | 'B', { id: string; token: string }> = {} as never;
    let last = '';
    let afterO = '';

    const as = async (who: 'O' | 'A' | 'B', method: string, url: string, body?: unknown) => {
      const r = await product.call(method, url, body, { authorization: `Bearer ${user[who].token}` });
      if (r.body?.position) last = r.body.position;
      return r;
    };
    async function ok(p: Promise<{ status: number; body: Json }>, status = 200) {
      const r = await p;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      return r.body;
    }
    const label_ = (who: 'O' | 'A' | 'B', record: string, l: 'POS' | 'NEG') => ok(as(who, 'PUT', `/api/projects/${P}/records/${record}/labels/${T}`, { labelIds: [label[l]] }));
    const spans = (who: 'O' | 'A', record: string, marks: string[]) => {
      const text = TEXTS[Number(record.slice(1))]!;
      return ok(as(who, 'PUT', `/api/projects/${P}/records/${record}/labels/${S}`, { spans: marks.map((m) => ({ labelId: label.ORG, start: text.indexOf(m), end: text.indexOf(m) + m.length })) }));
    };

    async function member(email: string): Promise<{ id: string; token: string }> {
      const inv = await ok(product.call('POST', '/api/invitations', { email, projectId: P, role: 'expert' }), 201);
      const res = await fetch(`${product.api.url}/api/invitations/${inv.token}/accept`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: email.split('@')[0], password: `${email}-password` }),
      });
      expect(res.status).toBe(201);
      const accepted = (await res.json()) as { user: { id: string }; csrfToken: string };
      const cookie = res.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const created = await fetch(`${product.api.url}/api/auth/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': accepted.csrfToken },
        body: JSON.stringify({ name: 'metrics' }),
      });
      expect(created.status).toBe(201);
      return { id: accepted.user.id, token: ((await created.json()) as { token: string }).token };
    }

    beforeAll(async () => {
      product = await startTestApi(backend, {
        adminToken: ADMIN_TOKEN,
        config: { readWaitMs: 10_000 },
        // weak supervision runs in the workers
        alongside: weakSupervisionWorker(),
      });
      P = (await ok(product.call('POST', '/api/projects', { name: 'Metrics' }), 201)).id;
      // the owner's membership reaches the read model asynchronously (under load it can lag the answer)
      for (let i = 0; i < 200 && (await product.call('GET', `/api/projects/${P}`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
      const jsonl = TEXTS.map((text, i) => JSON.stringify({ id: `r${i}`, text })).join('\n');
      await ok(product.call('POST', `/api/projects/${P}/imports?primaryKey=id`, jsonl, { 'content-type': 'application/x-ndjson' }), 201);
      T = (await ok(product.call('POST', `/api/projects/${P}/tasks`, { name: 'Sentiment', kind: 'single_label' }), 201)).id;
      for (const name of ['POS', 'NEG']) label[name] = (await ok(product.call('POST', `/api/projects/${P}/tasks/${T}/labels`, { name }), 201)).id;
      S = (await ok(product.call('POST', `/api/projects/${P}/tasks`, { name: 'Brands', kind: 'span', attribute: 'text' }), 201)).id;
      label.ORG = (await ok(product.call('POST', `/api/projects/${P}/tasks/${S}/labels`, { name: 'ORG' }), 201)).id;
      user.O = { id: (await ok(product.call('GET', '/api/auth/me'))).user.id, token: ADMIN_TOKEN };
      user.A = await member('alice@example.com');
      user.B = await member('bob@example.com');
      // Wait until the memberships are projected (the experts may label then).
      for (let i = 0; i < 200 && (await as('B', 'GET', `/api/projects/${P}`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));

      // O: r0 POS, r1 POS, r2 NEG, r3 NEG, r4 POS
      // A: r0 POS, r1 NEG, r2 NEG, r3 NEG, r5 POS → NEG (changed: 6 answers, 5 current labels)
      // B: r0 POS, r1 POS, r2 NEG
      for (const [r, l] of [['r0', 'POS'], ['r1', 'POS'], ['r2', 'NEG'], ['r3', 'NEG'], ['r4', 'POS']] as const) await label_('O', r, l);
      afterO = last;
      for (const [r, l] of [['r0', 'POS'], ['r1', 'NEG'], ['r2', 'NEG'], ['r3', 'NEG'], ['r5', 'POS'], ['r5', 'NEG']] as const) await label_('A', r, l);
      for (const [r, l] of [['r0', 'POS'], ['r1', 'POS'], ['r2', 'NEG']] as const) await label_('B', r, l);
      // r1 is disputed: gold NEG. References: r0 POS, r1 NEG (gold), r2 NEG, r3 NEG, r4 POS (single), r5 NEG (single).
      await ok(as('O', 'PUT', `/api/projects/${P}/records/r1/gold/${T}`, { labelIds: [label.NEG] }));

      // Heuristic H votes r0 POS, r1 POS, r2 NEG, r4 NEG, r6 POS (r6 has no reference).
      H = (await ok(product.call('POST', `/api/projects/${P}/heuristics`, { name: 'external votes', taskId: T, type: 'external' }), 201)).id;
      const votes = { votes: [['r0', 'POS'], ['r1', 'POS'], ['r2', 'NEG'], ['r4', 'NEG'], ['r6', 'POS']].map(([recordId, l]) => ({ recordId, label: l })) };
      const uploaded = await ok(product.call('POST', `/api/projects/${P}/heuristics/${H}/votes`, JSON.stringify(votes), { 'content-type': 'application/json' }), 201);
      last = uploaded.position;

      // Spans (task S), O and A: r0 O "Acme Corp" / A "Acme" (overlap, not exact); r1 both "Globex" (exact);
      // r2 only A marks "nothing" (O gives no answer: an empty answer is no answer).
      await spans('O', 'r0', ['Acme Corp']);
      await spans('A', 'r0', ['Acme']);
      await spans('O', 'r1', ['Globex']);
      await spans('A', 'r1', ['Globex']);
      await spans('A', 'r2', ['nothing']);
    }, 120_000);
    afterAll(() => product?.close());

    it('label distribution per source, confusion against the reference, progress per annotator and day', async () => {
      const m = await ok(product.call('GET', `/api/projects/${P}/metrics?task=${T}&after=${last}`));
      expect(m.asOf).toEqual({ live: true, position: null, time: null });
      expect(m.tasks).toHaveLength(1);
      const task = m.tasks[0];
      expect(task).toMatchObject({ taskId: T, name: 'Sentiment', kind: 'single_label' });
      const series = (source: string, sourceId: string | null = null) => task.distribution.find((d: Json) => d.source === source && d.sourceId === sourceId);
      const { POS, NEG } = label as { POS: string; NEG: string };
      expect(series('manual', user.O.id)).toMatchObject({ name: 'Owner', counts: { [POS]: 3, [NEG]: 2 }, total: 5 });
      expect(series('manual', user.A.id)).toMatchObject({ name: 'alice', counts: { [POS]: 1, [NEG]: 4 }, total: 5 });
      expect(series('manual', user.B.id)).toMatchObject({ name: 'bob', counts: { [POS]: 2, [NEG]: 1 }, total: 3 });
      expect(series('gold')).toMatchObject({ counts: { [NEG]: 1 }, total: 1 });
      expect(series('reference')).toMatchObject({ counts: { [POS]: 2, [NEG]: 4 }, total: 6 });
      expect(series('heuristic', H)).toMatchObject({ name: 'external votes', counts: { [POS]: 3, [NEG]: 2 }, total: 5 });

      // rows: reference POS (r0, r4), NEG (r1, r2, r3, r5); columns POS, NEG, no vote
      const h = task.confusion.find((c: Json) => c.source === 'heuristic' && c.sourceId === H);
      expect(h).toMatchObject({ labelIds: [POS, NEG], voted: 4, correct: 2 });
      expect(h.matrix).toEqual([
        [1, 1, 0],
        [1, 1, 2],
      ]);
      expect(task.confidence).toBeNull();

      const progress = m.progress.filter((p: Json) => p.taskId === T);
      const today = new Date().toISOString().slice(0, 10);
      const answers = (source: string, id: string) => progress.find((p: Json) => p.source === source && p.annotator === id && p.day === today)?.answers;
      expect(progress.every((p: Json) => p.day === today)).toBe(true);
      expect(answers('manual', user.O.id)).toBe(5);
      expect(answers('manual', user.A.id)).toBe(6);
      expect(answers('manual', user.B.id)).toBe(3);
      expect(answers('gold', user.O.id)).toBe(1);
      expect(progress).toHaveLength(4);

      // the whole project: both tasks; the span task has no confusion matrices
      const all = await ok(product.call('GET', `/api/projects/${P}/metrics`));
      expect(all.tasks.map((t: Json) => t.taskId)).toEqual([T, S]);
      const spanTask = all.tasks[1];
      expect(spanTask.confusion).toEqual([]);
      expect(spanTask.distribution.find((d: Json) => d.source === 'manual' && d.sourceId === user.O.id)).toMatchObject({ counts: { [label.ORG!]: 2 }, total: 2 });
      expect(spanTask.distribution.find((d: Json) => d.source === 'manual' && d.sourceId === user.A.id)).toMatchObject({ counts: { [label.ORG!]: 3 }, total: 3 });
      const spanProgress = all.progress.filter((p: Json) => p.taskId === S);
      expect(spanProgress).toHaveLength(2);
      expect(spanProgress.find((p: Json) => p.annotator === user.O.id).answers).toBe(2);
      expect(spanProgress.find((p: Json) => p.annotator === user.A.id).answers).toBe(3);
    });

    it("agreement: pairwise percent agreement and Cohen's κ, Fleiss' κ, Krippendorff's α", async () => {
      const a = await ok(product.call('GET', `/api/projects/${P}/agreement?task=${T}&after=${last}`));
      expect(a).toMatchObject({ taskId: T, kind: 'single_label', records: 6, spans: null });
      const byId = Object.fromEntries(a.annotators.map((x: Json) => [x.id, x]));
      expect(byId[user.O.id]).toMatchObject({ name: 'Owner', records: 5 });
      expect(byId[user.A.id]).toMatchObject({ name: 'alice', records: 5 });
      expect(byId[user.B.id]).toMatchObject({ name: 'bob', records: 3 });
      const pair = (x: string, y: string) => a.nominal.pairs.find((p: Json) => (p.a === x && p.b === y) || (p.a === y && p.b === x));
      expect(a.nominal.pairs).toHaveLength(3);
      // O–A share r0–r3, agree on r0 r2 r3: p_o 3/4; marginals O (½, ½), A (¼, ¾): p_e ½ → κ ½
      expect(pair(user.O.id, user.A.id)).toMatchObject({ shared: 4, agreements: 3, percentAgreement: 0.75 });
      expect(pair(user.O.id, user.A.id).cohenKappa).toBeCloseTo(0.5, 10);
      // O–B share r0–r2 and agree on all: κ 1
      expect(pair(user.O.id, user.B.id)).toMatchObject({ shared: 3, agreements: 3, percentAgreement: 1 });
      expect(pair(user.O.id, user.B.id).cohenKappa).toBeCloseTo(1, 10);
      // A–B share r0–r2, agree on r0 r2: p_o 2/3; marginals A (⅓, ⅔), B (⅔, ⅓): p_e 4/9 → κ (2/9)/(5/9) = 0.4
      expect(pair(user.A.id, user.B.id)).toMatchObject({ shared: 3, agreements: 2 });
      expect(pair(user.A.id, user.B.id).percentAgreement).toBeCloseTo(2 / 3, 10);
      expect(pair(user.A.id, user.B.id).cohenKappa).toBeCloseTo(0.4, 10);
      // Fleiss over r0 (PPP), r1 (PNP), r2 (NNN), r3 (NN): P̄ = (1 + ⅓ + 1 + 1)/4 = 5/6,
      // p = (5/11, 6/11): P̄e = 61/121, κ = (5/6 − 61/121)/(60/121) = 28919/43560
      expect(a.nominal.fleiss).toMatchObject({ items: 4, ratings: 11 });
      expect(a.nominal.fleiss.observedAgreement).toBeCloseTo(5 / 6, 10);
      expect(a.nominal.fleiss.expectedAgreement).toBeCloseTo(61 / 121, 10);
      expect(a.nominal.fleiss.kappa).toBeCloseTo(28919 / 43560, 10);
      // Krippendorff: o_PP 4, o_PN = o_NP 1, o_NN 5; n_P 5, n_N 6, n 11: α = 1 − 10·2/(2·5·6) = ⅔
      expect(a.nominal.krippendorff).toMatchObject({ units: 4, pairableValues: 11 });
      expect(a.nominal.krippendorff.alpha).toBeCloseTo(2 / 3, 10);
    });

    it('span agreement: pairwise exact-match and overlap F1 over the records both annotated', async () => {
      const a = await ok(product.call('GET', `/api/projects/${P}/agreement?task=${S}`));
      expect(a).toMatchObject({ taskId: S, kind: 'span', records: 3, nominal: null });
      expect(a.spans.pairs).toHaveLength(1);
      // shared: r0, r1 (r2 only A); 2 spans each; exact: Globex (1) → F1 2/4; overlap: + Acme Corp/Acme (2) → F1 1
      const p = a.spans.pairs[0];
      expect(p.records).toBe(2);
      expect(p.exact).toMatchObject({ matched: 1, spansA: 2, spansB: 2 });
      expect(p.exact.f1).toBeCloseTo(0.5, 10);
      expect(p.overlap).toMatchObject({ matched: 2 });
      expect(p.overlap.f1).toBeCloseTo(1, 10);
      expect(Object.fromEntries(a.annotators.map((x: Json) => [x.id, x.records]))).toEqual({ [user.O.id]: 2, [user.A.id]: 3 });
    });

    it('weak-supervision labels held by the read model: distribution, confusion and confidence histogram', async () => {
      // r0 POS .95, r1 NEG .55, r2 NEG .85, r3 POS .62, r4 POS 1.0 (the last bin includes 1)
      const rows = [
        ['r0', 'POS', 0.95],
        ['r1', 'NEG', 0.55],
        ['r2', 'NEG', 0.85],
        ['r3', 'POS', 0.62],
        ['r4', 'POS', 1.0],
      ] as const;
      for (const [r, l, c] of rows) {
        await product.platform.db.query(
          `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, labeled_at, confidence) values ($1, $2, $3, 'weak_supervision', 'ws', $4, now(), $5)`,
          [P, r, T, label[l], c],
        );
      }
      const m = await ok(product.call('GET', `/api/projects/${P}/metrics?task=${T}&bins=5`));
      const task = m.tasks[0];
      const { POS, NEG } = label as { POS: string; NEG: string };
      expect(task.distribution.find((d: Json) => d.source === 'weak_supervision')).toMatchObject({ sourceId: null, counts: { [POS]: 3, [NEG]: 2 }, total: 5 });
      // reference POS: r0 → POS, r4 → POS; NEG: r1 → NEG, r2 → NEG, r3 → POS, r5 → no vote
      const ws = task.confusion.find((c: Json) => c.source === 'weak_supervision');
      expect(ws).toMatchObject({ voted: 5, correct: 4 });
      expect(ws.matrix).toEqual([
        [2, 0, 0],
        [1, 2, 1],
      ]);
      // 5 bins of 0.2: POS .95 → 4, .62 → 3, 1.0 → 4; NEG .55 → 2, .85 → 4
      expect(task.confidence).toEqual({ bins: 5, total: 5, byLabel: { [POS]: [0, 0, 0, 1, 2], [NEG]: [0, 0, 1, 0, 1] } });
      await product.platform.db.query(`delete from rm_record_labels where project_id = $1 and source = 'weak_supervision'`, [P]);
    });

    it('weak supervision run through the product: its labels in the distribution, confusion and confidence histogram', async () => {
      // majority vote over the one heuristic H: the weak labels are H's votes (r0 POS, r1 POS, r2 NEG, r4 NEG, r6 POS)
      const { runId } = await ok(product.call('POST', `/api/projects/${P}/tasks/${T}/weak-supervision/runs`, { heuristicIds: [H], model: 'mv' }), 202);
      const deadline = Date.now() + 60_000;
      let run: Json;
      for (;;) {
        run = (await product.call('GET', `/api/projects/${P}/weak-supervision/runs/${runId}`)).body;
        if (run?.status && run.status !== 'requested') break;
        if (Date.now() > deadline) throw new Error(`weak supervision run did not finish: ${JSON.stringify(run)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(run.status, JSON.stringify(run)).toBe('completed');
      const { POS, NEG } = label as { POS: string; NEG: string };
      let task: Json;
      for (let i = 0; i < 100; i++) {
        task = (await ok(product.call('GET', `/api/projects/${P}/metrics?task=${T}`))).tasks[0];
        if (task.distribution.some((d: Json) => d.source === 'weak_supervision')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(task.distribution.find((d: Json) => d.source === 'weak_supervision')).toMatchObject({ sourceId: null, counts: { [POS]: 3, [NEG]: 2 }, total: 5 });
      const ws = task.confusion.find((c: Json) => c.source === 'weak_supervision');
      expect(ws).toMatchObject({ voted: 4, correct: 2 });
      expect(ws.matrix).toEqual([
        [1, 1, 0],
        [1, 1, 2],
      ]);
      expect(task.confidence.total).toBe(5);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      expect([sum(task.confidence.byLabel[POS]), sum(task.confidence.byLabel[NEG])]).toEqual([3, 2]);
    }, 90_000);

    it('as of a log position or a time: computed on the project replayed up to that point', async () => {
      // at the position of O's last label only O had labeled: references are O's single answers
      const m = await ok(product.call('GET', `/api/projects/${P}/metrics?task=${T}&position=${afterO}`));
      expect(m.asOf).toMatchObject({ live: false, position: afterO });
      const { POS, NEG } = label as { POS: string; NEG: string };
      const task = m.tasks[0];
      expect(task.distribution.map((d: Json) => [d.source, d.sourceId, d.name, d.counts])).toEqual([
        ['manual', user.O.id, 'Owner', { [POS]: 3, [NEG]: 2 }],
        ['reference', null, null, { [POS]: 3, [NEG]: 2 }],
      ]);
      expect(task.confusion).toEqual([]);
      expect(m.progress.map((p: Json) => [p.annotator, p.answers])).toEqual([[user.O.id, 5]]);
      const a = await ok(product.call('GET', `/api/projects/${P}/agreement?task=${T}&position=${afterO}`));
      expect(a).toMatchObject({ asOf: { live: false, position: afterO }, records: 5, nominal: { pairs: [], fleiss: { kappa: null }, krippendorff: { alpha: null } } });
      expect(a.annotators).toEqual([{ id: user.O.id, name: 'Owner', records: 5 }]);

      // as of now: the same figures as the live read model
      const now = new Date().toISOString();
      const [live, then] = await Promise.all([ok(product.call('GET', `/api/projects/${P}/metrics`)), ok(product.call('GET', `/api/projects/${P}/metrics?asOf=${now}`))]);
      expect(then.asOf).toMatchObject({ live: false, time: now });
      expect(then.tasks).toEqual(live.tasks);
      expect(then.progress).toEqual(live.progress);
      const [liveA, thenA] = await Promise.all([ok(product.call('GET', `/api/projects/${P}/agreement?task=${T}`)), ok(product.call('GET', `/api/projects/${P}/agreement?task=${T}&asOf=${now}`))]);
      expect({ ...thenA, asOf: null }).toEqual({ ...liveA, asOf: null });
    }, 60_000);

    it('refuses bad input with the error shape and unknown tasks with 404', async () => {
      const bad = async (url: string, status: number, code: string) => {
        const r = await product.call('GET', url);
        expect(r.status, JSON.stringify(r.body)).toBe(status);
        expect(r.body.error.code).toBe(code);
      };
      await bad(`/api/projects/${P}/agreement`, 400, 'invalid_request');
      await bad(`/api/projects/${P}/agreement?task=nope`, 404, 'task_not_found');
      await bad(`/api/projects/${P}/metrics?task=nope`, 404, 'task_not_found');
      await bad(`/api/projects/${P}/metrics?bins=1`, 400, 'invalid_request');
      await bad(`/api/projects/${P}/metrics?bins=abc`, 400, 'invalid_request');
      await bad(`/api/projects/${P}/metrics?asOf=2026-01-01T00:00:00Z&position=1/2`, 400, 'invalid_request');
      await bad(`/api/projects/${P}/metrics?asOf=2000-01-01T00:00:00Z`, 422, 'before_project');
      await bad(`/api/projects/${P}/agreement?task=${T}&asOf=2000-01-01T00:00:00Z`, 422, 'before_project');
      await bad(`/api/projects/${P}/metrics?asOf=yesterday`, 422, 'invalid_as_of_point');
      await bad(`/api/projects/${P}/metrics?position=99999999999/99999999999`, 422, 'position_beyond_end');
      await bad(`/api/projects/${P}/metrics?position=nope`, 422, 'invalid_as_of_point');
      const anonymous = await fetch(`${product.api.url}/api/projects/${P}/metrics`);
      expect(anonymous.status).toBe(401);
    });
  });
}
