import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresEventStore, type Recorded, type SqlDatabase, type SqlExecutor } from '@refinery/events';
import { contractCatalog, testBackends } from '@refinery/events/testing';
import { ProjectionRunner } from './runner.ts';
import { CatchUpWaiter } from './wait.ts';
import { CATCH_UP_PAGE } from './catch-up-pages.ts';
import type { Projection } from './projection.ts';
import { BulkRows, dropIndexes } from './bulk.ts';

/** Records every event it applies (duplicates included) and can be told to fail mid-batch. */
function countingProjection(name: string, opts: { version?: number; failTimes?: number; failAfterRows?: number } = {}) {
  let failuresLeft = opts.failTimes ?? 0;
  const table = `t_${name.replace(/\W/g, '_')}`;
  const projection: Projection & { failures: number } = {
    name,
    version: opts.version ?? 1,
    handles: ['ContractTicked'],
    batchSize: 50,
    failures: 0,
    async setup(sql: SqlExecutor) {
      await sql.exec(`create table if not exists ${table} (event_id uuid not null, stream_id text not null, n integer not null)`);
    },
    async reset(sql: SqlExecutor) {
      await sql.exec(`delete from ${table}`);
    },
    async apply(tx: SqlExecutor, events: readonly Recorded[]) {
      let rows = 0;
      for (const e of events) {
        await tx.query(`insert into ${table} (event_id, stream_id, n) values ($1, $2, $3)`, [e.id, e.streamId, (e.data as { n: number }).n]);
        rows++;
        // a crash between rows of a batch: the rows written so far must roll back with it
        if (failuresLeft > 0 && rows === (opts.failAfterRows ?? 3)) {
          failuresLeft--;
          projection.failures++;
          throw new Error('simulated crash mid-batch');
        }
      }
    },
  };
  return { projection, table };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const backend of testBackends()) {
  describe(`projector on ${backend.name}`, () => {
    let db: SqlDatabase;
    let store: PostgresEventStore;
    beforeAll(async () => {
      db = await backend.open();
      store = await PostgresEventStore.open(db, { catalog: contractCatalog });
    });
    afterAll(async () => {
      await store.close();
      await backend.cleanup();
    });

    async function appendTicks(count: number): Promise<{ stream: string; last: string }> {
      const stream = `p:${randomUUID()}`;
      let last = '';
      for (let i = 0; i < count; i += 25) {
        const events = Array.from({ length: Math.min(25, count - i) }, (_, k) => ({ type: 'ContractTicked', data: { n: i + k } }));
        last = (await store.append(stream, events, { actor: 't' })).position;
      }
      return { stream, last };
    }

    async function counts(table: string, stream: string) {
      const r = await db.query<{ total: string; distinct_ids: string }>(
        `select count(*)::text as total, count(distinct event_id)::text as distinct_ids from ${table} where stream_id = $1`,
        [stream],
      );
      return { total: Number(r.rows[0]!.total), distinct: Number(r.rows[0]!.distinct_ids) };
    }

    it('a batch that throws between rows is retried: no event lost or applied twice', async () => {
      const { projection, table } = countingProjection('crashy', { failTimes: 3 });
      const runner = new ProjectionRunner(db, store, [projection], { retryDelayMs: 10, pollIntervalMs: 20, log: () => undefined });
      await runner.start();
      const { stream, last } = await appendTicks(400);
      const waiter = new CatchUpWaiter(db, (l) => runner.onAdvanced(l));
      const result = await waiter.waitFor(last, ['crashy'], 30_000);
      await runner.stop();
      expect(result.caughtUp).toBe(true);
      expect(projection.failures).toBe(3);
      expect(await counts(table, stream)).toEqual({ total: 400, distinct: 400 });
    });

    it('a second instance takes over a crashed one and continues from its checkpoint, exactly once', async () => {
      const a = countingProjection('takeover', { failTimes: 1_000_000, failAfterRows: 10 });
      const { stream, last } = await appendTicks(300);
      // Instance A gets the lease, then "dies" (keeps failing mid-batch and never renews its checkpoint).
      const runnerA = new ProjectionRunner(db, store, [a.projection], { leaseMs: 600, retryDelayMs: 5_000, log: () => undefined });
      await runnerA.start();
      await waitUntil(async () => a.projection.failures > 0);
      const b = countingProjection('takeover');
      const runnerB = new ProjectionRunner(db, store, [b.projection], { leaseMs: 600, pollIntervalMs: 20, log: () => undefined });
      await runnerB.start();
      const status = await runnerB.status();
      expect(status[0]!.ownedHere).toBe(false); // A still holds a live lease at first
      const started = Date.now();
      const result = await new CatchUpWaiter(db).waitFor(last, ['takeover'], 20_000);
      expect(result.caughtUp).toBe(true);
      expect(Date.now() - started).toBeLessThan(10_000);
      await runnerA.stop();
      await runnerB.stop();
      expect(await counts(a.table, stream)).toEqual({ total: 300, distinct: 300 });
    });

    it('a projection with coalesceMs gathers events appended meanwhile into one batch; one without applies them as they come', async () => {
      const batches = new Map<string, number[]>();
      const sizes = (name: string, coalesceMs?: number): Projection => ({
        name,
        version: 1,
        handles: ['ContractTicked'],
        ...(coalesceMs ? { coalesceMs } : {}),
        async setup() {},
        async reset() {},
        async apply(_tx, events) {
          batches.set(name, [...(batches.get(name) ?? []), events.length]);
        },
      });
      const runner = new ProjectionRunner(db, store, [sizes('gathered', 400), sizes('eager')], { pollIntervalMs: 20, log: () => undefined });
      await runner.start();
      const waiter = new CatchUpWaiter(db, (l) => runner.onAdvanced(l), 20, () => runner.localCheckpoints());
      const stream = `c:${randomUUID()}`;
      const first = await store.append(stream, [{ type: 'ContractTicked', data: { n: 0 } }], { actor: 't' });
      expect((await waiter.waitFor(first.position, ['gathered', 'eager'], 10_000)).caughtUp).toBe(true);
      const before = { gathered: batches.get('gathered')!.length, eager: batches.get('eager')!.length };
      let last = first.position;
      for (let i = 1; i <= 6; i++) {
        last = (await store.append(stream, [{ type: 'ContractTicked', data: { n: i } }], { actor: 't' })).position;
        await new Promise((r) => setTimeout(r, 30));
      }
      expect((await waiter.waitFor(last, ['gathered', 'eager'], 10_000)).caughtUp).toBe(true);
      await runner.stop();
      const gathered = batches.get('gathered')!.slice(before.gathered);
      const eager = batches.get('eager')!.slice(before.eager);
      expect(gathered.reduce((a, b) => a + b, 0)).toBe(6);
      expect(eager.reduce((a, b) => a + b, 0)).toBe(6);
      // six appends 30 ms apart inside one 400-ms interval: gathered in one or two batches
      expect(gathered.length).toBeLessThanOrEqual(2);
      expect(eager.length).toBeGreaterThan(gathered.length);
    });

    it('rebuild replays the log into an identical read model (idempotent)', async () => {
      const { projection, table } = countingProjection('rebuildable');
      const runner = new ProjectionRunner(db, store, [projection], { pollIntervalMs: 20, log: () => undefined });
      await runner.start();
      const { stream, last } = await appendTicks(120);
      const waiter = new CatchUpWaiter(db, (l) => runner.onAdvanced(l));
      await waiter.waitFor(last, ['rebuildable'], 20_000);
      const before = await db.query(`select event_id, n from ${table} order by event_id`);
      await runner.rebuild('rebuildable');
      await waiter.waitFor(last, ['rebuildable'], 20_000);
      const after = await db.query(`select event_id, n from ${table} order by event_id`);
      await runner.stop();
      expect(after.rows).toEqual(before.rows);
      expect(await counts(table, stream)).toEqual({ total: 120, distinct: 120 });
    });

    it('a projection whose version changed rebuilds itself on start', async () => {
      const v1 = countingProjection('versioned', { version: 1 });
      const r1 = new ProjectionRunner(db, store, [v1.projection], { pollIntervalMs: 20, log: () => undefined });
      await r1.start();
      const { stream, last } = await appendTicks(60);
      await new CatchUpWaiter(db).waitFor(last, ['versioned'], 20_000);
      await r1.stop();
      // Simulate rows left behind by v1 that v2 would not write: a rebuild must remove them.
      await db.query(`insert into ${v1.table} (event_id, stream_id, n) values ($1, $2, -1)`, [randomUUID(), stream]);
      const v2 = countingProjection('versioned', { version: 2 });
      const logs: string[] = [];
      const r2 = new ProjectionRunner(db, store, [v2.projection], { pollIntervalMs: 20, log: (m) => logs.push(m) });
      await r2.start();
      await waitUntil(async () => (await counts(v1.table, stream)).total === 60);
      await new CatchUpWaiter(db).waitFor(last, ['versioned'], 20_000);
      await r2.stop();
      expect(logs.some((m) => m.includes('rebuilding'))).toBe(true);
      expect(await counts(v1.table, stream)).toEqual({ total: 60, distinct: 60 });
      const status = await r2.status();
      expect(status[0]!.version).toBe(2);
    });

    it('a projection that only sees other event types moves its checkpoint: at once in memory, in the table within seconds', async () => {
      const { projection } = countingProjection('uninterested');
      const other = { ...projection, handles: ['ContractNoted'] };
      const runner = new ProjectionRunner(db, store, [other], { pollIntervalMs: 20, log: () => undefined });
      await runner.start();
      const { last } = await appendTicks(30);
      const inProcess = new CatchUpWaiter(db, (l) => runner.onAdvanced(l), 50, () => runner.localCheckpoints());
      const t0 = Date.now();
      expect((await inProcess.waitFor(last, ['uninterested'], 5_000)).caughtUp).toBe(true);
      const fromTable = await new CatchUpWaiter(db).waitFor(last, ['uninterested'], 5_000);
      await runner.stop();
      expect(fromTable.caughtUp).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5_000);
    });

    it('with a short lease (renewed every second) a checkpoint-only advance still reaches the table', async () => {
      const { projection } = countingProjection('short-lease');
      const other = { ...projection, handles: ['ContractNoted'] };
      const runner = new ProjectionRunner(db, store, [other], { pollIntervalMs: 20, leaseMs: 1500, log: () => undefined });
      await runner.start();
      const { last } = await appendTicks(5);
      const fromTable = await new CatchUpWaiter(db).waitFor(last, ['short-lease'], 5_000);
      await runner.stop();
      expect(fromTable.caughtUp).toBe(true);
    });

    it('from an empty read model, projections with a catch-up fold the log in memory (read once for both), then go on event by event', async () => {
      const folding = (name: string) => {
        const { projection, table } = countingProjection(name);
        const stats = { folded: 0, finished: 0, applied: 0 };
        const p: Projection = {
          ...projection,
          async apply(tx, events) {
            stats.applied += events.length;
            await projection.apply(tx, events);
          },
          catchUp() {
            const seen: Recorded[] = [];
            return {
              add(events) {
                stats.folded += events.length;
                seen.push(...events);
              },
              async finish(tx) {
                stats.finished++;
                await tx.query(`insert into ${table} (event_id, stream_id, n) select * from jsonb_to_recordset($1::jsonb) as r(event_id uuid, stream_id text, n integer)`, [
                  JSON.stringify(seen.map((e) => ({ event_id: e.id, stream_id: e.streamId, n: (e.data as { n: number }).n }))),
                ]);
              },
            };
          },
        };
        return { p, table, stats };
      };
      const { stream, last } = await appendTicks(6000);
      const a = folding('fold-a');
      const b = folding('fold-b');
      let reads = 0;
      const counting = Object.assign(Object.create(store) as PostgresEventStore, {
        readAll: (after: string, options?: { limit?: number; types?: readonly string[] }) => {
          if (options?.types === undefined && options?.limit === CATCH_UP_PAGE) reads++;
          return store.readAll(after, options);
        },
      });
      const runner = new ProjectionRunner(db, counting, [a.p, b.p], { pollIntervalMs: 20, log: () => undefined });
      await runner.start();
      const waiter = new CatchUpWaiter(db, (l) => runner.onAdvanced(l));
      expect((await waiter.waitFor(last, ['fold-a', 'fold-b'], 30_000)).caughtUp).toBe(true);
      const more = await appendTicks(30);
      expect((await waiter.waitFor(more.last, ['fold-a', 'fold-b'], 30_000)).caughtUp).toBe(true);
      await runner.stop();
      for (const { stats, table } of [a, b]) {
        expect(stats.finished).toBe(1);
        expect(stats.folded).toBeGreaterThanOrEqual(6000);
        expect(stats.applied).toBeGreaterThanOrEqual(30);
        expect(await counts(table, stream)).toEqual({ total: 6000, distinct: 6000 });
        expect(await counts(table, more.stream)).toEqual({ total: 30, distinct: 30 });
      }
      // every tick so far is more than one page of the catch-up: shared pages mean fewer reads than two readers alone
      const total = Number((await db.query<{ n: string }>('select count(*)::text as n from events')).rows[0]!.n);
      expect(reads).toBeGreaterThan(0);
      expect(reads).toBeLessThan(2 * Math.ceil(total / CATCH_UP_PAGE));
      // the same log page by page gives the same rows
      const c = folding('fold-c');
      const paged = new ProjectionRunner(db, store, [c.p], { pollIntervalMs: 20, catchUp: false, log: () => undefined });
      await paged.start();
      expect((await new CatchUpWaiter(db, (l) => paged.onAdvanced(l)).waitFor(more.last, ['fold-c'], 30_000)).caughtUp).toBe(true);
      await paged.stop();
      expect(c.stats.folded).toBe(0);
      // a catch-up that reaches its limit writes what it folded; the rest goes page by page
      const d = folding('fold-d');
      const limited = new ProjectionRunner(db, store, [d.p], { pollIntervalMs: 20, catchUpMaxEvents: 2000, log: () => undefined });
      await limited.start();
      expect((await new CatchUpWaiter(db, (l) => limited.onAdvanced(l)).waitFor(more.last, ['fold-d'], 30_000)).caughtUp).toBe(true);
      await limited.stop();
      expect(d.stats.finished).toBe(1);
      expect(d.stats.folded).toBeGreaterThanOrEqual(2000);
      expect(d.stats.folded).toBeLessThan(total);
      expect(d.stats.applied).toBe(total - d.stats.folded);
      const rows = async (table: string) => (await db.query(`select event_id::text, stream_id, n from ${table} order by event_id`)).rows;
      expect(await rows(a.table)).toEqual(await rows(c.table));
      expect(await rows(b.table)).toEqual(await rows(c.table));
      expect(await rows(d.table)).toEqual(await rows(c.table));
    });

    it('a catch-up that writes while it reads (begin, on a server) commits the rows with its checkpoint; a failure before the commit leaves none and is retried', async () => {
      const { last } = await appendTicks(2600);
      const streaming = (name: string) => {
        const { projection, table } = countingProjection(name);
        const stats = { begun: 0, finished: 0, failures: 0 };
        const p: Projection = {
          ...projection,
          catchUp() {
            const rows = new BulkRows(table, [['event_id', 'uuid'], ['stream_id', 'text'], ['n', 'integer']], 500);
            let rebuild: (() => Promise<void>) | undefined;
            return {
              async begin(tx) {
                stats.begun++;
                rebuild = await dropIndexes(tx, table);
                rows.stream(tx);
              },
              add(events) {
                for (const e of events) rows.push([e.id, e.streamId, (e.data as { n: number }).n]);
              },
              async finish(tx) {
                if (stats.failures === 0) {
                  stats.failures++;
                  // the streamed chunks are in the transaction, which rolls back
                  throw new Error('simulated failure after streaming');
                }
                stats.finished++;
                await rows.insert(tx);
                await rebuild?.();
              },
            };
          },
        };
        return { p, table, stats };
      };
      const s = streaming('stream-a');
      await db.exec(`create table if not exists ${s.table} (event_id uuid not null, stream_id text not null, n integer not null); create index if not exists ${s.table}_n on ${s.table} (n)`);
      const runner = new ProjectionRunner(db, store, [s.p], { pollIntervalMs: 20, retryDelayMs: 50, log: () => undefined });
      await runner.start();
      expect((await new CatchUpWaiter(db, (l) => runner.onAdvanced(l)).waitFor(last, ['stream-a'], 30_000)).caughtUp).toBe(true);
      await runner.stop();
      expect(s.stats.failures).toBe(1);
      expect(s.stats.finished).toBe(1);
      // only the server streams; PGlite writes everything in finish
      if (db.dialect === 'pg') expect(s.stats.begun).toBe(2);
      else expect(s.stats.begun).toBe(0);
      expect((await db.query(`select 1 from pg_indexes where tablename = '${s.table}'`)).rows).toHaveLength(1);
      const paged = countingProjection('stream-paged');
      const pagedRunner = new ProjectionRunner(db, store, [paged.projection], { pollIntervalMs: 20, catchUp: false, log: () => undefined });
      await pagedRunner.start();
      expect((await new CatchUpWaiter(db, (l) => pagedRunner.onAdvanced(l)).waitFor(last, ['stream-paged'], 30_000)).caughtUp).toBe(true);
      await pagedRunner.stop();
      const rows = async (table: string) => (await db.query(`select event_id::text, stream_id, n from ${table} order by event_id`)).rows;
      const streamed = await rows(s.table);
      expect(streamed.length).toBeGreaterThanOrEqual(2600);
      // (rows of the failed attempt that escaped its transaction would show up twice here)
      expect(streamed).toEqual(await rows(paged.table));
    });

    it('waitFor times out honestly when the position is not reached', async () => {
      const result = await new CatchUpWaiter(db).waitFor('999999999/1', ['versioned'], 150);
      expect(result.caughtUp).toBe(false);
    });
  });
}
