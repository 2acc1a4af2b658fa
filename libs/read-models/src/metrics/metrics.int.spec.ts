import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Recorded, SqlDatabase } from '@refinery/events';
import { setupCheckpoints } from '@refinery/projector';
import { testBackends } from '@refinery/events/testing';
import { labelingConfigProjection, recordLabelsProjection } from '../labeling/index.ts';
import { identityProjection } from '../identity/index.ts';
import { heuristicsProjection } from '../heuristics/index.ts';
import { metricsProjection } from './projection.ts';
import { getProjectMetrics } from './queries.ts';
import { getAgreement, loadAnnotatorRatings } from './agreement.ts';

const P = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5a2';
const u1 = '11111111-1111-4111-8111-111111111111';
const u2 = '22222222-2222-4222-8222-222222222222';

let seq = 0;
function recorded(type: string, data: Record<string, unknown>, at: string, actor = u1): Recorded {
  seq++;
  return { type, data: { projectId: P, ...data }, id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, streamId: 's', revision: 0n, position: `7/${seq}`, meta: { actor, at, schema: 1 } };
}
const DAY1 = '2026-11-01T23:59:00.000Z';
const DAY2 = '2026-11-02T00:01:00.000Z';
const labeled = (annotator: string, recordId: string, labelIds: string[], at: string) => recorded('RecordLabeled', { recordId, taskId: 'm', annotator, labelIds, spans: [] }, at, annotator);

const events = [
  recorded('LabelingTaskAdded', { taskId: 'm', name: 'Topics', kind: 'multi_label', attribute: null, allowOverlap: false }, DAY1),
  ...['A', 'B'].map((l) => recorded('LabelAdded', { taskId: 'm', labelId: l, name: l, color: '#000000', hotkey: null, description: '' }, DAY1)),
  // u1: r1 {A, B}, r2 {A}; u2: r1 {B, A} (the same set), r2 {A} then {B} the next day
  labeled(u1, 'r1', ['A', 'B'], DAY1),
  labeled(u1, 'r2', ['A'], DAY1),
  labeled(u2, 'r1', ['B', 'A'], DAY1),
  labeled(u2, 'r2', ['A'], DAY1),
  labeled(u2, 'r2', ['B'], DAY2),
  recorded('GoldLabelSet', { recordId: 'r2', taskId: 'm', labelIds: ['A'], spans: [] }, DAY2),
];

for (const backend of testBackends()) {
  describe(`metrics read model on ${backend.name}`, () => {
    let db: SqlDatabase;
    beforeAll(async () => {
      db = await backend.open();
      // names come from the accounts and heuristics read models
      await setupCheckpoints(db, [labelingConfigProjection, recordLabelsProjection, identityProjection, heuristicsProjection, metricsProjection]);
      // replaying the same events twice must give the same read model
      for (let i = 0; i < 2; i++) {
        for (const p of [labelingConfigProjection, recordLabelsProjection, metricsProjection]) {
          await db.transaction((tx) => p.apply(tx, events.filter((e) => p.handles.includes(e.type))));
        }
      }
    });
    afterAll(() => backend.cleanup());

    it('progress counts every answer on the UTC day of its event, once', async () => {
      const m = await getProjectMetrics(db, P, { cache: false });
      expect(m.progress.map((p) => [p.day, p.source, p.annotator, p.answers])).toEqual([
        ['2026-11-01', 'manual', u1, 2],
        ['2026-11-01', 'manual', u2, 2],
        ['2026-11-02', 'gold', u1, 1],
        ['2026-11-02', 'manual', u2, 1],
      ]);
    });

    it('multi-label distribution counts labels; a label set is one category in agreement', async () => {
      const m = await getProjectMetrics(db, P, { taskId: 'm', cache: false });
      const manual = Object.fromEntries(m.tasks[0]!.distribution.filter((d) => d.source === 'manual').map((d) => [d.sourceId, d.counts]));
      expect(manual).toEqual({ [u1]: { A: 2, B: 1 }, [u2]: { A: 1, B: 2 } });
      // reference: r1 unanimous {A, B}; r2 gold {A}
      expect(m.tasks[0]!.distribution.find((d) => d.source === 'reference')?.counts).toEqual({ A: 2, B: 1 });

      const ratings = await loadAnnotatorRatings(db, P, 'm');
      expect(ratings.annotators).toEqual([u1, u2]);
      const category = (a: number, recordId: string) => ratings.categories[ratings.matrix.codes[a * ratings.matrix.items + ratings.recordIds.indexOf(recordId)]!];
      expect(category(0, 'r1')).toEqual(['A', 'B']);
      expect(category(1, 'r1')).toEqual(['A', 'B']);
      expect(category(0, 'r2')).toEqual(['A']);
      expect(category(1, 'r2')).toEqual(['B']);
      // r1 agree, r2 not: p_o ½; marginals u1 ({A,B} ½, {A} ½), u2 ({A,B} ½, {B} ½): p_e ¼ → κ ⅓
      const a = await getAgreement(db, P, 'm');
      expect(a?.nominal?.pairs).toHaveLength(1);
      expect(a?.nominal?.pairs[0]).toMatchObject({ a: u1, b: u2, shared: 2, agreements: 1, percentAgreement: 0.5 });
      expect(a?.nominal?.pairs[0]?.cohenKappa).toBeCloseTo(1 / 3, 10);
      expect(await getAgreement(db, P, 'nope')).toBeUndefined();
    });

    it('the cache is keyed by the checkpoints of the read models behind the figures', async () => {
      const checkpoint = (c: string) =>
        db.query(`insert into projection_checkpoints (name, version, checkpoint) values ('record_labels', 2, $1) on conflict (name) do update set checkpoint = excluded.checkpoint`, [c]);
      await checkpoint('7/100');
      const before = await getProjectMetrics(db, P, { taskId: 'm' });
      await db.transaction((tx) => recordLabelsProjection.apply(tx, [labeled(u1, 'r3', ['B'], DAY2)]));
      // rows changed by hand, checkpoint not moved: the cached figures (what a projection never does)
      expect(await getProjectMetrics(db, P, { taskId: 'm' })).toEqual(before);
      await checkpoint('7/101');
      const after = await getProjectMetrics(db, P, { taskId: 'm' });
      expect(after.tasks[0]!.distribution.find((d) => d.source === 'manual' && d.sourceId === u1)?.counts).toEqual({ A: 2, B: 2 });
      // callers get copies: changing one does not change the cache
      after.tasks[0]!.distribution.length = 0;
      expect((await getProjectMetrics(db, P, { taskId: 'm' })).tasks[0]!.distribution.length).toBeGreaterThan(0);
      await expect(getProjectMetrics(db, P, { confidenceBins: 1 })).rejects.toThrow(/confidenceBins/);
    });

    it('a batch that overlaps what was counted adds only the events after it', async () => {
      const before = (await getProjectMetrics(db, P, { cache: false })).progress;
      await metricsProjection.reset(db);
      const mine = events.filter((e) => metricsProjection.handles.includes(e.type));
      // a prefix, then a batch from the start again (one statement per run counts per event, not per group)
      await db.transaction((tx) => metricsProjection.apply(tx, mine.slice(0, 3)));
      await db.transaction((tx) => metricsProjection.apply(tx, mine));
      expect((await getProjectMetrics(db, P, { cache: false })).progress).toEqual(before);
    });

    it('the catch-up fold counts exactly what apply counts', async () => {
      const before = await db.query('select * from rm_label_activity order by project_id, task_id, source, annotator, day');
      await metricsProjection.reset(db);
      const fold = metricsProjection.catchUp!();
      const mine = [
        ...events,
        recorded('RecordLabeled', { recordId: 'r1', taskId: 'x', annotator: u2, labelIds: ['A'], spans: [] }, DAY1, u2),
        recorded('LabelingTaskRemoved', { taskId: 'x' }, DAY2),
        labeled(u1, 'r3', ['A'], '2026-11-02T03:00:00+02:00'),
      ].filter((e) => metricsProjection.handles.includes(e.type));
      for (const e of mine) fold.add([e]);
      await db.transaction((tx) => fold.finish(tx));
      const folded = await db.query('select * from rm_label_activity order by project_id, task_id, source, annotator, day');
      await metricsProjection.reset(db);
      await db.transaction((tx) => metricsProjection.apply(tx, mine));
      expect(folded.rows).toEqual((await db.query('select * from rm_label_activity order by project_id, task_id, source, annotator, day')).rows);
      // the extra answer (01:00 UTC on Nov 2) is counted on top of what the log above gave
      expect(folded.rows.length).toBe(before.rows.length + 1);
    });

    it('reset empties what it wrote', async () => {
      await metricsProjection.reset(db);
      expect((await getProjectMetrics(db, P, { cache: false })).progress).toEqual([]);
    });
  });
}
