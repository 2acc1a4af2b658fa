/** A domain event: plain readonly data, named in the past tense after its subject. */
export type Event<T extends string = string, D = unknown> = Readonly<{ type: T; data: D }>;

export interface EventMeta {
  /** Who caused the event: a user id, `system`, or a worker name. */
  readonly actor: string;
  /** ISO-8601 time the event was recorded (from the injected clock). */
  readonly at: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  /** Schema version of `data` as written; reads upcast it to the current version. */
  readonly schema: number;
}

export type Recorded<E extends Event = Event> = E &
  Readonly<{
    /** uuid; also the idempotency key of the append */
    id: string;
    /** "<kind>:<id>", e.g. "project:<projectId>" */
    streamId: string;
    /** position in its stream, from 0 */
    revision: bigint;
    /** opaque global checkpoint, see checkpoint.ts */
    position: string;
    meta: EventMeta;
  }>;

/** An event handed to `append`: the store adds id (unless given), stream, revision, position and meta. */
export interface NewEvent<E extends Event = Event> {
  readonly type: E['type'];
  readonly data: E['data'];
  readonly id?: string;
}
