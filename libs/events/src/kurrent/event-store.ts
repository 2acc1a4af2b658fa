import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  ANY,
  BACKWARDS,
  END,
  eventTypeFilter,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  KurrentDBClient,
  NO_STREAM,
  START as KURRENT_START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendStreamState,
  type CurrentStreamState,
  type EventData,
  type Position,
  type ReadPosition,
  type ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import type { EventCatalog } from '../catalog.ts';
import { pollingSubscription } from '../polling-subscription.ts';
import { comparePositions, formatPosition, parsePosition, START, type LogPosition } from '../checkpoint.ts';
import type { Event, EventMeta, NewEvent, Recorded } from '../envelope.ts';
import {
  IdempotencyConflictError,
  WrongExpectedRevisionError,
  type AppendOptions,
  type AppendResult,
  type Appender,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadAllResult,
  type Subscription,
  type SubscriptionOptions,
} from '../store.ts';

/**
 * The EventStore interface on EventStoreDB / KurrentDB (docs/scaling.md, "KurrentDB backend").
 *
 * - a stream is a KurrentDB stream of the same name; revisions are stream revisions;
 * - expected revisions map to stream states (exact revision, ANY, NO_STREAM, STREAM_EXISTS);
 * - an event id is the KurrentDB event id, which the server uses to answer a retried append
 *   as the first one (idempotent writes);
 * - the global order is `$all`; a position is the event's `commit/prepare` pair, which has the
 *   same "<a>/<b>" form and order as the PostgreSQL backend's `tx/seq` checkpoints;
 * - a transaction over several streams is one atomic multi-stream append (KurrentDB ≥ 25.1),
 *   sent when the transaction's work has finished;
 * - metadata is a flat object of strings (multi-stream appends accept nothing else), with the
 *   `$correlationId` / `$causationId` keys KurrentDB's system projections understand.
 */
export interface KurrentEventStoreOptions {
  catalog: EventCatalog;
  /** the clock, injectable for tests */
  now?: () => Date;
}

/** The part of the KurrentDB client this store uses (a stand-in can be passed to `withClient`). */
export type KurrentClient = Pick<KurrentDBClient, 'appendToStream' | 'multiStreamAppend' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'>;
type Client = KurrentClient;

interface PreparedEvent {
  id: string;
  type: string;
  data: unknown;
  schema: number;
}

interface PendingAppend {
  streamId: string;
  events: PreparedEvent[];
  /** the stream state checked when the transaction commits (from the first append to the stream) */
  expected: ExpectedRevision;
  /** revision of the stream's last event after this append, as far as the transaction knows */
  revision: bigint;
  meta: Record<string, string>;
  result: { revision: bigint; position: string | undefined };
}

export class KurrentEventStore implements EventStore {
  private readonly appended = new EventEmitter();
  private readonly now: () => Date;
  private live: { unsubscribe(): Promise<void> } | undefined;

  private constructor(
    readonly client: Client,
    private readonly catalog: EventCatalog,
    now?: () => Date,
  ) {
    this.now = now ?? (() => new Date());
    this.appended.setMaxListeners(0);
  }

  /** `url`: a KurrentDB connection string, e.g. `kurrentdb://localhost:2113?tls=false`. */
  static async open(url: string, options: KurrentEventStoreOptions): Promise<KurrentEventStore> {
    return KurrentEventStore.withClient(KurrentDBClient.connectionString(url), options);
  }

  /** The store over an existing client (or a stand-in with the same behaviour, in unit tests). */
  static async withClient(client: KurrentClient, options: KurrentEventStoreOptions): Promise<KurrentEventStore> {
    const store = new KurrentEventStore(client, options.catalog, options.now);
    // Appends from other processes: a live subscription to the end of $all only wakes readers.
    const sub = store.client.subscribeToAll({ fromPosition: END, filter: excludeSystemEvents() });
    sub.on('data', () => store.appended.emit('appended'));
    sub.on('error', () => undefined); // readers poll as well; a dropped wake-up only delays them
    store.live = sub;
    await store.head(); // fail fast when the server does not answer
    return store;
  }

  async append<E extends Event>(streamId: string, events: readonly NewEvent<E>[], options: AppendOptions): Promise<AppendResult> {
    const prepared = this.prepare(events);
    const expected = options.expectedRevision ?? 'any';
    try {
      const r = await this.client.appendToStream(streamId, prepared.map((e) => this.toEventData(e, this.meta(options))), { streamState: toStreamState(expected) });
      const result = { revision: r.nextExpectedRevision, position: await this.positionOf(streamId, r.nextExpectedRevision) };
      this.appended.emit('appended');
      return result;
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError)) throw err;
      // A retried append that already landed: answer it as it was (the server does this itself
      // for exact revisions; NO_STREAM / STREAM_EXISTS retries end up here).
      const replay = await this.previousAppend(streamId, prepared);
      if (replay) return replay;
      throw new WrongExpectedRevisionError(streamId, expected, fromStreamState(err.actualState));
    }
  }

  /**
   * Collects the appends of `work` and commits them as one atomic multi-stream append when it
   * returns. Results handed out inside `work` carry the revision the transaction expects; their
   * `position` is known only after the commit (reading it earlier throws).
   */
  async transaction<T>(work: (appender: Appender) => Promise<T>): Promise<T> {
    const pending: PendingAppend[] = [];
    const byStream = new Map<string, PendingAppend[]>();
    const appender: Appender = {
      append: async (streamId, events, options) => {
        const prepared = this.prepare(events);
        const expected = options.expectedRevision ?? 'any';
        const earlier = byStream.get(streamId);
        let current: bigint | undefined;
        if (earlier?.length) {
          current = earlier[earlier.length - 1]!.revision;
          checkExpected(streamId, expected, current);
        } else if (typeof expected === 'bigint') current = expected;
        else if (expected === 'no_stream') current = undefined;
        else {
          current = await this.streamRevision(streamId);
          checkExpected(streamId, expected, current); // checked again by the server at commit
        }
        const revision = (current ?? -1n) + BigInt(prepared.length);
        const result = { revision, position: undefined as string | undefined };
        const p: PendingAppend = { streamId, events: prepared, expected: earlier?.length ? earlier[0]!.expected : expected, revision, meta: this.meta(options), result };
        pending.push(p);
        byStream.set(streamId, [...(earlier ?? []), p]);
        return {
          get revision() {
            return result.revision;
          },
          get position(): string {
            if (result.position === undefined) throw new Error('the position of an append in a KurrentDB transaction is known only after the transaction commits');
            return result.position;
          },
        };
      },
    };
    const value = await work(appender);
    if (pending.length === 0) return value;
    // One request per stream (multi-stream appends take each stream once), in first-append order.
    const requests = [...byStream.entries()].map(([streamName, appends]) => ({
      streamName,
      expectedState: toStreamState(appends[0]!.expected),
      events: appends.flatMap((a) => a.events.map((e) => this.toEventData(e, a.meta))),
    }));
    let committed: Awaited<ReturnType<Client['multiStreamAppend']>>;
    try {
      committed = await this.client.multiStreamAppend(requests);
    } catch (err) {
      if (err instanceof WrongExpectedVersionError) {
        const first = byStream.get(err.streamName)?.[0];
        throw new WrongExpectedRevisionError(err.streamName, first?.expected ?? 'any', fromStreamState(err.actualState));
      }
      throw err;
    }
    // The server's revisions are authoritative (an ANY append may have raced another writer).
    for (const response of committed.responses) {
      const appends = byStream.get(response.streamName) ?? [];
      let last = response.revision;
      for (let i = appends.length - 1; i >= 0; i--) {
        appends[i]!.result.revision = last;
        last -= BigInt(appends[i]!.events.length);
      }
    }
    const positions = await Promise.all(pending.map((p) => this.positionOf(p.streamId, p.result.revision)));
    pending.forEach((p, i) => (p.result.position = positions[i]));
    this.appended.emit('appended');
    return value;
  }

  async readStream(streamId: string, options: { fromRevision?: bigint; limit?: number } = {}): Promise<Recorded[]> {
    const out: Recorded[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, {
        fromRevision: options.fromRevision ?? KURRENT_START,
        direction: FORWARDS,
        maxCount: options.limit ?? 1_000_000,
      })) {
        const r = this.toRecorded(resolved);
        if (r) out.push(r);
      }
    } catch (err) {
      if (err instanceof StreamNotFoundError) return [];
      throw err;
    }
    return out;
  }

  async streamRevision(streamId: string): Promise<bigint | undefined> {
    try {
      for await (const resolved of this.client.readStream(streamId, { fromRevision: END, direction: BACKWARDS, maxCount: 1 })) {
        return resolved.event?.revision;
      }
    } catch (err) {
      if (err instanceof StreamNotFoundError) return undefined;
      throw err;
    }
    return undefined;
  }

  /**
   * Reads `$all` after a checkpoint. The head is read first and nothing beyond it is returned,
   * so a short page can move the checkpoint to the head (covering filtered-out events) without
   * skipping an event appended during the read.
   */
  async readAll(after: string, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const from = parsePosition(after);
    const limit = options.limit ?? 1000;
    const head = await this.headPosition();
    const types = options.types ?? this.catalog.types;
    const events: Recorded[] = [];
    if (comparePositions(head, from) > 0 && types.length > 0) {
      const fromPosition: ReadPosition = from.tx === 0n && from.seq === 0n ? KURRENT_START : { commit: from.tx, prepare: from.seq };
      // The read starts at `after` inclusive: one more than the limit, and the event at `after` dropped.
      for await (const resolved of this.client.readAll({
        fromPosition,
        direction: FORWARDS,
        maxCount: limit + 1,
        filter: eventTypeFilter({ regex: `^(?:${types.map(escapeRegex).join('|')})$` }),
      })) {
        const pos = allPosition(resolved);
        if (!pos || comparePositions(pos, from) <= 0) continue;
        if (comparePositions(pos, head) > 0 || events.length === limit) break;
        const r = this.toRecorded(resolved, pos);
        if (r) events.push(r);
      }
    }
    const checkpoint = events.length === limit ? parsePosition(events[events.length - 1]!.position) : maxOf(from, head);
    return { events, checkpoint: formatPosition(checkpoint) };
  }

  async head(): Promise<string> {
    return formatPosition(await this.headPosition());
  }

  private async headPosition(): Promise<LogPosition> {
    for await (const resolved of this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 })) {
      const pos = allPosition(resolved);
      if (pos) return pos;
    }
    return START;
  }

  /** The same polling loop as the PostgreSQL backend, woken by the live subscription. */
  subscribe(after: string, options: SubscriptionOptions): Subscription {
    return pollingSubscription((a, o) => this.readAll(a, o), this.appended, after, options);
  }

  /** "Something was appended" without reading (projector wake-ups). */
  onAppended(listener: () => void): () => void {
    this.appended.on('appended', listener);
    return () => this.appended.off('appended', listener);
  }

  async close(): Promise<void> {
    this.appended.removeAllListeners();
    await this.live?.unsubscribe().catch(() => undefined);
    await this.client.dispose();
  }

  private prepare(events: readonly NewEvent[]): PreparedEvent[] {
    if (events.length === 0) throw new Error('append needs at least one event');
    return events.map((e) => {
      const { data, schema } = this.catalog.prepare(e.type, e.data);
      return { id: e.id ?? randomUUID(), type: e.type, data, schema };
    });
  }

  private meta(options: AppendOptions): Record<string, string> {
    return {
      actor: options.actor,
      at: this.now().toISOString(),
      ...(options.correlationId ? { correlationId: options.correlationId, $correlationId: options.correlationId } : {}),
      ...(options.causationId ? { causationId: options.causationId, $causationId: options.causationId } : {}),
    };
  }

  private toEventData(e: PreparedEvent, meta: Record<string, string>): EventData {
    return jsonEvent({ id: e.id, type: e.type, data: e.data as Record<string, unknown>, metadata: { ...meta, schema: String(e.schema) } });
  }

  /** The exact $all position of a stream's event (the append answer carries the write's, not each event's). */
  private async positionOf(streamId: string, revision: bigint): Promise<string> {
    for await (const resolved of this.client.readStream(streamId, { fromRevision: revision, direction: FORWARDS, maxCount: 1 })) {
      const pos = resolved.event?.position ?? (resolved.commitPosition !== undefined ? { commit: resolved.commitPosition, prepare: resolved.commitPosition } : undefined);
      if (pos) return formatPosition({ tx: pos.commit, seq: pos.prepare });
    }
    throw new Error(`stream ${streamId}: revision ${revision} was just written but cannot be read back`);
  }

  /** When every id of `prepared` is already in the stream, in order with the same types: that earlier append's result. */
  private async previousAppend(streamId: string, prepared: PreparedEvent[]): Promise<AppendResult | undefined> {
    const recent: Recorded[] = [];
    try {
      for await (const resolved of this.client.readStream(streamId, { fromRevision: END, direction: BACKWARDS, maxCount: 1000 })) {
        const r = this.toRecorded(resolved);
        if (r) recent.push(r);
      }
    } catch (err) {
      if (err instanceof StreamNotFoundError) return undefined;
      throw err;
    }
    const byId = new Map(recent.map((r) => [r.id, r]));
    const found = prepared.map((e) => byId.get(e.id));
    if (found.every((f) => f === undefined)) return undefined;
    if (found.some((f, i) => f === undefined || f.type !== prepared[i]!.type)) throw new IdempotencyConflictError(prepared.map((e) => e.id));
    const last = found.reduce((a, b) => (a!.revision > b!.revision ? a : b))!;
    return { revision: last.revision, position: last.position };
  }

  private toRecorded(resolved: ResolvedEvent | AllStreamResolvedEvent, position?: LogPosition): Recorded | undefined {
    const e = resolved.event;
    if (!e || e.type.startsWith('$')) return undefined;
    const pos = position ?? (e.position ? { tx: e.position.commit, seq: e.position.prepare } : resolved.commitPosition !== undefined ? { tx: resolved.commitPosition, seq: resolved.commitPosition } : START);
    const raw = (e.metadata ?? {}) as Record<string, unknown>;
    const schema = Number(raw.schema ?? 1);
    const meta: EventMeta = {
      actor: String(raw.actor ?? 'unknown'),
      at: String(raw.at ?? e.created.toISOString()),
      ...(typeof raw.correlationId === 'string' ? { correlationId: raw.correlationId } : {}),
      ...(typeof raw.causationId === 'string' ? { causationId: raw.causationId } : {}),
      schema,
    };
    const data = e.isJson ? e.data : JSON.parse(Buffer.from(e.data as Uint8Array).toString('utf8'));
    return {
      id: e.id,
      streamId: e.streamId,
      revision: e.revision,
      position: formatPosition(pos),
      type: e.type,
      data: this.catalog.upcast(e.type, schema, data),
      meta,
    };
  }
}

function toStreamState(expected: ExpectedRevision): AppendStreamState {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
}

function fromStreamState(state: CurrentStreamState): bigint | undefined {
  return typeof state === 'bigint' && state >= 0n ? state : undefined;
}

function checkExpected(streamId: string, expected: ExpectedRevision, current: bigint | undefined): void {
  if (expected === 'any') return;
  if (expected === 'no_stream' && current === undefined) return;
  if (expected === 'stream_exists' && current !== undefined) return;
  if (typeof expected === 'bigint' && current === expected) return;
  throw new WrongExpectedRevisionError(streamId, expected, current);
}

function allPosition(resolved: AllStreamResolvedEvent): LogPosition | undefined {
  const p: Position | undefined = resolved.event?.position;
  if (p) return { tx: p.commit, seq: p.prepare };
  return resolved.commitPosition !== undefined ? { tx: resolved.commitPosition, seq: resolved.commitPosition } : undefined;
}

function maxOf(a: LogPosition, b: LogPosition): LogPosition {
  return comparePositions(a, b) >= 0 ? a : b;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
