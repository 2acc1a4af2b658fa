import { comparePositions, hasReached, parsePosition, type SqlExecutor } from '@refinery/events';

export interface CatchUpResult {
  caughtUp: boolean;
  /** the lowest checkpoint among the awaited projections */
  checkpoints: Record<string, string>;
}

/** how often the table is looked at while the local runner holds every awaited projection */
const HELD_LOCALLY_POLL_MS = 1000;

/**
 * Read-your-writes: waits until the named projections have passed a log position. Works
 * across processes (it reads the checkpoint table); `wake` lets an in-process runner cut
 * the polling delay.
 */
export class CatchUpWaiter {
  constructor(
    private readonly db: SqlExecutor,
    private readonly subscribeAdvanced?: (listener: () => void) => () => void,
    private readonly pollMs = 50,
    /** an in-process runner's checkpoints, which may be ahead of the table */
    private readonly localCheckpoints?: () => ReadonlyMap<string, string>,
  ) {}

  async waitFor(position: string, projections: readonly string[], timeoutMs: number): Promise<CatchUpResult> {
    parsePosition(position); // throws InvalidPositionError on garbage
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | undefined;
    const unsubscribe = this.subscribeAdvanced?.(() => wake?.());
    try {
      // The table is read when the local runner has not got there, then at most every pollMs. In
      // between, a wake-up from this process's runner (a dozen per append, one per projection) is
      // answered from its checkpoints in memory: re-reading the table for each cost a query per wake.
      let known: Record<string, string> | undefined;
      let askedAt = 0;
      for (;;) {
        // This process's runner having passed the position is enough (it commits before it
        // moves): the common in-process case needs no query at all.
        const local = this.locallyReached(position, projections);
        if (local) return { caughtUp: true, checkpoints: local };
        // The local runner holds all of them (it lists only projections it holds the lease of):
        // its wake-ups answer the wait, and the table it writes has nothing newer — look at the
        // table only now and then, should the lease move. (Under load, every waiting request
        // polling the table had cost several queries per label.)
        const held = this.heldLocally(projections);
        if (known === undefined && held) {
          known = held;
          askedAt = Date.now();
        }
        if (known === undefined || Date.now() - askedAt >= (held ? HELD_LOCALLY_POLL_MS : this.pollMs)) {
          askedAt = Date.now();
          known = await this.checkpoints(projections);
        }
        const checkpoints = known;
        const caughtUp = projections.every((name) => checkpoints[name] !== undefined && hasReached(checkpoints[name]!, position));
        const left = deadline - Date.now();
        if (caughtUp || left <= 0) return { caughtUp, checkpoints };
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(this.pollMs, left));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      unsubscribe?.();
    }
  }

  /** The local runner's checkpoints of these projections, when it holds every one of them. */
  private heldLocally(names: readonly string[]): Record<string, string> | undefined {
    const local = this.localCheckpoints?.();
    if (!local || !names.every((n) => local.has(n))) return undefined;
    return Object.fromEntries(names.map((n) => [n, local.get(n)!]));
  }

  /** This process's runner has passed the position for all of them. */
  private locallyReached(position: string, names: readonly string[]): Record<string, string> | undefined {
    const local = this.localCheckpoints?.();
    if (!local) return undefined;
    const reached: Record<string, string> = {};
    for (const name of names) {
      const mine = local.get(name);
      if (mine === undefined || !hasReached(mine, position)) return undefined;
      reached[name] = mine;
    }
    return reached;
  }

  private async checkpoints(names: readonly string[]): Promise<Record<string, string>> {
    const r = await this.db.query<{ name: string; checkpoint: string }>(
      'select name, checkpoint from projection_checkpoints where name in (select jsonb_array_elements_text($1::jsonb))',
      [JSON.stringify(names)],
    );
    const result: Record<string, string> = Object.fromEntries(r.rows.map((row) => [row.name, row.checkpoint]));
    const local = this.localCheckpoints?.();
    for (const name of names) {
      const mine = local?.get(name);
      const stored = result[name];
      if (mine && (!stored || comparePositions(parsePosition(mine), parsePosition(stored)) > 0)) result[name] = mine;
    }
    return result;
  }
}
