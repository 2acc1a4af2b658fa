import { comparePositions, parsePosition, type EventStore, type LogPosition, type ReadAllResult, type Recorded } from '@refinery/events';

interface Buffered {
  event: Recorded;
  position: LogPosition;
  weight: number;
}

/**
 * Roughly how much memory an event holds: batch events (a thousand imported records, a run's
 * votes) count by the length of their largest array, others as one.
 */
function weightOf(event: Recorded): number {
  let weight = 1;
  const data = event.data as Record<string, unknown> | null;
  if (data && typeof data === 'object') {
    for (const value of Object.values(data)) if (Array.isArray(value) && value.length > weight) weight = value.length;
  }
  return weight;
}

/**
 * The recent end of the log, read once for all projections of a process. Without it every
 * projection loop re-read the log on every append (a dozen readers for one event); with it one
 * reader fetches new events and each projection filters them in memory. Projections further
 * behind than the buffer read the store directly.
 */
export class LogTail {
  private buffer: Buffered[] = [];
  private weight = 0;
  /** every event after `start` up to `head` is in the buffer */
  private start: LogPosition | undefined;
  private head: string | undefined;
  private refreshing: Promise<void> | undefined;
  /** bumped whenever something may have become readable (an append, a commit moving xmin) */
  private generation = 0;
  /** the generation the in-flight read started at */
  private refreshingGeneration = -1;
  /** the generation and time (performance.now) at which the last completed read started */
  private readGeneration = -1;
  private readAt = -Infinity;
  /** the last read left committed events out (xmin cut): a commit of ours may release them */
  private heldBackSeen = false;

  constructor(
    private readonly store: Pick<EventStore, 'readAll' | 'head'>,
    /** total weight kept (see weightOf): about 20k small events or 20 batches of 1,000 records */
    private readonly capacity = 20_000,
    private readonly pageSize = 1000,
  ) {}

  /** Reads what was appended since the last refresh; concurrent callers share one read. */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      const generation = (this.refreshingGeneration = this.generation);
      const startedAt = performance.now();
      this.refreshing = this.doRefresh()
        .then(() => {
          this.readGeneration = generation;
          this.readAt = startedAt;
        })
        .finally(() => {
          this.refreshing = undefined;
        });
    }
    return this.refreshing;
  }

  /** The last read left committed events out behind an older open transaction. */
  get heldBack(): boolean {
    return this.heldBackSeen;
  }

  /** Something may have become readable since the last read: the next `ensureFresh` reads. */
  invalidate(): void {
    this.generation++;
  }

  /**
   * Reads unless the last read started after the latest `invalidate` and less than `maxAgeMs`
   * ago. A dozen projection loops waking for one append then cause one read, not one each, and
   * a read already in flight when an append is announced is followed by another (so the
   * append is never missed until the next poll).
   */
  ensureFresh(maxAgeMs: number): Promise<void> {
    const wanted = this.generation;
    if (this.refreshing) {
      if (this.refreshingGeneration >= wanted) return this.refreshing;
      return this.refreshing.then(
        () => this.ensureFresh(maxAgeMs),
        () => this.ensureFresh(maxAgeMs),
      );
    }
    if (this.readGeneration >= wanted && performance.now() - this.readAt < maxAgeMs) return Promise.resolve();
    return this.refresh();
  }

  private async doRefresh(): Promise<void> {
    if (this.head === undefined) {
      this.head = await this.store.head();
      this.start = parsePosition(this.head);
      return;
    }
    for (let page = 0; page < 20; page++) {
      const r: ReadAllResult = await this.store.readAll(this.head, { limit: this.pageSize });
      for (const event of r.events) {
        const weight = weightOf(event);
        this.buffer.push({ event, position: parsePosition(event.position), weight });
        this.weight += weight;
      }
      this.head = r.checkpoint;
      this.heldBackSeen = r.heldBack === true;
      if (r.events.length < this.pageSize) break;
    }
    let drop = 0;
    while (this.weight > this.capacity && drop < this.buffer.length) this.weight -= this.buffer[drop++]!.weight;
    if (drop > 0) this.start = this.buffer.splice(0, drop)[drop - 1]!.position;
  }

  /**
   * Events after `after` of the given types, like `EventStore.readAll`, or undefined when the
   * buffer does not reach back that far.
   */
  read(after: string, types: readonly string[], limit: number): ReadAllResult | undefined {
    if (this.start === undefined || this.head === undefined) return undefined;
    const from = parsePosition(after);
    if (comparePositions(from, this.start) < 0) return undefined;
    let lo = 0;
    let hi = this.buffer.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (comparePositions(this.buffer[mid]!.position, from) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const wanted = new Set(types);
    const events: Recorded[] = [];
    for (let i = lo; i < this.buffer.length && events.length < limit; i++) {
      const e = this.buffer[i]!.event;
      if (wanted.has(e.type)) events.push(e);
    }
    if (events.length === limit) return { events, checkpoint: events[events.length - 1]!.position };
    const head = parsePosition(this.head);
    return { events, checkpoint: comparePositions(head, from) > 0 ? this.head : after };
  }
}
