import type { Event, NewEvent, Recorded } from './envelope.ts';

/**
 * Optimistic concurrency for an append:
 * - a bigint: the stream's last revision must be exactly this;
 * - 'no_stream': the stream must not exist yet;
 * - 'stream_exists': the stream must have at least one event;
 * - 'any': no check.
 */
export type ExpectedRevision = bigint | 'any' | 'no_stream' | 'stream_exists';

export interface AppendOptions {
  expectedRevision?: ExpectedRevision;
  actor: string;
  correlationId?: string;
  causationId?: string;
}

export interface AppendResult {
  /** revision of the last event now in the stream */
  readonly revision: bigint;
  /** global position of the last appended event */
  readonly position: string;
}

export interface ReadAllOptions {
  /** at most this many events (default 1000) */
  limit?: number;
  /** only these event types; the returned checkpoint still covers the skipped ones */
  types?: readonly string[];
}

export interface ReadAllResult {
  readonly events: Recorded[];
  /** resume after this checkpoint; it may be ahead of the last returned event */
  readonly checkpoint: string;
  /**
   * Committed events after the checkpoint were left out because an older transaction was still
   * open (PostgreSQL's xmin cut): reading again once that transaction ends returns them.
   */
  readonly heldBack?: boolean;
}

export interface SubscriptionOptions extends ReadAllOptions {
  /** called with each batch; the next batch is read only after it resolves (backpressure) */
  handler: (batch: ReadAllResult) => Promise<void>;
  /** how often to look for new events when no notification arrives (ms, default 250) */
  pollIntervalMs?: number;
  onError?: (error: unknown) => void;
}

export interface Subscription {
  /** resolves when the subscription has stopped */
  stop(): Promise<void>;
  readonly checkpoint: string;
}

/** Appends within one transaction: everything appended lands together or not at all. */
export interface Appender {
  append<E extends Event>(streamId: string, events: readonly NewEvent<E>[], options: AppendOptions): Promise<AppendResult>;
}

export interface EventStore extends Appender {
  /** Several appends, possibly to several streams, in one transaction. */
  transaction<T>(work: (appender: Appender) => Promise<T>): Promise<T>;
  readStream(streamId: string, options?: { fromRevision?: bigint; limit?: number }): Promise<Recorded[]>;
  /** revision of the stream's last event, or undefined when the stream does not exist */
  streamRevision(streamId: string): Promise<bigint | undefined>;
  readAll(after: string, options?: ReadAllOptions): Promise<ReadAllResult>;
  subscribe(after: string, options: SubscriptionOptions): Subscription;
  /** checkpoint that covers every event committed so far */
  head(): Promise<string>;
  /**
   * Position of the newest committed event, even one `readAll` does not hand out yet because an
   * older transaction is still open (PostgreSQL's snapshot-xmin cut). Tells "not readable yet"
   * from "never written". Backends without such a cut may omit it (then `head()` answers).
   */
  newestCommitted?(): Promise<string>;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | undefined,
  ) {
    super(
      `stream ${streamId}: expected ${describe(expected)}, but ${actual === undefined ? 'the stream does not exist' : `its revision is ${actual}`}`,
    );
    this.name = 'WrongExpectedRevisionError';
  }
}

export class IdempotencyConflictError extends Error {
  constructor(readonly eventIds: string[]) {
    super(`event ids ${eventIds.join(', ')} were already appended with different content or to another stream`);
    this.name = 'IdempotencyConflictError';
  }
}

function describe(expected: ExpectedRevision): string {
  return typeof expected === 'bigint' ? `revision ${expected}` : expected.replace('_', ' ');
}
