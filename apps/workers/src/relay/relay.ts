import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Admin, type ICustomPartitioner, type IHeaders, type Message, type Producer, type TopicMessages } from 'kafkajs';
import { formatPosition, START, type ArtifactStore, type EventStore, type ReadAllResult, type Recorded, type SqlDatabase } from '@refinery/events';
import { setupCheckpoints } from '@refinery/projector';
import { TOPICS, type Envelope } from '@refinery/integration-events';
import { RELAYED_EVENT_TYPES, toIntegrationMessages, UntranslatableEventError, type OutgoingMessage } from './mapping.ts';
import { translateLabelEvent } from './hot-path.ts';

/** Relay configuration (from the environment: libs/runtime `kafka`, docs/integrations.md). */
export interface RelayConfig {
  brokers: readonly string[];
  /** prepended to every topic name (default `refinery.`) */
  topicPrefix: string;
  clientId: string;
  /** partitions of the topics the relay creates (a project's messages always land in one) */
  partitions: number;
  replicationFactor: number;
  /** a message larger than this is dead-lettered without trying (bytes; keep it ≤ the broker's message.max.bytes) */
  maxMessageBytes: number;
}

export interface RelayOptions {
  db: SqlDatabase;
  store: EventStore & { onAppended?(listener: () => void): () => void };
  artifacts: ArtifactStore;
  config: RelayConfig;
  instanceId?: string;
  log?: (message: string) => void;
  /** log events per read (default 4000) */
  batchSize?: number;
  /** first and longest pause between retries (ms; default 250 and 30 000) */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  leaseMs?: number;
  pollIntervalMs?: number;
  /** replaces the translation (tests inject poison events with it) */
  translate?: (event: Recorded) => Promise<OutgoingMessage[]>;
  /** test hook: called after the broker acknowledged a chunk and before the checkpoint moves */
  afterPublish?: (lastEvent: Recorded) => Promise<void> | void;
}

export type RelayState = 'starting' | 'standby' | 'publishing' | 'idle' | 'retrying' | 'stopped';

export interface RelayStatus {
  state: RelayState;
  /** relayed log events after the checkpoint (capped at 100 000; null until measured) */
  lag: number | null;
  checkpoint: string | null;
  lastError: string | null;
  /** consecutive failed attempts since the last success */
  failures: number;
  published: number;
  deadLettered: number;
  instanceId: string;
}

/** Name of the relay's row in `projection_checkpoints` (the projector's lease and checkpoint table). */
export const RELAY_CHECKPOINT = 'relay:kafka';
const LAG_CAP = 100_000;
/** bytes per produce request: well below the broker's per-batch message.max.bytes */
const REQUEST_BYTES = 512 * 1024;
/** a round (one step) keeps publishing consecutive pages for about this long, then reports status and lag */
const ROUND_MS = 1000;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

export const RELAY_STATUS_SCHEMA = `
create table if not exists relay_status (
  name           text primary key,
  state          text not null,
  lag            bigint,
  checkpoint     text,
  last_error     text,
  failures       integer not null default 0,
  published      bigint not null default 0,
  dead_lettered  bigint not null default 0,
  instance_id    text not null,
  updated_at     timestamptz not null default now()
);
`;

class LeaseLostError extends Error {}

type Pending = OutgoingMessage & { event: Recorded };
type Chunk = { messages: Pending[]; lastEvent: Recorded };
/** the next page, read and translated while the current chunk is on the wire (or why that failed) */
type Prepared = { batch: ReadAllResult; chunks: Chunk[] } | { error: unknown };

/**
 * The Kafka relay: a checkpointed consumer of the log that publishes integration events.
 *
 * - One active instance (the projector's lease on the `relay:kafka` checkpoint row).
 * - Reads the relayed event types in log order, translates them, sends them in chunks with an
 *   idempotent producer (acks = all, one request in flight) and moves the checkpoint only past
 *   events whose every message the broker acknowledged. A crash after the send and before the
 *   checkpoint publishes those messages again: at least once, never skipped, order kept per project.
 * - Failures (broker down, topic creation refused, ...) are retried with exponential backoff;
 *   the state and last error are kept in `relay_status` for `/readyz` and logged.
 * - An event that can never be published (larger than the limit, or not translatable) is
 *   dead-lettered: a reference to it goes to the dead-letter topic, then the relay moves on.
 *   If the dead-letter topic cannot take it either, the relay stops there and retries.
 * It runs on its own timers: nothing in the product waits for it.
 */
export class KafkaRelay {
  readonly instanceId: string;
  private readonly log: (message: string) => void;
  private readonly batchSize: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private topicsReady = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastLagAt = 0;
  /** when this instance last renewed its lease (ms since epoch, 0 = ask the database) */
  private renewedAt = 0;
  private lastStatusWrite = 0;
  private lastLoggedError: string | undefined;
  /** the next batch, read while the current one is being published */
  private prefetch: { from: string; batch: Promise<ReadAllResult | undefined> } | undefined;
  private readonly current: RelayStatus;
  /** dead letters sent by this instance (event id and part): counted once even if sent again */
  private readonly deadLettered = new Set<string>();

  constructor(private readonly options: RelayOptions) {
    this.instanceId = options.instanceId ?? `relay-${randomUUID()}`;
    this.log = options.log ?? ((m) => console.error(m));
    this.batchSize = options.batchSize ?? 4000;
    this.minBackoffMs = options.minBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.pollMs = options.pollIntervalMs ?? 250;
    this.current = { state: 'starting', lag: null, checkpoint: null, lastError: null, failures: 0, published: 0, deadLettered: 0, instanceId: this.instanceId };
    this.kafka = new Kafka({
      clientId: options.config.clientId,
      brokers: [...options.config.brokers],
      connectionTimeout: 3000,
      requestTimeout: 30_000,
      // Retries inside kafkajs stay short: the relay's own loop retries with backoff and reports.
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
      logLevel: logLevel.NOTHING,
    });
  }

  status(): RelayStatus {
    return { ...this.current };
  }

  topic(name: string): string {
    return `${this.options.config.topicPrefix}${name}`;
  }

  async start(): Promise<void> {
    await setupCheckpoints(this.options.db, [{ setup: (sql) => sql.exec(RELAY_STATUS_SCHEMA) }]);
    this.unsubscribe = this.options.store.onAppended?.(() => this.wake?.());
    await this.writeStatus(true);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.wake?.();
    await this.loop;
    await this.prefetch?.batch;
    this.prefetch = undefined;
    await this.disconnect();
    this.current.state = 'stopped';
    await this.writeStatus(true).catch(() => undefined);
    await this.options.db
      .query(`update projection_checkpoints set owner = null, lease_until = 'epoch' where name = $1 and owner = $2`, [RELAY_CHECKPOINT, this.instanceId])
      .catch(() => undefined);
  }

  private async run(): Promise<void> {
    let backoff = this.minBackoffMs;
    while (!this.stopped) {
      try {
        const worked = await this.step();
        if (this.current.failures > 0) this.log(`kafka relay: recovered after ${this.current.failures} failed attempt(s)`);
        this.current.failures = 0;
        this.current.lastError = null;
        this.lastLoggedError = undefined;
        backoff = this.minBackoffMs;
        if (!worked) await this.sleep(this.pollMs);
      } catch (err) {
        if (this.stopped) break;
        const message = describe(err);
        this.current.state = 'retrying';
        this.current.failures++;
        this.current.lastError = message;
        // Every distinct error is logged; a repeated one every 10th time, so a long outage stays readable.
        if (message !== this.lastLoggedError || this.current.failures % 10 === 0) {
          this.log(`kafka relay: ${message} (attempt ${this.current.failures}, retrying in ${backoff} ms)`);
          this.lastLoggedError = message;
        }
        this.prefetch = undefined;
        this.renewedAt = 0; // the next round asks the database who owns the lease
        await this.disconnect();
        await this.writeStatus(true).catch(() => undefined);
        await this.sleep(backoff * (0.8 + Math.random() * 0.4));
        backoff = Math.min(this.maxBackoffMs, backoff * 2);
      }
    }
  }

  /** One round: returns false when there was nothing to publish. */
  private async step(): Promise<boolean> {
    const checkpoint = await this.acquire();
    if (checkpoint === undefined) {
      this.current.state = 'standby';
      await this.writeStatus(false);
      await this.sleep(Math.min(this.leaseMs / 3, 1000));
      return true;
    }
    this.current.checkpoint = checkpoint;
    await this.connect();
    const prefetched = this.prefetch?.from === checkpoint ? await this.prefetch.batch : undefined;
    this.prefetch = undefined;
    const batch = prefetched ?? (await this.read(checkpoint));
    if (batch.events.length === 0) {
      if (batch.checkpoint !== checkpoint) await this.advance(checkpoint, batch.checkpoint);
      this.current.state = 'idle';
      this.current.lag = 0;
      await this.writeStatus(false);
      return false;
    }
    this.current.state = 'publishing';
    const at = await this.publishFrom(checkpoint, batch);
    await this.measureLag(at);
    await this.writeStatus(false);
    return true;
  }

  /**
   * Publishes `first` and, while pages come back full, the pages after it (for about ROUND_MS).
   * One produce request is in flight at a time (kafkajs serializes an idempotent producer's
   * requests per broker); around it the relay overlaps the rest of the work: the checkpoint write
   * of the previous chunk runs while the next chunk is sent (while the lease is fresh), and the
   * next page is read and translated while the last chunk of this one is on the wire. The
   * checkpoint still moves only past acknowledged chunks, in order. Returns the checkpoint reached.
   */
  private async publishFrom(checkpoint: string, first: ReadAllResult): Promise<string> {
    const started = Date.now();
    let page = first;
    let queue = await this.chunks(page.events);
    let at = checkpoint;
    // Checkpoint writes, chained; a failure is kept (and the later writes skipped) until awaited.
    let advanceError: unknown;
    let advancing: Promise<void> = Promise.resolve();
    const advanceTo = (from: string, to: string) => {
      advancing = advancing
        .then(() => (advanceError === undefined ? this.advance(from, to) : undefined))
        .catch((err: unknown) => {
          advanceError ??= err;
        });
    };
    let prepared: Promise<Prepared> | undefined;
    try {
      for (;;) {
        const chunk = queue.shift()!;
        // Sending before the previous checkpoint write returned is safe only while nobody else can
        // have taken the lease (renewed less than a third of it ago, as in acquire()); otherwise
        // wait for it, so an instance that lost the lease sends nothing more.
        if (Date.now() - this.renewedAt >= this.leaseMs / 3) {
          await advancing;
          if (advanceError !== undefined) throw advanceError;
        }
        const sending = this.publish(chunk.messages);
        prepared = undefined;
        if (queue.length === 0 && page.events.length === this.batchSize) {
          // A full page means more is waiting: read (and translate) the next one meanwhile.
          const from = page.checkpoint;
          if (!this.stopped && Date.now() - started < ROUND_MS) prepared = this.prepare(from);
          else this.prefetch = { from, batch: this.read(from).catch(() => undefined) };
        }
        const [sent] = await Promise.allSettled([sending, advancing]);
        if (advanceError !== undefined) throw advanceError;
        if (sent.status === 'rejected') throw sent.reason;
        await this.options.afterPublish?.(chunk.lastEvent);
        advanceTo(at, chunk.lastEvent.position);
        at = chunk.lastEvent.position;
        if (queue.length > 0) continue;
        // Also covers events of other types after the last relayed one.
        if (page.checkpoint !== at) {
          advanceTo(at, page.checkpoint);
          at = page.checkpoint;
        }
        if (!prepared) break;
        const next = await prepared;
        prepared = undefined;
        if ('error' in next) throw next.error;
        if (next.batch.events.length === 0) {
          if (next.batch.checkpoint !== at) advanceTo(at, next.batch.checkpoint);
          at = next.batch.checkpoint;
          break;
        }
        page = next.batch;
        queue = next.chunks;
      }
      await advancing;
      if (advanceError !== undefined) throw advanceError;
      return at;
    } finally {
      await advancing;
      await prepared;
    }
  }

  /** The page after `from`, translated; never rejects (the error is returned to be thrown in order). */
  private async prepare(from: string): Promise<Prepared> {
    try {
      const batch = await this.read(from);
      return { batch, chunks: batch.events.length > 0 ? await this.chunks(batch.events) : [] };
    } catch (error) {
      return { error };
    }
  }

  private read(after: string): Promise<ReadAllResult> {
    return this.options.store.readAll(after, { types: RELAYED_EVENT_TYPES, limit: this.batchSize });
  }

  /** Translated messages grouped into produce requests; a chunk always ends with a whole event. */
  private async chunks(events: readonly Recorded[]): Promise<Chunk[]> {
    const custom = this.options.translate;
    const ctx = { artifacts: this.options.artifacts };
    const translate = custom ?? ((e: Recorded) => toIntegrationMessages(e, ctx));
    const out: Chunk[] = [];
    let messages: Pending[] = [];
    let bytes = 0;
    for (const event of events) {
      let translated: OutgoingMessage[];
      try {
        translated = (custom ? undefined : translateLabelEvent(event)) ?? (await translate(event));
      } catch (err) {
        if (!(err instanceof UntranslatableEventError)) throw err;
        translated = [this.deadLetter(event, 0, null, 'untranslatable', err.message, null)];
      }
      for (const m of translated) {
        const size = Buffer.byteLength(m.value) + m.key.length;
        const message =
          size > this.options.config.maxMessageBytes
            ? this.deadLetter(event, m.part, m.topic, 'too_large', `message of ${size} bytes exceeds the limit of ${this.options.config.maxMessageBytes} bytes (REFINERY_KAFKA_MAX_MESSAGE_BYTES)`, size)
            : m;
        // the translation's own objects: tagged with their event in place rather than copied
        (message as Pending).event = event;
        messages.push(message as Pending);
        bytes += Math.min(size, 10_000);
      }
      if (bytes >= REQUEST_BYTES) {
        out.push({ messages, lastEvent: event });
        messages = [];
        bytes = 0;
      }
    }
    if (messages.length > 0 || out.length === 0) out.push({ messages, lastEvent: events[events.length - 1]! });
    return out;
  }

  private deadLetter(event: Recorded, part: number, topic: string | null, reason: 'too_large' | 'untranslatable', message: string, sizeBytes: number | null): OutgoingMessage {
    const projectId = (event.data as { projectId?: unknown }).projectId;
    const key = typeof projectId === 'string' && /^[0-9a-f-]{36}$/i.test(projectId) ? projectId : NIL_UUID;
    const envelope: Envelope = {
      id: `${event.id}#dead-letter-${part}`,
      type: 'event.dead_lettered',
      version: 1,
      projectId: key,
      position: event.position,
      part: 0,
      parts: 1,
      occurredAt: event.meta.at,
      actor: event.meta.actor,
      data: {
        eventId: event.id,
        eventType: event.type,
        streamId: event.streamId,
        topic: topic === null ? null : this.topic(topic),
        part,
        reason,
        message: message.slice(0, 10_000),
        sizeBytes,
      },
    };
    return { topic: TOPICS.deadLetter, key, value: JSON.stringify(envelope), type: 'event.dead_lettered', version: 1, eventId: event.id, part };
  }

  /**
   * Sends in order. A request the broker refuses as too large is bisected, on a fresh producer
   * (the refused partition's sequence numbers are spoiled), down to the offending message, which
   * is dead-lettered; parts of a refused request that landed on other partitions repeat.
   */
  private async publish(messages: Pending[]): Promise<void> {
    if (messages.length === 0) return;
    const producer = await this.connect();
    try {
      await producer.sendBatch({ acks: -1, topicMessages: this.group(messages) });
    } catch (err) {
      if (!isTooLarge(err)) throw err;
      await this.disconnect();
      if (messages.length === 1) {
        const m = messages[0]!;
        // Nowhere left to put it: stop here and retry (never skip silently).
        if (m.topic === TOPICS.deadLetter) throw err;
        const size = Buffer.byteLength(m.value);
        const letter = this.deadLetter(m.event, m.part, m.topic, 'too_large', `the broker refused the message of ${size} bytes: ${describe(err)}`, size);
        await this.publish([{ ...letter, event: m.event }]);
        return;
      }
      const half = Math.ceil(messages.length / 2);
      await this.publish(messages.slice(0, half));
      await this.publish(messages.slice(half));
      return;
    }
    this.current.published += messages.length;
    for (const m of messages) {
      if (m.topic !== TOPICS.deadLetter) continue;
      const key = `${m.eventId}#${m.part}`;
      if (this.deadLettered.has(key)) continue;
      if (this.deadLettered.size >= 10_000) this.deadLettered.clear();
      this.deadLettered.add(key);
      this.current.deadLettered++;
      const data = (JSON.parse(m.value) as Envelope).data as { reason: string; message: string; eventType: string };
      this.log(`kafka relay: dead-lettered ${data.eventType} ${m.eventId} at ${m.event.position} (${data.reason}: ${data.message.slice(0, 300)})`);
    }
  }

  private group(messages: readonly OutgoingMessage[]): TopicMessages[] {
    const byTopic = new Map<string, Message[]>();
    for (const m of messages) {
      const topic = this.topic(m.topic);
      let list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
      // Two small headers for routing without parsing (one shared object per type and version: kafkajs only reads them).
      list.push({ key: m.key, value: m.value, headers: headersFor(m.type, m.version) });
    }
    return [...byTopic].map(([topic, list]) => ({ topic, messages: list }));
  }

  private async connect(): Promise<Producer> {
    if (!this.topicsReady) {
      const admin: Admin = this.kafka.admin();
      try {
        await admin.connect();
        const wanted = Object.values(TOPICS).map((t) => this.topic(t));
        const existing = new Set(await admin.listTopics());
        const missing = wanted.filter((t) => !existing.has(t));
        if (missing.length > 0) {
          try {
            await admin.createTopics({
              waitForLeaders: true,
              topics: missing.map((topic) => ({ topic, numPartitions: this.options.config.partitions, replicationFactor: this.options.config.replicationFactor })),
            });
          } catch (err) {
            // Another instance may have created them meanwhile; only a topic still missing is an error.
            const still = new Set(await admin.listTopics());
            const failed = missing.filter((t) => !still.has(t));
            if (failed.length > 0) throw new Error(`cannot create topic(s) ${failed.join(', ')}: ${describe(err)}`);
          }
        }
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      this.topicsReady = true;
    }
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: cachedKeyPartitioner,
        retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
      });
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  /** A fresh producer (new producer id) after any failure: no stale sequence numbers survive an error. */
  private async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.topicsReady = false;
    await producer?.disconnect().catch(() => undefined);
  }

  /**
   * Takes or renews the lease and returns the checkpoint. While this instance renewed it less than
   * a third of the lease ago, nobody else can hold it: the checkpoint in memory is current and the
   * round trip is skipped (advance() still checks owner and checkpoint in the database).
   */
  private async acquire(): Promise<string | undefined> {
    if (this.current.checkpoint !== null && Date.now() - this.renewedAt < this.leaseMs / 3) return this.current.checkpoint;
    const renewing = Date.now();
    const checkpoint = await this.options.db.transaction(async (tx) => {
      await tx.query(`insert into projection_checkpoints (name, version, checkpoint) values ($1, 1, $2) on conflict (name) do nothing`, [
        RELAY_CHECKPOINT,
        formatPosition(START),
      ]);
      const r = await tx.query<{ checkpoint: string }>(
        `update projection_checkpoints set owner = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000)
         where name = $1 and (owner = $2 or owner is null or lease_until < now()) returning checkpoint`,
        [RELAY_CHECKPOINT, this.instanceId, this.leaseMs],
      );
      return r.rows[0]?.checkpoint;
    });
    this.renewedAt = checkpoint === undefined ? 0 : renewing;
    return checkpoint;
  }

  /** Moves the checkpoint only if this instance still owns it and nobody moved it meanwhile. */
  private async advance(from: string, to: string): Promise<void> {
    const renewing = Date.now();
    const r = await this.options.db.query(
      `update projection_checkpoints set checkpoint = $4, updated_at = now(), last_error = null,
         lease_until = now() + make_interval(secs => $3::double precision / 1000)
       where name = $1 and owner = $2 and checkpoint = $5`,
      [RELAY_CHECKPOINT, this.instanceId, this.leaseMs, to, from],
    );
    if (r.rowCount === 0) throw new LeaseLostError('lost the relay lease before the checkpoint moved; the new owner publishes the batch again');
    this.renewedAt = renewing;
    this.current.checkpoint = to;
  }

  /** at most once a second: a count over the log is not free */
  private async measureLag(checkpoint: string): Promise<void> {
    if (Date.now() - this.lastLagAt < 1000) return;
    this.lastLagAt = Date.now();
    const [tx, seq] = checkpoint.split('/');
    const r = await this.options.db.query<{ n: string }>(
      `select count(*)::text as n from (select 1 from events where (tx_id, position) > ($1::text::xid8, $2::bigint) and type = any($3::text[]) limit ${LAG_CAP}) s`,
      [tx, seq, [...RELAYED_EVENT_TYPES]],
    );
    this.current.lag = Number(r.rows[0]?.n ?? 0);
  }

  private async writeStatus(force: boolean): Promise<void> {
    if (!force && Date.now() - this.lastStatusWrite < 1000) return;
    this.lastStatusWrite = Date.now();
    const s = this.current;
    await this.options.db.query(
      `insert into relay_status (name, state, lag, checkpoint, last_error, failures, published, dead_lettered, instance_id, updated_at)
       values ('kafka', $1, $2, $3, $4, $5, $6, $7, $8, now())
       on conflict (name) do update set state = $1, lag = $2, checkpoint = $3, last_error = $4, failures = $5,
         published = $6, dead_lettered = $7, instance_id = $8, updated_at = now()
       where relay_status.instance_id = $8 or relay_status.updated_at < now() - interval '30 seconds' or $1 <> 'standby'`,
      [s.state, s.lag, s.checkpoint, s.lastError, s.failures, s.published, s.deadLettered, this.instanceId],
    );
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }
}

const headerObjects = new Map<string, IHeaders>();

function headersFor(type: string, version: number): IHeaders {
  const name = `${type}@${version}`;
  let headers = headerObjects.get(name);
  if (!headers) headerObjects.set(name, (headers = { type, version: String(version) }));
  return headers;
}

/**
 * kafkajs' default partitioner (murmur2 of the key, as in Java, so the key → partition mapping is
 * the documented one), remembered per key and partition count: the hash and the per-message
 * scan of the partition list were a tenth of the relay's CPU time. Unkeyed messages (none are
 * sent) fall through to the default partitioner.
 */
const cachedKeyPartitioner: ICustomPartitioner = () => {
  const partition = Partitioners.DefaultPartitioner();
  const byKey = new Map<string, number>();
  return (args) => {
    const { key } = args.message;
    if (typeof key !== 'string' || args.message.partition !== undefined) return partition(args);
    const name = `${args.partitionMetadata.length}:${key}`;
    let p = byKey.get(name);
    if (p === undefined) {
      p = partition(args);
      if (byKey.size >= 100_000) byKey.clear();
      byKey.set(name, p);
    }
    return p;
  };
};

function isTooLarge(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 5; depth++) {
    const type = (e as { type?: unknown }).type;
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
    e = (e as { originalError?: unknown; cause?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}

function describe(err: unknown): string {
  // kafkajs aggregates per-topic failures (e.g. topic creation): name each one.
  const errors = (err as { errors?: unknown }).errors;
  if (err instanceof Error && Array.isArray(errors) && errors.length > 0) {
    const details = [...new Set(errors.map((e) => (e instanceof Error ? e.message : String(e))))].slice(0, 3);
    return `${err.message}: ${details.join('; ')}`;
  }
  if (err instanceof Error) {
    const cause = (err as { originalError?: unknown; cause?: unknown }).originalError ?? err.cause;
    return cause instanceof Error && !err.message.includes(cause.message) ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
