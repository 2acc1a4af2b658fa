import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendStreamState,
  type EventData,
  type Filter,
  type Position,
  type ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import type { KurrentClient } from './event-store.ts';

interface Stored {
  streamId: string;
  id: string;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  revision: bigint;
  created: Date;
  position: Position;
}

/**
 * An in-memory stand-in for the parts of a KurrentDB server the store uses, following the
 * server's documented behaviour: stream states checked on append, a retried append with the same
 * event ids at the same expected revision answered as the first one, atomic multi-stream appends,
 * `$all` ordered by (commit, prepare) with system events (`$`-types) interleaved, reads starting
 * at a position inclusive, a missing stream read as StreamNotFoundError. It lets the adapter's
 * mapping run through the contract suite on machines without a server; it is not a substitute
 * for running the suite against one (EVENTSTORE_URL).
 */
export function memoryKurrentClient(): KurrentClient {
  const log: Stored[] = [];
  const streams = new Map<string, Stored[]>();
  const live = new EventEmitter();
  live.setMaxListeners(0);
  let next = 100n;

  const revisionOf = (s: string) => {
    const events = streams.get(s);
    return events?.length ? events[events.length - 1]!.revision : undefined;
  };

  /** `undefined` when the append may go ahead, the revision it already landed at for an idempotent retry, or throws */
  function check(streamName: string, state: AppendStreamState, events: EventData[]): bigint | undefined {
    const current = revisionOf(streamName);
    const ok =
      state === 'any' || (state === 'no_stream' && current === undefined) || (state === 'stream_exists' && current !== undefined) || (typeof state === 'bigint' && current === state);
    const existing = streams.get(streamName) ?? [];
    const from = state === 'no_stream' ? 0 : typeof state === 'bigint' ? Number(state) + 1 : -1;
    // Idempotent retry: the same ids already follow the expected revision.
    if (from >= 0 && events.length > 0 && events.every((e, i) => existing[from + i]?.id === e.id)) return BigInt(from + events.length - 1);
    if (!ok) throw new WrongExpectedVersionError(undefined, { streamName, expected: state, current: current ?? 'no_stream' });
    return undefined;
  }

  function write(streamName: string, events: EventData[]): bigint {
    const list = streams.get(streamName) ?? [];
    streams.set(streamName, list);
    for (const e of events) {
      // The server writes its own events now and then ($statsCollected and the like).
      if (log.length % 7 === 3) push('$stats-127.0.0.1:2113', '$statsCollected', {}, []);
      push(streamName, e.type, e.data, list, e.id, (e.metadata ?? {}) as Record<string, unknown>);
    }
    return list[list.length - 1]!.revision;
  }

  function push(streamId: string, type: string, data: unknown, list: Stored[], id: string = randomUUID(), metadata: Record<string, unknown> = {}): void {
    const s = streams.get(streamId) ?? list;
    streams.set(streamId, s);
    const position = { commit: next, prepare: next };
    next += 37n;
    const stored: Stored = { streamId, id, type, data: structuredClone(data), metadata, revision: BigInt(s.length), created: new Date(), position };
    s.push(stored);
    log.push(stored);
  }

  function resolved(e: Stored): AllStreamResolvedEvent & ResolvedEvent {
    return {
      event: { streamId: e.streamId, id: e.id, isJson: true, revision: e.revision, type: e.type, created: e.created, data: structuredClone(e.data), metadata: e.metadata, position: e.position },
      commitPosition: e.position.commit,
    } as AllStreamResolvedEvent & ResolvedEvent;
  }

  const cmp = (a: Position, b: Position) => (a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare < b.prepare ? -1 : a.prepare > b.prepare ? 1 : 0);

  const client = {
    async appendToStream(streamName: string, events: EventData | EventData[], options: { streamState?: AppendStreamState } = {}) {
      const list = Array.isArray(events) ? events : [events];
      const replay = check(streamName, options.streamState ?? 'any', list);
      const revision = replay ?? write(streamName, list);
      if (replay === undefined) live.emit('data', {});
      const last = streams.get(streamName)![Number(revision)]!;
      return { success: true, nextExpectedRevision: revision, position: last.position };
    },
    async multiStreamAppend(requests: { streamName: string; events: EventData[]; expectedState: AppendStreamState }[]) {
      for (const r of requests) {
        for (const e of r.events) {
          if (Object.values(e.metadata ?? {}).some((v) => typeof v !== 'string')) throw new Error('multiStreamAppend requires metadata to be a plain object with string keys and string values.');
        }
      }
      for (const r of requests) check(r.streamName, r.expectedState, []); // all checks before any write: atomic
      const responses = requests.map((r) => ({ streamName: r.streamName, revision: write(r.streamName, r.events) }));
      live.emit('data', {});
      return { position: log[log.length - 1]!.position.commit, responses };
    },
    readStream(streamName: string, options: { fromRevision?: 'start' | 'end' | bigint; direction?: 'forwards' | 'backwards'; maxCount?: number | bigint } = {}) {
      return (async function* () {
        const list = streams.get(streamName);
        if (!list?.length) throw new StreamNotFoundError(undefined, streamName);
        const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
        const backwards = options.direction === 'backwards';
        const from = options.fromRevision === undefined || options.fromRevision === 'start' ? 0 : options.fromRevision === 'end' ? list.length - 1 : Number(options.fromRevision);
        const picked = backwards ? list.slice(0, from + 1).reverse() : list.slice(from);
        for (const e of picked.slice(0, max)) yield resolved(e);
      })();
    },
    readAll(options: { fromPosition?: 'start' | 'end' | Position; direction?: 'forwards' | 'backwards'; maxCount?: number | bigint; filter?: Filter } = {}) {
      return (async function* () {
        const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
        const backwards = options.direction === 'backwards';
        const pattern = options.filter && 'regex' in options.filter ? new RegExp(options.filter.regex) : undefined;
        const from = options.fromPosition ?? (backwards ? 'end' : 'start');
        let picked = log.filter((e) => from === 'start' || from === 'end' || (backwards ? cmp(e.position, from) <= 0 : cmp(e.position, from) >= 0));
        if (backwards) picked = [...picked].reverse();
        if (from === 'end' && !backwards) picked = [];
        if (pattern) picked = picked.filter((e) => pattern.test(options.filter!.filterOn === 'streamName' ? e.streamId : e.type));
        for (const e of picked.slice(0, max)) yield resolved(e);
      })();
    },
    subscribeToAll() {
      const sub = new EventEmitter() as EventEmitter & { unsubscribe(): Promise<void> };
      const forward = (x: unknown) => sub.emit('data', x);
      live.on('data', forward);
      sub.unsubscribe = async () => void live.off('data', forward);
      return sub;
    },
    async dispose() {
      live.removeAllListeners();
    },
  };
  return client as unknown as KurrentClient;
}
