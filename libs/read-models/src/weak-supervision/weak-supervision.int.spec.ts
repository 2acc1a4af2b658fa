import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateEventStore, SqlArtifactStore, type Recorded, type SqlDatabase, type WeakLabelsArtifact } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { recordLabelsProjection } from '../labeling/record-labels-projection.ts';
import { weakSupervisionProjection } from './projection.ts';
import { getRecordWeakLabels, getWsConfig, getWsConfusion, getWsRun, listWsRuns, wsMinConfidences } from './queries.ts';

const P = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5a1';
const R1 = '11111111-1111-4111-8111-111111111111';
const R2 = '22222222-2222-4222-8222-222222222222';
const R3 = '33333333-3333-4333-8333-333333333333';
let seq = 0;
function recorded(type: string, data: Record<string, unknown>): Recorded {
  seq++;
  return { type, data, id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, streamId: 's', revision: 0n, position: `1/${seq}`, meta: { actor: 'u1', at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), schema: 1 } };
}
const requested = (runId: string) => recorded('WeakSupervisionRequested', { projectId: P, taskId: 't1', runId, model: 'ours', heuristicIds: ['h1'], parameters: {}, trigger: 'manual', requestedBy: 'u1' });
const completed = (runId: string, artifact: string, labeled: number) =>
  recorded('WeakSupervisionCompleted', {
    projectId: P,
    taskId: 't1',
    runId,
    model: 'ours',
    parameters: {},
    heuristics: [{ heuristicId: 'h1', runId: R3, votesArtifact: 'a'.repeat(64), votes: 3 }],
    resultArtifact: artifact,
    counts: { records: 4, covered: 3, labeled, manual: 1, byLabel: {} },
    meanConfidence: 0.8,
    agreement: { h1: 1 },
    durationMs: 5,
  });

for (const backend of testBackends()) {
  describe(`weak-supervision read model on ${backend.name}`, () => {
    let db: SqlDatabase;
    beforeAll(async () => {
      db = await backend.open();
      await migrateEventStore(db);
      await recordLabelsProjection.setup(db);
      await weakSupervisionProjection.setup(db);
      const artifacts = new SqlArtifactStore(db);
      const put = (a: WeakLabelsArtifact) => artifacts.put(Buffer.from(JSON.stringify(a)), 'application/json');
      const older = await put({ format: 'refinery.weak-labels.v1', kind: 'classification', recordIds: ['a'], labels: ['ham'], confidences: [0.51] });
      const newer = await put({ format: 'refinery.weak-labels.v1', kind: 'classification', recordIds: ['a', 'b', 'c'], labels: ['spam', 'spam', 'ham'], confidences: [0.9, 0.6, 0.7] });
      // the reference of record a (spam) and of record d (ham), as the labeling projection writes them
      for (const [record, label] of [['a', 'spam'], ['d', 'ham']]) {
        await db.query(`insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, labeled_at) values ($1, $2, 't1', 'reference', 'single', $3, now())`, [P, record, label]);
        await db.query(`insert into rm_reference (project_id, task_id, record_id, basis, disagreement, annotators) values ($1, 't1', $2, 'single', false, 1)`, [P, record]);
      }
      const events = [
        recorded('WeakSupervisionConfigured', { projectId: P, taskId: 't1', heuristicIds: ['h1'], model: 'ds', autoRerun: true, minConfidence: 0.65 }),
        requested(R1),
        requested(R2),
        // the later request finishes first; the earlier one completing afterwards must not replace it
        completed(R2, newer, 3),
        completed(R1, older, 1),
        recorded('WeakSupervisionFailed', { projectId: P, taskId: 't1', runId: R2, error: { kind: 'internal', message: 'late duplicate' }, durationMs: 1 }),
        requested(R3),
        recorded('WeakSupervisionSuperseded', { projectId: P, taskId: 't1', runId: R3, by: R2 }),
        recorded('LabelRemoved', { projectId: P, taskId: 't1', labelId: 'ham' }),
      ];
      // replaying the same events twice must give the same read model
      for (let i = 0; i < 2; i++) await db.transaction((tx) => weakSupervisionProjection.apply(tx, events));
    });
    afterAll(() => backend.cleanup());

    it('keeps configuration, runs with their first outcome, and the latest requested completed run as current', async () => {
      expect(await getWsConfig(db, P, 't1')).toMatchObject({ heuristicIds: ['h1'], model: 'ds', autoRerun: true, minConfidence: 0.65, updatedBy: 'u1' });
      expect(await getWsConfig(db, P, 'other')).toMatchObject({ heuristicIds: [], model: 'ours', updatedAt: null });
      expect(await wsMinConfidences(db, P)).toEqual(new Map([['t1', 0.65]]));
      const runs = await listWsRuns(db, P, 't1');
      expect(runs.map((r) => [r.runId, r.status, r.current])).toEqual([
        [R3, 'superseded', false],
        [R2, 'completed', true],
        [R1, 'completed', false],
      ]);
      expect((await getWsRun(db, P, R2))!.error).toBeNull();
      expect((await getWsRun(db, P, R3))!.supersededBy).toBe(R2);
    });

    it('writes the current run’s weak labels once, with confidences; a removed label leaves', async () => {
      const rows = await db.query<{ record_id: string; label_id: string; confidence: number; annotator: string }>(
        `select record_id, label_id, confidence, annotator from rm_record_labels where source = 'weak_supervision' order by record_id`,
      );
      expect(rows.rows.map((r) => [r.record_id, r.label_id, Number(r.confidence), r.annotator])).toEqual([
        ['a', 'spam', 0.9, R2],
        ['b', 'spam', 0.6, R2],
      ]);
      expect(await getRecordWeakLabels(db, P, 'b')).toEqual([{ taskId: 't1', runId: R2, labelId: 'spam', confidence: 0.6, span: null }]);
    });

    it('compares weak labels with the reference labels', async () => {
      const cm = await getWsConfusion(db, P, { id: 't1', kind: 'single_label', labelIds: ['ham', 'spam'] });
      expect(cm).toMatchObject({ compared: 2, withWeakLabel: 1, accuracy: 0.5 });
      // reference ham (d) has no weak label; reference spam (a) is weak spam
      expect(cm.matrix).toEqual([
        [0, 0, 1],
        [0, 1, 0],
      ]);
      expect(cm.perLabel).toEqual([
        { labelId: 'ham', tp: 0, fp: 0, fn: 1, precision: null, recall: 0 },
        { labelId: 'spam', tp: 1, fp: 0, fn: 0, precision: 1, recall: 1 },
      ]);
    });

    it('a deleted task or project leaves nothing behind', async () => {
      await db.transaction((tx) => weakSupervisionProjection.apply(tx, [recorded('ProjectDeleted', { projectId: P })]));
      expect(await listWsRuns(db, P, 't1')).toEqual([]);
      expect((await db.query(`select 1 from rm_record_labels where source = 'weak_supervision'`)).rows).toEqual([]);
      expect((await getWsConfig(db, P, 't1')).updatedAt).toBeNull();
    });
  });
}
