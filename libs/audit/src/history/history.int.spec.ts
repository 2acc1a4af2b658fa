import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateEventStore, type SqlDatabase } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { identityProjection } from '@refinery/read-models';
import { replayInto } from '../as-of.ts';
import { historyProjection } from './projection.ts';
import { InvalidCursorError, readHistory, type HistoryEntry } from './queries.ts';
import { alice, bob, projectA, projectB, seedLog, type SeededLog } from '../testing/seed.ts';

for (const backend of testBackends()) {
  describe(`history read model on ${backend.name}`, () => {
    let db: SqlDatabase;
    let log: SeededLog;

    beforeAll(async () => {
      db = await backend.open();
      log = await seedLog(db);
      await migrateEventStore(db);
      for (const p of [historyProjection, identityProjection]) await p.setup(db);
      const head = await log.store.head();
      // replaying the same events twice must give the same read model
      for (let i = 0; i < 2; i++) await replayInto(db, { db, artifacts: log.artifacts }, undefined, head, [historyProjection, identityProjection]);
    });
    afterAll(async () => {
      await log.store.close();
      await backend.cleanup();
    });

    it("a record's timeline: who changed its labels, when, from what to what", async () => {
      const page = await readHistory(db, projectA, { recordId: 'r1', limit: 50 });
      expect(page.nextCursor).toBeNull();
      expect(page.items.map((i) => [i.type, i.actorName, i.before, i.after])).toEqual([
        ['RecordLabeled', 'Bob', { labelIds: ['pos'], spans: [] }, { labelIds: ['neg'], spans: [] }],
        ['RecordLabeled', 'Bob', null, { labelIds: ['pos'], spans: [] }],
      ]);
      expect(page.items[0]!.summary).toBe('labeled r1 in task t1 as neg (was pos)');
      expect(page.items[0]!.at).toBe(log.marks['changedLabel']!.time);
      expect(page.items[0]!.position).toBe(log.marks['changedLabel']!.position);
      // project B's r1 is another record
      const b = await readHistory(db, projectB, { recordId: 'r1', limit: 50 });
      expect(b.items.map((i) => i.after)).toEqual([{ labelIds: ['neg'], spans: [] }]);
    });

    it('answers of different annotators and gold labels are separate aspects', async () => {
      const page = await readHistory(db, projectA, { recordId: 'r2', limit: 50 });
      expect(page.items.map((i) => [i.type, i.actor, i.before])).toEqual([
        ['GoldLabelSet', alice, null],
        ['RecordLabeled', bob, null],
        ['RecordLabeled', alice, null],
      ]);
    });

    it('pages through the whole project newest first without gaps or repeats', async () => {
      const seen: HistoryEntry[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await readHistory(db, projectA, { limit: 4, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items);
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      const all = await db.query<{ n: number }>(`select count(*)::int as n from events where data->>'projectId' = $1`, [projectA]);
      expect(seen.length).toBe(all.rows[0]!.n);
      expect(new Set(seen.map((s) => s.eventId)).size).toBe(seen.length);
      // the last page says there is nothing older, so no empty page is ever needed
      expect(pages).toBe(Math.ceil(seen.length / 4));
      expect(seen[seen.length - 1]!.type).toBe('ProjectCreated');
      const times = seen.map((s) => s.at);
      expect([...times].sort().reverse()).toEqual(times);
      // a record batch is summarised, not copied
      const batch = seen.find((s) => s.type === 'RecordsImported')!;
      expect(batch.after).toMatchObject({ records: [{ id: 'r1' }, { id: 'r2' }, { id: 'r3' }] });
    });

    it("a user's timeline and the role changes of members", async () => {
      const bobs = await readHistory(db, projectA, { actor: bob, limit: 50 });
      expect(bobs.items.every((i) => i.actor === bob)).toBe(true);
      expect(bobs.items.map((i) => i.type)).toEqual(['RecordLabeled', 'RecordCommented', 'RecordLabeled', 'RecordLabeled', 'RecordLabeled']);
      const members = await readHistory(db, projectA, { types: ['MemberRoleChanged'], limit: 50 });
      expect(members.items).toHaveLength(1);
      expect(members.items[0]).toMatchObject({ before: { role: 'annotator' }, after: { role: 'expert' } });
      const heuristics = await readHistory(db, projectA, { types: ['HeuristicRunCompleted'], limit: 50 });
      expect(heuristics.items[0]!.after).toMatchObject({ heuristicId: 'h1', counts: { votes: 2 } });
    });

    it('the catch-up fold writes exactly the rows of the incremental path', async () => {
      const snapshot = async () => ({
        history: (await db.query(`select event_id::text, project_id::text, tx::text, seq::text, stream_id, type, actor, at::text, record_id, task_id, aspect, before, after, summary from audit_history order by tx, seq`)).rows,
        state: (await db.query('select project_id::text, aspect, value from audit_history_state order by 1, 2')).rows,
      });
      const incremental = await snapshot();
      expect(incremental.history.length).toBeGreaterThan(20);
      await historyProjection.reset(db);
      await replayInto(db, { db, artifacts: log.artifacts }, undefined, await log.store.head(), [historyProjection], { catchUp: true });
      expect(await snapshot()).toEqual(incremental);
    });

    it('refuses a cursor it did not hand out and limits out of range', async () => {
      await expect(readHistory(db, projectA, { cursor: 'abc', limit: 10 })).rejects.toBeInstanceOf(InvalidCursorError);
      await expect(readHistory(db, projectA, { limit: 0 })).rejects.toMatchObject({ code: 'invalid_limit' });
      await expect(readHistory(db, projectA, { limit: 501 })).rejects.toMatchObject({ code: 'invalid_limit' });
    });
  });
}
