import { randomUUID } from 'node:crypto';
import { formatPosition, START, type EventStore, type Recorded, type SqlDatabase, type SqlExecutor } from '@refinery/events';
import { setupCheckpoints } from './projection.ts';
import type { ProjectionRunnerOptions } from './runner.ts';

/**
 * A reactor does work in response to events and appends the outcome to the log (a heuristic run,
 * weak supervision, ...). Unlike a projection its work is long and must not hold a database
 * transaction (PGlite has a single connection), so the `ReactorRunner`:
 *
 * 1. reads a batch of the events it handles after its checkpoint (`projection_checkpoints`,
 *    under the name `reactor:<name>`, with the same lease as projections: one active instance);
 * 2. calls `handle` for each event, up to `concurrency` at a time, OUTSIDE any transaction;
 * 3. then moves the checkpoint past the batch (checking it still owns the lease).
 *
 * A crash between 2 and 3 hands the same events to `handle` again: handlers must be idempotent
 * (append with deterministic event ids, and look at the log for an outcome already recorded).
 * The lease is renewed by a timer while handlers work.
 */
export interface Reactor {
  readonly name: string;
  readonly handles: readonly string[];
  /** events handled at once (default 1) */
  readonly concurrency?: number;
  setup?(sql: SqlExecutor): Promise<void>;
  handle(event: Recorded, signal: ReactorSignal): Promise<void>;
}

export interface ReactorSignal {
  /** true once the runner is stopping (or lost its lease): give up at the next safe point */
  readonly stopped: boolean;
}

/** the same knobs as the projection runner (retries default to 1 s: reactors do heavier work) */
export type ReactorRunnerOptions = ProjectionRunnerOptions;

export class ReactorRunner {
  readonly instanceId: string;
  private readonly loops: Promise<void>[] = [];
  private readonly wakers = new Set<() => void>();
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly retryMs: number;
  private readonly log: (message: string) => void;

  constructor(
    private readonly db: SqlDatabase,
    private readonly store: EventStore & { onAppended?(listener: () => void): () => void },
    readonly reactors: readonly Reactor[],
    options: ReactorRunnerOptions = {},
  ) {
    this.instanceId = options.instanceId ?? `reactor-${randomUUID()}`;
    this.leaseMs = options.leaseMs ?? 5_000; // takeover within ~6 s, see docs/scaling.md
    this.pollMs = options.pollIntervalMs ?? 250;
    this.retryMs = options.retryDelayMs ?? 1000;
    this.log = options.log ?? ((m) => console.error(m));
  }

  async start(): Promise<void> {
    await setupCheckpoints(this.db, this.reactors);
    this.unsubscribe = this.store.onAppended?.(() => this.wakeAll());
    for (const r of this.reactors) this.loops.push(this.run(r));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.wakeAll();
    await Promise.all(this.loops);
    await this.db
      .query(`update projection_checkpoints set owner = null, lease_until = 'epoch' where owner = $1`, [this.instanceId])
      .catch(() => undefined);
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private async run(r: Reactor): Promise<void> {
    const name = `reactor:${r.name}`;
    const concurrency = Math.max(1, r.concurrency ?? 1);
    while (!this.stopped) {
      try {
        const checkpoint = await this.acquire(name);
        if (checkpoint === undefined) {
          await this.sleep(Math.min(this.leaseMs / 3, 1000));
          continue;
        }
        const batch = await this.store.readAll(checkpoint, { types: r.handles, limit: Math.max(concurrency, 16) });
        if (batch.events.length === 0 && batch.checkpoint === checkpoint) {
          await this.sleep(this.pollMs);
          continue;
        }
        const signal = { stopped: false };
        const renew = setInterval(() => {
          void this.renew(name).then((ok) => {
            if (!ok) signal.stopped = true;
          });
        }, Math.max(100, this.leaseMs / 3));
        const stopWatch = setInterval(() => {
          if (this.stopped) signal.stopped = true;
        }, 50);
        try {
          let next = 0;
          const worker = async () => {
            while (next < batch.events.length && !signal.stopped) {
              const event = batch.events[next++]!;
              await r.handle(event, signal);
            }
          };
          await Promise.all(Array.from({ length: Math.min(concurrency, batch.events.length) }, worker));
        } finally {
          clearInterval(renew);
          clearInterval(stopWatch);
        }
        if (signal.stopped) continue; // not finished: the next owner (or start) handles the batch again
        await this.advance(name, checkpoint, batch.checkpoint);
      } catch (err) {
        if (this.stopped) break;
        this.log(`reactor ${r.name}: failed, retrying: ${err instanceof Error ? err.message : String(err)}`);
        await this.db.query('update projection_checkpoints set last_error = $2 where name = $1', [name, String(err)]).catch(() => undefined);
        await this.sleep(this.retryMs);
      }
    }
  }

  private async acquire(name: string): Promise<string | undefined> {
    return this.db.transaction(async (tx) => {
      await tx.query(`insert into projection_checkpoints (name, version, checkpoint) values ($1, 1, $2) on conflict (name) do nothing`, [name, formatPosition(START)]);
      const r = await tx.query<{ checkpoint: string }>(
        `update projection_checkpoints set owner = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000)
         where name = $1 and (owner = $2 or owner is null or lease_until < now()) returning checkpoint`,
        [name, this.instanceId, this.leaseMs],
      );
      return r.rows[0]?.checkpoint;
    });
  }

  private async renew(name: string): Promise<boolean> {
    const r = await this.db
      .query(`update projection_checkpoints set lease_until = now() + make_interval(secs => $3::double precision / 1000) where name = $1 and owner = $2`, [
        name,
        this.instanceId,
        this.leaseMs,
      ])
      .catch(() => ({ rowCount: 1 }));
    return r.rowCount > 0;
  }

  private async advance(name: string, from: string, to: string): Promise<void> {
    const r = await this.db.query(
      `update projection_checkpoints set checkpoint = $4, updated_at = now(), last_error = null,
         lease_until = now() + make_interval(secs => $3::double precision / 1000)
       where name = $1 and owner = $2 and checkpoint = $5`,
      [name, this.instanceId, this.leaseMs, to, from],
    );
    if (r.rowCount === 0) this.log(`reactor ${name}: lease lost before the checkpoint moved; another instance repeats the batch`);
  }
}
