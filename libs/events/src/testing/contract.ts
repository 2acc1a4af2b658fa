import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEvent, EventCatalog } from '../catalog.ts';
import { comparePositions, parsePosition, START } from '../checkpoint.ts';
import type { Recorded } from '../envelope.ts';
import { IdempotencyConflictError, WrongExpectedRevisionError, type EventStore } from '../store.ts';
import { z } from 'zod';

export const ContractTicked = defineEvent({
  type: 'ContractTicked',
  schema: z.object({ n: z.number().int() }),
});
/** v2 renamed `text` to `body`; v1 events in the log must still read. */
export const ContractNoted = defineEvent({
  type: 'ContractNoted',
  version: 2,
  schema: z.object({ body: z.string() }),
  upcasters: { 1: (d) => ({ body: (d as { text: string }).text }) },
});
export const contractCatalog = new EventCatalog([ContractTicked, ContractNoted]);

const tick = (n: number, id?: string) => ({ type: 'ContractTicked', data: { n }, ...(id ? { id } : {}) });
const actor = { actor: 'contract-test' };
const stream = () => `contract:${randomUUID()}`;

/**
 * The behaviour every EventStore backend must have. `open` returns a store over a fresh
 * database using `contractCatalog`; `writeRaw` inserts a stored event of an old schema
 * version straight into the log (to prove upcasting), when the backend allows it.
 */
export function eventStoreContract(
  backend: string,
  setup: {
    open(): Promise<EventStore>;
    close(): Promise<void>;
    writeRawV1Note?(streamId: string, text: string): Promise<void>;
    /**
     * What the backend does not guarantee, each with the reason: the test then asserts the
     * backend's documented behaviour instead, under a title that gives the reason (docs/scaling.md lists them).
     */
    differences?: { eventIdsUniqueAcrossStreams?: string };
  },
): void {
  describe(`EventStore contract: ${backend}`, () => {
    let store: EventStore;
    beforeAll(async () => {
      store = await setup.open();
    });
    afterAll(async () => {
      await setup.close();
    });

    describe('expected revision', () => {
      it('no_stream: appends to a new stream, rejects an existing one', async () => {
        const s = stream();
        const r = await store.append(s, [tick(1), tick(2)], { ...actor, expectedRevision: 'no_stream' });
        expect(r.revision).toBe(1n);
        await expect(store.append(s, [tick(3)], { ...actor, expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        expect((await store.readStream(s)).map((e) => (e.data as { n: number }).n)).toEqual([1, 2]);
      });

      it('stream_exists: rejects a new stream, appends to an existing one', async () => {
        const s = stream();
        await expect(store.append(s, [tick(1)], { ...actor, expectedRevision: 'stream_exists' })).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        expect(await store.streamRevision(s)).toBeUndefined();
        await store.append(s, [tick(1)], actor);
        const r = await store.append(s, [tick(2)], { ...actor, expectedRevision: 'stream_exists' });
        expect(r.revision).toBe(1n);
      });

      it('exact revision: appends when it matches, rejects a stale one and names the actual revision', async () => {
        const s = stream();
        await store.append(s, [tick(1), tick(2), tick(3)], actor);
        const r = await store.append(s, [tick(4)], { ...actor, expectedRevision: 2n });
        expect(r.revision).toBe(3n);
        const err = await store.append(s, [tick(5)], { ...actor, expectedRevision: 2n }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WrongExpectedRevisionError);
        expect((err as WrongExpectedRevisionError).actual).toBe(3n);
        expect(await store.streamRevision(s)).toBe(3n);
      });

      it('any: appends whatever the revision', async () => {
        const s = stream();
        expect((await store.append(s, [tick(1)], { ...actor, expectedRevision: 'any' })).revision).toBe(0n);
        expect((await store.append(s, [tick(2)], { ...actor, expectedRevision: 'any' })).revision).toBe(1n);
      });

      it('concurrent appends with the same expected revision: exactly one wins', async () => {
        const s = stream();
        await store.append(s, [tick(0)], actor);
        const results = await Promise.allSettled(
          Array.from({ length: 5 }, (_, i) => store.append(s, [tick(i + 1)], { ...actor, expectedRevision: 0n })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(rejected).toHaveLength(4);
        for (const r of rejected) expect(r.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect(await store.readStream(s)).toHaveLength(2);
      });

      it('concurrent first appends with no_stream: exactly one wins', async () => {
        const s = stream();
        const results = await Promise.allSettled(
          Array.from({ length: 4 }, (_, i) => store.append(s, [tick(i)], { ...actor, expectedRevision: 'no_stream' })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect(await store.readStream(s)).toHaveLength(1);
      });

      it("concurrent first appends with 'any' all land, one after another", async () => {
        const s = stream();
        const results = await Promise.all(Array.from({ length: 4 }, (_, i) => store.append(s, [tick(i)], { ...actor, expectedRevision: 'any' })));
        expect(results.map((r) => r.revision).sort()).toEqual([0n, 1n, 2n, 3n]);
        expect(await store.readStream(s)).toHaveLength(4);
      });
    });

    describe('idempotency', () => {
      it('re-appending the same event ids changes nothing and returns the first result', async () => {
        const s = stream();
        const ids = [randomUUID(), randomUUID()];
        const first = await store.append(s, [tick(1, ids[0]), tick(2, ids[1])], { ...actor, expectedRevision: 'no_stream' });
        const again = await store.append(s, [tick(1, ids[0]), tick(2, ids[1])], { ...actor, expectedRevision: 'no_stream' });
        expect(again).toEqual(first);
        expect(await store.readStream(s)).toHaveLength(2);
      });

      const idsAcrossStreams = setup.differences?.eventIdsUniqueAcrossStreams;
      if (idsAcrossStreams === undefined) {
        it('reusing an id in another stream is a conflict and writes nothing', async () => {
          const id = randomUUID();
          await store.append(stream(), [tick(1, id)], actor);
          const other = stream();
          await expect(store.append(other, [tick(1, id), tick(2)], actor)).rejects.toBeInstanceOf(IdempotencyConflictError);
          expect(await store.streamRevision(other)).toBeUndefined();
        });
      } else {
        // The documented difference is itself asserted, so a backend that changes behaviour is noticed.
        it(`reusing an id in another stream writes there (${backend} dedupes ids per stream only: ${idsAcrossStreams})`, async () => {
          const id = randomUUID();
          await store.append(stream(), [tick(1, id)], actor);
          const other = stream();
          await store.append(other, [tick(1, id), tick(2)], actor);
          expect(await store.readStream(other)).toHaveLength(2);
        });
      }
    });

    describe('reading', () => {
      it('records envelope metadata and reads a stream from a revision', async () => {
        const s = stream();
        const correlationId = randomUUID();
        await store.append(s, [tick(1), tick(2), tick(3)], { actor: 'alice', correlationId });
        const events = await store.readStream(s, { fromRevision: 1n });
        expect(events.map((e) => e.revision)).toEqual([1n, 2n]);
        expect(events[0]!.meta).toMatchObject({ actor: 'alice', correlationId, schema: 1 });
        expect(Date.parse(events[0]!.meta.at)).not.toBeNaN();
        expect(events[0]!.streamId).toBe(s);
      });

      it('reads a long stream in revision order (numeric, not textual)', async () => {
        const s = stream();
        await store.append(s, Array.from({ length: 12 }, (_, i) => tick(i)), actor);
        const events = await store.readStream(s);
        expect(events.map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        expect((await store.readStream(s, { fromRevision: 9n })).map((e) => e.revision)).toEqual([9n, 10n, 11n]);
      });

      it('rejects data that does not match the schema and writes nothing', async () => {
        const s = stream();
        await expect(store.append(s, [{ type: 'ContractTicked', data: { n: 'x' } }], actor)).rejects.toThrow(/invalid ContractTicked/);
        await expect(store.append(s, [{ type: 'NoSuchEvent', data: {} }], actor)).rejects.toThrow(/unknown event type/);
        expect(await store.streamRevision(s)).toBeUndefined();
      });

      it('a transaction lands whole or not at all', async () => {
        const a = stream();
        const b = stream();
        await expect(
          store.transaction(async (t) => {
            await t.append(a, [tick(1)], actor);
            await t.append(b, [tick(2)], { ...actor, expectedRevision: 5n });
          }),
        ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        expect(await store.streamRevision(a)).toBeUndefined();
        await store.transaction(async (t) => {
          await t.append(a, [tick(1)], actor);
          await t.append(b, [tick(2)], actor);
        });
        expect(await store.streamRevision(a)).toBe(0n);
        expect(await store.streamRevision(b)).toBe(0n);
      });

      it('readAll returns events after a checkpoint in order, filters by type, and its checkpoint covers skipped events', async () => {
        const start = await store.head();
        const s = stream();
        const r1 = await store.append(s, [tick(1), tick(2)], actor);
        await store.append(s, [{ type: 'ContractNoted', data: { body: 'hello' } }], actor);
        const all = await store.readAll(start);
        const mine = all.events.filter((e) => e.streamId === s);
        expect(mine.map((e) => e.type)).toEqual(['ContractTicked', 'ContractTicked', 'ContractNoted']);
        expect(mine[1]!.position).toBe(r1.position);
        const ticks = await store.readAll(start, { types: ['ContractNoted'] });
        expect(ticks.events.filter((e) => e.streamId === s).map((e) => e.type)).toEqual(['ContractNoted']);
        expect(comparePositions(parsePosition(ticks.checkpoint), parsePosition(r1.position))).toBeGreaterThan(0);
        const paged = await store.readAll(start, { limit: 1 });
        expect(paged.events).toHaveLength(1);
        expect(paged.checkpoint).toBe(paged.events[0]!.position);
      });

      it.runIf(Boolean(setup.writeRawV1Note))('upcasts events written with an older schema version', async () => {
        const s = stream();
        await setup.writeRawV1Note!(s, 'old text');
        const [e] = await store.readStream(s);
        expect(e!.data).toEqual({ body: 'old text' });
        expect(e!.meta.schema).toBe(1);
      });
    });

    it('8 concurrent writers x 1,000 appends while a subscriber reads: every event exactly once, in checkpoint order', async () => {
      const writers = 8;
      const perWriter = 1000;
      const prefix = `contract-conc-${randomUUID()}:`;
      const seen: Recorded[] = [];
      const seenIds = new Set<string>();
      let duplicates = 0;
      const sub = store.subscribe(await store.head(), {
        limit: 500,
        pollIntervalMs: 20,
        handler: async (batch) => {
          for (const e of batch.events) {
            if (!e.streamId.startsWith(prefix)) continue;
            if (seenIds.has(e.id)) duplicates++;
            seenIds.add(e.id);
            seen.push(e);
          }
          await new Promise((r) => setTimeout(r, 1)); // a slow consumer: backpressure holds the next read
        },
      });
      const appended: string[] = [];
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) {
            const id = randomUUID();
            await store.append(`${prefix}${w}`, [tick(i, id)], { ...actor, expectedRevision: i === 0 ? 'no_stream' : BigInt(i - 1) });
            appended.push(id);
          }
        }),
      );
      const deadline = Date.now() + 60_000;
      while (seenIds.size < appended.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await sub.stop();
      expect(duplicates).toBe(0);
      expect(seenIds.size).toBe(writers * perWriter);
      for (const id of appended) expect(seenIds.has(id)).toBe(true);
      for (let i = 1; i < seen.length; i++) {
        expect(comparePositions(parsePosition(seen[i - 1]!.position), parsePosition(seen[i]!.position))).toBeLessThan(0);
      }
      // within each stream, revisions arrive in order
      const lastRevision = new Map<string, bigint>();
      for (const e of seen) {
        const prev = lastRevision.get(e.streamId) ?? -1n;
        expect(e.revision).toBe(prev + 1n);
        lastRevision.set(e.streamId, e.revision);
      }
    });

    it('readAll from START sees a long-running transaction only after it commits, never skipping it', async () => {
      const s1 = stream();
      const s2 = stream();
      const start = await store.head();
      let release!: () => void;
      let opened: Awaited<ReturnType<EventStore['readAll']>> | null = null;
      const gate = new Promise<void>((r) => (release = r));
      const slow = store.transaction(async (t) => {
        await t.append(s1, [tick(1)], actor);
        await gate;
      });
      // On a server the slow transaction stays open while another commits after it;
      // on single-connection PGlite the second append simply waits for the first.
      const fast = store.append(s2, [tick(2)], actor);
      try {
        await new Promise((r) => setTimeout(r, 50));
        const whileOpen = await Promise.race([store.readAll(start), new Promise<null>((r) => setTimeout(() => r(null), 200))]);
        // The open transaction's event is invisible; the other one may already be visible
        // if its transaction id is older, which is allowed: what matters is that nothing is skipped.
        if (whileOpen) expect(whileOpen.events.some((e) => e.streamId === s1)).toBe(false);
        opened = whileOpen;
      } finally {
        release();
      }
      await Promise.all([slow, fast]);
      let checkpoint = opened?.checkpoint ?? start;
      const got = new Set<string>(opened?.events.filter((e) => e.streamId === s1 || e.streamId === s2).map((e) => e.streamId) ?? []);
      for (let i = 0; i < 20 && got.size < 2; i++) {
        const page = await store.readAll(checkpoint);
        for (const e of page.events) if (e.streamId === s1 || e.streamId === s2) got.add(e.streamId);
        checkpoint = page.checkpoint;
      }
      expect(got).toEqual(new Set([s1, s2]));
    });

    it('START is before everything', () => {
      expect(comparePositions(START, parsePosition('1/1'))).toBeLessThan(0);
    });
  });
}
