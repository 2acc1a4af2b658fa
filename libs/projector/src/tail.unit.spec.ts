import { describe, expect, it } from 'vitest';
import { formatPosition, parsePosition, type ReadAllOptions, type ReadAllResult, type Recorded } from '@refinery/events';
import { LogTail } from './tail.ts';

/** An in-memory log with readAll semantics (events after a position, optional type filter). */
function fakeStore(log: Recorded[]) {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    async head() {
      return log.length ? log[log.length - 1]!.position : '0/0';
    },
    async readAll(after: string, options: ReadAllOptions = {}): Promise<ReadAllResult> {
      reads++;
      const from = parsePosition(after).seq;
      const limit = options.limit ?? 1000;
      const rest = log.filter((e) => parsePosition(e.position).seq > from && (!options.types || options.types.includes(e.type)));
      const events = rest.slice(0, limit);
      const head = log.length ? log[log.length - 1]!.position : after;
      return { events, checkpoint: events.length === limit ? events[events.length - 1]!.position : parsePosition(head).seq > from ? head : after };
    },
  };
}
const event = (seq: number, type: string, data: unknown = {}): Recorded =>
  ({ id: `e${seq}`, streamId: 's', revision: BigInt(seq), position: formatPosition({ tx: 1n, seq: BigInt(seq) }), type, data, meta: { actor: 't', at: '', schema: 1 } }) as Recorded;

describe('LogTail', () => {
  it('serves events after a position filtered by type, and advances past skipped types', async () => {
    const log = [event(1, 'A')];
    const store = fakeStore(log);
    const tail = new LogTail(store);
    await tail.refresh(); // starts at the head: seq 1
    expect(tail.read('1/0', ['A'], 10)).toBeUndefined(); // before the buffer: read the store instead
    log.push(event(2, 'B'), event(3, 'A'), event(4, 'B'));
    await tail.refresh();
    const r = tail.read('1/1', ['A'], 10)!;
    expect(r.events.map((e) => e.id)).toEqual(['e3']);
    expect(r.checkpoint).toBe('1/4');
    const onlyB = tail.read('1/2', ['B'], 1)!;
    expect(onlyB.events.map((e) => e.id)).toEqual(['e4']);
    expect(onlyB.checkpoint).toBe('1/4');
    expect(tail.read('1/4', ['A'], 10)).toEqual({ events: [], checkpoint: '1/4' });
  });

  it('concurrent refreshes share one read, and heavy events are evicted first by weight', async () => {
    const log = [event(1, 'A')];
    const store = fakeStore(log);
    const tail = new LogTail(store, 1500);
    await tail.refresh();
    const before = store.reads;
    log.push(event(2, 'Batch', { records: new Array(1000).fill(0) }), event(3, 'Batch', { records: new Array(1000).fill(0) }), event(4, 'A'));
    await Promise.all([tail.refresh(), tail.refresh(), tail.refresh()]);
    expect(store.reads - before).toBe(1);
    // weight 2001 > 1500: the first batch is dropped, so reading from before it falls back to the store
    expect(tail.read('1/1', ['Batch'], 10)).toBeUndefined();
    expect(tail.read('1/2', ['Batch', 'A'], 10)!.events.map((e) => e.id)).toEqual(['e3', 'e4']);
  });

  it('ensureFresh reads only after an invalidate or when the last read is too old, and never misses an append announced mid-read', async () => {
    const log = [event(1, 'A')];
    const store = fakeStore(log);
    const tail = new LogTail(store);
    await tail.refresh();
    const before = store.reads;
    // nothing announced, last read fresh: no read at all, however many loops ask
    await Promise.all([tail.ensureFresh(60_000), tail.ensureFresh(60_000), tail.ensureFresh(60_000)]);
    expect(store.reads).toBe(before);
    // an announced append: one shared read for every loop that wakes up
    log.push(event(2, 'A'));
    tail.invalidate();
    await Promise.all([tail.ensureFresh(60_000), tail.ensureFresh(60_000), tail.ensureFresh(60_000)]);
    expect(store.reads).toBe(before + 1);
    expect(tail.read('1/1', ['A'], 10)!.events.map((e) => e.id)).toEqual(['e2']);
    // too old: read even without an announcement (late commits become visible this way)
    await tail.ensureFresh(0);
    expect(store.reads).toBe(before + 2);
    // an append announced while a read is in flight is read by a second read, not lost
    const inFlight = tail.refresh();
    log.push(event(3, 'A'));
    tail.invalidate();
    await Promise.all([inFlight, tail.ensureFresh(60_000)]);
    expect(tail.read('1/2', ['A'], 10)!.events.map((e) => e.id)).toEqual(['e3']);
  });
});
