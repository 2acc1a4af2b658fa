import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDatabase } from '@refinery/events';
import { testBackends } from '@refinery/events/testing';
import { BulkRows, dropIndexes, insertRows, withIndexesDeferred, type BulkColumn } from './bulk.ts';

const COLUMNS: BulkColumn[] = [
  ['id', 'integer'],
  ['name', 'text'],
  ['doc', 'jsonb'],
  ['flag', 'boolean'],
  ['at', 'timestamptz'],
];

/** values COPY's text format must escape or pass through untouched */
const AWKWARD = ['tab\there', 'line\nbreak', 'carriage\rreturn', 'back\\slash', '\\N', '', 'ünïcödé 😀 日本', 'quote " and \' and {a,b}', '\\.', 'end\\'];

for (const backend of testBackends()) {
  describe(`bulk rows (COPY) on ${backend.name}`, () => {
    let db: SqlDatabase;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(() => backend.cleanup());

    const table = async (name: string) => {
      await db.exec(`create table ${name} (id integer primary key, name text, doc jsonb, flag boolean, at timestamptz);
                     create index ${name}_name on ${name} (name, id);`);
    };
    const rowsOf = async (name: string) =>
      (await db.query<{ id: number; name: string | null; doc: unknown; flag: boolean | null; at: string | null }>(`select id, name, doc, flag, at::text as at from ${name} order by id`)).rows;

    it('round-trips text with tabs, newlines, backslashes, unicode, null and JSON holding them', async () => {
      await table('b_awkward');
      const rows = AWKWARD.map((s, i) => [i, s, JSON.stringify({ s, list: [s, null] }), i % 2 === 0, i === 0 ? null : '2026-11-27T10:00:00.000Z']);
      rows.push([AWKWARD.length, null, null, null, null]);
      await db.transaction((tx) => insertRows(tx, 'b_awkward', COLUMNS, rows));
      const back = await rowsOf('b_awkward');
      expect(back.map((r) => r.name)).toEqual([...AWKWARD, null]);
      expect(back.map((r) => r.doc)).toEqual([...AWKWARD.map((s) => ({ s, list: [s, null] })), null]);
      expect(back.map((r) => r.flag)).toEqual([...AWKWARD.map((_, i) => i % 2 === 0), null]);
      expect(back[0]!.at).toBeNull();
      expect(new Date(back[1]!.at!).toISOString()).toBe('2026-11-27T10:00:00.000Z');
    });

    it('streams full chunks through an open transaction, writes the rest on insert, and rebuilds the dropped indexes', async () => {
      await table('b_stream');
      const indexes = async () => (await db.query<{ d: string }>(`select indexdef as d from pg_indexes where tablename = 'b_stream' order by 1`)).rows.map((r) => r.d);
      const before = await indexes();
      expect(before).toHaveLength(2);
      await db.transaction(async (tx) => {
        const rebuild = await dropIndexes(tx, 'b_stream');
        expect(await tx.query(`select 1 from pg_indexes where tablename = 'b_stream'`).then((r) => r.rows.length)).toBe(0);
        const bulk = new BulkRows('b_stream', COLUMNS, 3);
        bulk.stream(tx);
        for (let i = 0; i < 10; i++) bulk.push([i, `row ${i}\t${AWKWARD[i]}`, null, null, null]);
        expect(bulk.length).toBe(10);
        await bulk.insert(tx);
        expect(bulk.length).toBe(0);
        await rebuild();
      });
      expect(await indexes()).toEqual(before);
      expect((await rowsOf('b_stream')).map((r) => r.name)).toEqual(AWKWARD.map((s, i) => `row ${i}\t${s}`));
    });

    it('a chunk that fails while streaming surfaces in insert, and the transaction writes nothing', async () => {
      await table('b_fail');
      const attempt = db.transaction(async (tx) => {
        const bulk = new BulkRows('b_fail', COLUMNS, 2);
        bulk.stream(tx);
        bulk.push([1, 'a', null, null, null]);
        bulk.push([1, 'duplicate key', null, null, null]); // seals the chunk: the primary key refuses it
        bulk.push([2, 'b', null, null, null]);
        await bulk.insert(tx);
      });
      await expect(attempt).rejects.toThrow(/duplicate key/);
      expect(await rowsOf('b_fail')).toEqual([]);
    });

    it('withIndexesDeferred keeps the indexes and rows of a large load', async () => {
      await table('b_large');
      const bulk = new BulkRows('b_large', COLUMNS);
      for (let i = 0; i < 25_000; i++) bulk.push([i, `n${i % 100}`, i % 1000 === 0 ? '{"k":1}' : null, true, null]);
      await db.transaction((tx) => withIndexesDeferred(tx, 'b_large', bulk.length, () => bulk.insert(tx)));
      const r = await db.query<{ n: number; docs: number }>(`select count(*)::int as n, count(doc)::int as docs from b_large`);
      expect(r.rows[0]).toEqual({ n: 25_000, docs: 25 });
      expect((await db.query(`select 1 from pg_indexes where tablename = 'b_large'`)).rows).toHaveLength(2);
    });
  });
}
