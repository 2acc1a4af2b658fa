import { comparePositions, parsePosition, type EventStore, type LogPosition, type ReadAllResult } from '@refinery/events';

/** events per page while projections fold the log in memory */
export const CATCH_UP_PAGE = 5000;
/** pages kept for slower readers; the reader in front waits rather than run further ahead */
const MAX_PAGES = 8;

interface Page {
  result: Promise<ReadAllResult>;
  /** readers active when it was read that have not taken it yet */
  waiting: Set<string>;
}

/**
 * The log read once for every projection of this process that is catching up at the same time
 * (a rebuild of several read models): pages of the whole log, unfiltered so that every reader
 * sees the same page boundaries, handed to each reader and dropped once all took them. Reading
 * and decoding the events is most of a catch-up's cost, and the readers share one thread.
 */
export class CatchUpPages {
  private readonly pages = new Map<string, Page>();
  private readonly active = new Set<string>();
  /** the furthest position a shared page starts or ends at: requests behind it read alone */
  private furthest: LogPosition | undefined;
  private waiters: (() => void)[] = [];

  constructor(private readonly store: Pick<EventStore, 'readAll'>) {}

  join(reader: string): void {
    this.active.add(reader);
  }

  leave(reader: string): void {
    this.active.delete(reader);
    for (const [key, page] of this.pages) {
      page.waiting.delete(reader);
      if (page.waiting.size === 0) this.pages.delete(key);
    }
    if (this.active.size === 0) {
      this.pages.clear();
      this.furthest = undefined;
    }
    this.wake();
  }

  /** The page of the log after `after` (every type; the caller filters). */
  async read(reader: string, after: string): Promise<ReadAllResult> {
    for (;;) {
      const page = this.pages.get(after);
      if (page) {
        page.waiting.delete(reader);
        if (page.waiting.size === 0) {
          this.pages.delete(after);
          this.wake();
        }
        return page.result;
      }
      // Behind the shared pages (joined late, or they were dropped): read alone.
      if (this.furthest && comparePositions(parsePosition(after), this.furthest) < 0) return this.store.readAll(after, { limit: CATCH_UP_PAGE });
      if (this.pages.size < MAX_PAGES) break;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const waiting = new Set([...this.active].filter((r) => r !== reader));
    const result = this.store.readAll(after, { limit: CATCH_UP_PAGE });
    if (waiting.size === 0) return result;
    this.pages.set(after, { result, waiting });
    this.advance(after);
    result.then(
      (r) => this.advance(r.checkpoint),
      () => {
        this.pages.delete(after);
        this.wake();
      },
    );
    return result;
  }

  private advance(position: string): void {
    const p = parsePosition(position);
    if (!this.furthest || comparePositions(p, this.furthest) > 0) this.furthest = p;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
