import { describe, expect, it } from 'vitest';
import type { SqlExecutor } from '@refinery/events';
import { CatchUpWaiter } from './wait.ts';

/** A checkpoint table that counts how often it is asked. */
function table(rows: Record<string, string>) {
  const db = {
    queries: 0,
    dialect: 'pg' as const,
    async query<R>() {
      db.queries++;
      return { rows: Object.entries(rows).map(([name, checkpoint]) => ({ name, checkpoint })) as R[], rowCount: 0 };
    },
    async exec() {},
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>) {
      return work(db as unknown as SqlExecutor);
    },
  };
  return db;
}

describe('CatchUpWaiter', () => {
  it("counts the in-process runner's checkpoints, which may be ahead of the table", async () => {
    const db = table({ a: '1/1', b: '1/1' });
    const waiter = new CatchUpWaiter(db as unknown as SqlExecutor, undefined, 10, () => new Map([['a', '5/3'], ['b', '5/4']]));
    const r = await waiter.waitFor('5/3', ['a', 'b'], 1000);
    expect(r).toEqual({ caughtUp: true, checkpoints: { a: '5/3', b: '5/4' } });
    // No query: the local runner commits before it moves its checkpoint. (Negative lookups that
    // must see every commit wait for `newestCommitted()`, not `head()`, which leaves out commits
    // behind an older open transaction: that race, not this shortcut, caused the 403s once seen.)
    expect(db.queries).toBe(0);
  });

  it('while the local runner keeps moving, waits on it instead of polling the table', async () => {
    const db = table({ a: '1/1' });
    let seq = 1;
    const local = () => new Map([['a', `1/${seq}`]]);
    const timer = setInterval(() => seq++, 15); // the runner commits a batch every 15 ms
    try {
      const waiter = new CatchUpWaiter(db as unknown as SqlExecutor, undefined, 5, local);
      const r = await waiter.waitFor('1/12', ['a'], 2000);
      expect(r.caughtUp).toBe(true);
      // the first look only (≈ 165 ms of waiting at a 5-ms poll would otherwise be ~30 queries)
      expect(db.queries).toBeLessThanOrEqual(3);
    } finally {
      clearInterval(timer);
    }
  });

  it('asks the table when a local checkpoint is missing or behind (another process may own the projection)', async () => {
    const db = table({ a: '9/9', b: '9/9' });
    const waiter = new CatchUpWaiter(db as unknown as SqlExecutor, undefined, 10, () => new Map([['a', '5/3']]));
    const r = await waiter.waitFor('6/1', ['a', 'b'], 1000);
    expect(r.caughtUp).toBe(true);
    expect(r.checkpoints).toEqual({ a: '9/9', b: '9/9' });
    expect(db.queries).toBe(1);
  });

  it('times out as not caught up when neither reaches the position', async () => {
    const db = table({ a: '1/1' });
    const waiter = new CatchUpWaiter(db as unknown as SqlExecutor, undefined, 5, () => new Map([['a', '2/2']]));
    const r = await waiter.waitFor('3/1', ['a'], 30);
    expect(r.caughtUp).toBe(false);
    expect(r.checkpoints).toEqual({ a: '2/2' });
  });
});

describe('CatchUpWaiter wake-ups', () => {
  it('while the in-process runner holds every awaited projection, its wake-ups answer without the table', async () => {
    const db = table({ a: '1/1' });
    let listener: (() => void) | undefined;
    const local = new Map([['a', '1/1']]);
    const waiter = new CatchUpWaiter(db as unknown as SqlExecutor, (l) => ((listener = l), () => (listener = undefined)), 60_000, () => local);
    const waiting = waiter.waitFor('4/1', ['a'], 5_000);
    await new Promise((r) => setTimeout(r, 10));
    for (const checkpoint of ['2/1', '3/1', '4/1']) {
      local.set('a', checkpoint);
      listener?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await waiting).toEqual({ caughtUp: true, checkpoints: { a: '4/1' } });
    expect(db.queries).toBe(0);
  });
});
