import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Recorded, SqlDatabase } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { recordLabelsProjection } from './record-labels-projection.ts';
import { getRecordLabelsView } from './queries.ts';

const p1 = '0b7f3a0e-7f2d-4a55-9c55-4a8ad0b1f5a1';
const p2 = '9c1e2d3f-1111-4a55-8c55-4a8ad0b1f5a2';

let seq = 0;
function recorded(type: string, data: Record<string, unknown>, actor = 'owner'): Recorded {
  seq++;
  return { type, data, id: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`, streamId: 's', revision: 0n, position: `1/${seq}`, meta: { actor, at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), schema: 1 } };
}
const labeled = (projectId: string, recordId: string, taskId: string, annotator: string, labelIds: string[], spans: unknown[] = []) =>
  recorded('RecordLabeled', { projectId, recordId, taskId, annotator, labelIds, spans });
const span = (labelId: string, start: number, end: number, tokenStart: number, tokenEnd: number) => ({ labelId, start, end, tokenStart, tokenEnd });

/** Relabels, clears, gold set / replaced / cleared, spans, merges and removals, over two projects. */
const events: Recorded[] = [
  labeled(p1, 'r1', 't1', 'alice', ['pos']),
  labeled(p1, 'r1', 't1', 'bob', ['neg']),
  labeled(p1, 'r2', 't1', 'alice', ['pos']),
  labeled(p1, 'r2', 't1', 'bob', ['pos']),
  labeled(p1, 'r3', 't1', 'alice', ['neg']),
  labeled(p1, 'r3', 't1', 'alice', ['pos']), // relabel in the same batch: the last answer wins
  labeled(p1, 'r4', 't1', 'carol', ['neg']),
  labeled(p1, 'r4', 't1', 'carol', []), // cleared
  labeled(p2, 'r1', 't1', 'alice', ['x']), // same record and task ids in another project
  recorded('GoldLabelSet', { projectId: p1, recordId: 'r1', taskId: 't1', labelIds: ['neg'], spans: [] }, 'expert'),
  recorded('GoldLabelSet', { projectId: p1, recordId: 'r2', taskId: 't1', labelIds: ['neg'], spans: [] }, 'expert'),
  recorded('GoldLabelSet', { projectId: p1, recordId: 'r2', taskId: 't1', labelIds: ['pos'], spans: [] }, 'owner'), // replaced by someone else
  recorded('GoldLabelSet', { projectId: p1, recordId: 'r3', taskId: 't1', labelIds: ['neg'], spans: [] }, 'expert'),
  recorded('GoldLabelCleared', { projectId: p1, recordId: 'r3', taskId: 't1' }, 'owner'),
  labeled(p1, 'r1', 'spans', 'alice', [], [span('per', 0, 4, 0, 1), span('loc', 6, 10, 2, 3)]),
  labeled(p1, 'r1', 'spans', 'bob', [], [span('per', 0, 4, 0, 1), span('loc', 6, 10, 2, 3)]),
  labeled(p1, 'r1', 'multi', 'alice', ['a', 'b']),
  labeled(p1, 'r1', 'multi', 'bob', ['b', 'c']),
  recorded('RecordCommented', { projectId: p1, recordId: 'r1', commentId: 'c0000000-0000-4000-8000-000000000001', body: 'first' }, 'alice'),
  recorded('RecordCommented', { projectId: p1, recordId: 'r1', commentId: 'c0000000-0000-4000-8000-000000000002', body: 'second' }, 'bob'),
  recorded('RecordCommentDeleted', { projectId: p1, recordId: 'r1', commentId: 'c0000000-0000-4000-8000-000000000001' }, 'alice'),
  recorded('LabelsMerged', { projectId: p1, taskId: 'multi', sourceLabelIds: ['c'], targetLabelId: 'a' }), // bob: b, a — still not alice's a, b? same set
  labeled(p1, 'r5', 't1', 'alice', ['neg']), // after a merge, before a removal: a new run
  recorded('LabelRemoved', { projectId: p1, taskId: 't1', labelId: 'neg' }),
  labeled(p1, 'r6', 't1', 'alice', ['pos']),
  recorded('LabelingTaskRemoved', { projectId: p2, taskId: 't1' }),
  labeled(p2, 'r2', 't1', 'dave', ['y']),
  recorded('CrowdRecordLabeled', { projectId: p1, recordId: 'r2', taskId: 't1', pseudonym: 'crowd-1', labelIds: ['pos'], spans: [] }),
];

async function snapshot(db: SqlDatabase) {
  const labels = await db.query(
    `select project_id::text, record_id, task_id, source, annotator, label_id, span_start, span_end, token_start, token_end, labeled_at::text, confidence
     from rm_record_labels order by 1, 2, 3, 4, 5, 6, 7, 8`,
  );
  const reference = await db.query('select project_id::text, task_id, record_id, basis, disagreement, annotators from rm_reference order by 1, 2, 3');
  const comments = await db.query('select project_id::text, record_id, id::text, author, body, created_at::text from rm_comments order by 1, 2, 3');
  return { labels: labels.rows, reference: reference.rows, comments: comments.rows };
}

for (const backend of testBackends()) {
  describe(`record_labels projection on ${backend.name}`, () => {
    let db: SqlDatabase;
    beforeAll(async () => {
      db = await backend.open();
      // the projection shares its table with sources of other projections: create what setup expects
      await recordLabelsProjection.setup(db);
    });
    afterAll(() => backend.cleanup());

    it('one batch of many label events gives the same read model as one event per transaction', async () => {
      await db.transaction((tx) => recordLabelsProjection.apply(tx, events));
      const batched = await snapshot(db);
      await recordLabelsProjection.reset(db);
      for (const e of events) await db.transaction((tx) => recordLabelsProjection.apply(tx, [e]));
      const single = await snapshot(db);
      expect(batched).toEqual(single);
      // and replaying the whole log again changes nothing (idempotent on the final state)
      await db.transaction((tx) => recordLabelsProjection.apply(tx, events));
      expect(await snapshot(db)).toEqual(single);
    });

    it('the catch-up fold leaves exactly the rows the incremental path leaves, including other sources touched by merges and removals', async () => {
      // rows of other projections (heuristics) that merges, removals and deletions also change
      const foreign = async () => {
        await db.exec(`delete from rm_record_labels where source = 'heuristic'`);
        await db.query(
          `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, labeled_at)
           select p::uuid, r, t, 'heuristic', 'h1', l, '2026-01-01T00:00:00Z' from (values ($1, 'r1', 'multi', 'c'), ($1, 'r1', 'multi', 'a'), ($1, 'r9', 't1', 'neg'), ($1, 'r9', 't1', 'pos'), ($2, 'r1', 't1', 'x')) v(p, r, t, l)`,
          [p1, p2],
        );
      };
      await recordLabelsProjection.reset(db);
      await foreign();
      for (let i = 0; i < events.length; i += 4) await db.transaction((tx) => recordLabelsProjection.apply(tx, events.slice(i, i + 4)));
      const incremental = await snapshot(db);
      expect(incremental.labels.filter((l) => l['source'] === 'heuristic').map((l) => `${l['record_id']}:${l['label_id']}`)).toEqual(['r1:a', 'r9:pos']);

      await recordLabelsProjection.reset(db);
      await foreign();
      const fold = recordLabelsProjection.catchUp!();
      for (let i = 0; i < events.length; i += 5) fold.add(events.slice(i, i + 5));
      await db.transaction((tx) => fold.finish(tx));
      expect(await snapshot(db)).toEqual(incremental);
      await db.exec(`delete from rm_record_labels where source = 'heuristic'`);
    });

    it('derives the reference from the last answers: gold first, then single or unanimous answers; disagreement is flagged', async () => {
      const { reference, labels } = await snapshot(db);
      const ref = (projectId: string, taskId: string, recordId: string) => reference.find((r) => r['project_id'] === projectId && r['task_id'] === taskId && r['record_id'] === recordId);
      const refLabels = (projectId: string, taskId: string, recordId: string) =>
        labels.filter((l) => l['project_id'] === projectId && l['task_id'] === taskId && l['record_id'] === recordId && l['source'] === 'reference').map((l) => l['label_id']);
      // r1/t1: alice pos, bob neg, gold neg; then "neg" was removed with bob's answer and the gold decision
      expect(ref(p1, 't1', 'r1')).toMatchObject({ basis: 'single', disagreement: false, annotators: 1 });
      expect(refLabels(p1, 't1', 'r1')).toEqual(['pos']);
      // r5/t1: its only answer was "neg"
      expect(ref(p1, 't1', 'r5')).toBeUndefined();
      // r2/t1: both pos, gold replaced by pos
      expect(ref(p1, 't1', 'r2')).toMatchObject({ basis: 'gold', disagreement: false, annotators: 2 });
      expect(refLabels(p1, 't1', 'r2')).toEqual(['pos']);
      // r3/t1: alice relabeled to pos, gold cleared: a single answer
      expect(ref(p1, 't1', 'r3')).toMatchObject({ basis: 'single', annotators: 1 });
      expect(refLabels(p1, 't1', 'r3')).toEqual(['pos']);
      // r4/t1: the only answer was cleared: no reference row
      expect(ref(p1, 't1', 'r4')).toBeUndefined();
      // spans: the same two spans from two annotators are unanimous
      expect(ref(p1, 'spans', 'r1')).toMatchObject({ basis: 'unanimous', disagreement: false, annotators: 2 });
      // multi: alice a,b and bob b,c → merged c into a: bob b,a = alice's set → unanimous
      expect(ref(p1, 'multi', 'r1')).toMatchObject({ basis: 'unanimous', disagreement: false, annotators: 2 });
      expect(refLabels(p1, 'multi', 'r1').sort()).toEqual(['a', 'b']);
      // the other project: its task was removed, then a new answer came in
      expect(ref(p2, 't1', 'r1')).toBeUndefined();
      expect(ref(p2, 't1', 'r2')).toMatchObject({ basis: 'single', annotators: 1 });
    });

    it('reads a record in one round trip, and hides others under blind labeling from those who do not see everyone', async () => {
      await db.exec(`create table if not exists rm_labeling_settings (project_id uuid primary key, blind_labeling boolean not null)`);
      const open = await getRecordLabelsView(db, p1, 'r1', { viewer: 'alice', seesEveryone: false });
      expect(open.answers.filter((a) => a.taskId === 't1').map((a) => `${a.source}:${a.annotator}:${a.labelIds.join(',')}`)).toEqual(['manual:alice:pos', 'reference:single:pos']);
      expect(open.answers.find((a) => a.taskId === 'spans' && a.annotator === 'alice')!.spans).toEqual([span('per', 0, 4, 0, 1), span('loc', 6, 10, 2, 3)]);
      expect(open.comments.map((c) => [c.author, c.body])).toEqual([['bob', 'second']]);
      expect(open.reference.map((r) => r.taskId)).toEqual(['multi', 'spans', 't1']);
      await db.query('insert into rm_labeling_settings (project_id, blind_labeling) values ($1, true)', [p1]);
      const blind = await getRecordLabelsView(db, p1, 'r1', { viewer: 'alice', seesEveryone: false });
      expect(blind.answers.every((a) => a.source === 'manual' && a.annotator === 'alice')).toBe(true);
      expect(blind.reference).toEqual([]);
      const expert = await getRecordLabelsView(db, p1, 'r1', { viewer: 'expert', seesEveryone: true });
      expect(expert.answers.length).toBe(open.answers.length);
    });
  });
}
