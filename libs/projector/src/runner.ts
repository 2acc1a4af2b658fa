import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { comparePositions, formatPosition, parsePosition, START, type EventStore, type LogPosition, type SqlDatabase, type SqlExecutor } from '@refinery/events';
import { setupCheckpoints, type CatchUp, type Projection } from './projection.ts';
import { CATCH_UP_PAGE, CatchUpPages } from './catch-up-pages.ts';
import { LogTail } from './tail.ts';

export interface ProjectionRunnerOptions {
  /** identifies this process in leases; random by default */
  instanceId?: string;
  /** a lease not renewed for this long can be taken over by another instance (ms) */
  leaseMs?: number;
  /** how often to look for new events without a notification (ms) */
  pollIntervalMs?: number;
  /** pause after a failed batch before retrying it (ms) */
  retryDelayMs?: number;
  /**
   * Let projections with a `catchUp` fold the log in memory when they start from an empty read
   * model (default true; false replays page by page with `apply`, as the equality specs compare)
   */
  catchUp?: boolean;
  /** events one catch-up folds at most (default CATCH_UP_MAX_EVENTS) */
  catchUpMaxEvents?: number;
  log?: (message: string) => void;
}

export interface ProjectionStatus {
  name: string;
  version: number;
  checkpoint: string;
  owner: string | null;
  /** some instance holds a live lease */
  active: boolean;
  /** this process holds it */
  ownedHere: boolean;
  lastError: string | null;
}

class LeaseLostError extends Error {}

/** how often a checkpoint that only skipped other event types is written (ms) */
const CHECKPOINT_ONLY_PERSIST_MS = 1000;
/** how old a read of the log tail may be when no append was announced since (ms) */
const TAIL_MAX_AGE_MS = 20;
const START_POSITION = formatPosition(START);
/**
 * Events one catch-up folds at most (it holds the read model in memory): a longer log is written
 * at that point and the rest replayed page by page.
 */
export const CATCH_UP_MAX_EVENTS = 3_000_000;

/**
 * Runs projections: one loop per projection, one active instance per projection across
 * processes (a lease in `projection_checkpoints`, renewed while working; the checkpoint row
 * is locked and its owner checked in every batch transaction, so a stale instance can never
 * commit after another took over).
 */
export class ProjectionRunner {
  readonly instanceId: string;
  private readonly events = new EventEmitter();
  private readonly loops = new Map<string, Promise<void>>();
  private readonly wakers = new Map<string, () => void>();
  private readonly rebuildRequests = new Set<string>();
  private readonly tail: LogTail;
  private readonly catchUpPages: CatchUpPages;
  /** checkpoints this process has reached, possibly ahead of the persisted ones */
  private readonly memory = new Map<string, string>();
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly retryMs: number;
  private readonly tailMaxAgeMs: number;
  private readonly useCatchUp: boolean;
  private readonly catchUpMax: number;
  private readonly log: (message: string) => void;

  constructor(
    private readonly db: SqlDatabase,
    private readonly store: EventStore & { onAppended?(listener: () => void): () => void },
    readonly projections: readonly Projection[],
    options: ProjectionRunnerOptions = {},
  ) {
    this.instanceId = options.instanceId ?? `projector-${randomUUID()}`;
    this.leaseMs = options.leaseMs ?? 5_000; // takeover within ~6 s, see docs/scaling.md
    this.pollMs = options.pollIntervalMs ?? 250;
    this.retryMs = options.retryDelayMs ?? 500;
    this.useCatchUp = options.catchUp ?? true;
    this.catchUpMax = options.catchUpMaxEvents ?? CATCH_UP_MAX_EVENTS;
    // Without an announced append the tail is re-read at most this often. On a server, events of
    // a transaction that commits while an older one is open become readable without a
    // notification, so look often; PGlite runs one transaction at a time and has no other
    // processes, so every append is announced and the poll is only a safety net.
    this.tailMaxAgeMs = db.dialect === 'pg' ? Math.min(TAIL_MAX_AGE_MS, this.pollMs) : this.pollMs;
    this.log = options.log ?? ((m) => console.error(m));
    this.events.setMaxListeners(0);
    this.tail = new LogTail(store);
    this.catchUpPages = new CatchUpPages(store);
    const names = new Set<string>();
    for (const p of projections) {
      if (names.has(p.name)) throw new Error(`projection ${p.name} registered twice`);
      names.add(p.name);
    }
  }

  /** creates checkpoint and read-model tables; safe to call from several processes */
  static async setup(db: SqlDatabase, projections: readonly Projection[]): Promise<void> {
    await setupCheckpoints(db, projections);
  }

  async start(): Promise<void> {
    await ProjectionRunner.setup(this.db, this.projections);
    this.unsubscribe = this.store.onAppended?.(() => {
      this.tail.invalidate();
      this.wakeAll();
    });
    for (const p of this.projections) this.loops.set(p.name, this.run(p));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.wakeAll();
    await Promise.all(this.loops.values());
    // Hand the leases back so another instance can take over at once.
    await this.db
      .query(`update projection_checkpoints set owner = null, lease_until = 'epoch' where owner = $1`, [this.instanceId])
      .catch(() => undefined);
  }

  /** Drops the read model and replays the log into it (in this process's loop). */
  async rebuild(name: string): Promise<void> {
    if (!this.projections.some((p) => p.name === name)) throw new Error(`unknown projection ${name}`);
    this.rebuildRequests.add(name);
    this.wakers.get(name)?.();
    await new Promise<void>((resolve) => {
      const check = () => {
        if (!this.rebuildRequests.has(name)) {
          this.events.off('rebuilt', check);
          resolve();
        }
      };
      this.events.on('rebuilt', check);
      check();
    });
  }

  /**
   * In-process view of how far each projection this process holds the lease of has read (at
   * least its persisted checkpoint); projections held elsewhere are absent.
   */
  localCheckpoints(): ReadonlyMap<string, string> {
    return this.memory;
  }

  /** notified whenever any projection committed a batch */
  onAdvanced(listener: () => void): () => void {
    this.events.on('advanced', listener);
    return () => this.events.off('advanced', listener);
  }

  private wakeAll(): void {
    for (const wake of this.wakers.values()) wake();
  }

  private async sleep(name: string, ms: number): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.set(name, done);
    });
    this.wakers.delete(name);
  }

  private async run(p: Projection): Promise<void> {
    /** how far this loop has read */
    let checkpoint: string | undefined;
    /** what the checkpoint row says (the fencing token of the next transaction) */
    let persisted: string | undefined;
    let persistedAt = 0;
    let leaseRenewedAt = 0;
    // While catching up, pages grow (fewer transactions per event); once caught up they shrink back.
    const baseLimit = p.batchSize ?? 200;
    const maxLimit = Math.max(baseLimit, Math.min(baseLimit * 10, 2000));
    let limit = baseLimit;
    while (!this.stopped) {
      try {
        if (checkpoint === undefined || Date.now() - leaseRenewedAt > this.leaseMs / 3) {
          const stored = await this.acquire(p);
          if (stored === undefined) {
            checkpoint = persisted = undefined;
            // Not ours: waiters must not take this process's view for the projection's.
            this.memory.delete(p.name);
            await this.sleep(p.name, Math.min(this.leaseMs / 3, 1000));
            continue;
          }
          // Renewing a lease this loop already held keeps its in-memory checkpoint and persist
          // timer: resetting them on every renewal meant that with short leases (renewal at least
          // once a second) a checkpoint-only advance was never persisted.
          if (checkpoint === undefined || stored !== persisted) {
            checkpoint = persisted = stored;
            persistedAt = Date.now();
          }
          leaseRenewedAt = Date.now();
          if (!this.memory.has(p.name)) this.memory.set(p.name, checkpoint);
        }
        if (this.rebuildRequests.has(p.name)) {
          checkpoint = persisted = await this.reset(p);
          this.memory.delete(p.name);
          this.rebuildRequests.delete(p.name);
          this.events.emit('rebuilt');
        }
        if (this.useCatchUp && p.catchUp && checkpoint === START_POSITION) {
          // An empty read model far behind the head: fold the log in memory, write it once.
          const reached = await this.catchUp(p, checkpoint);
          if (reached !== undefined) {
            checkpoint = persisted = reached;
            persistedAt = leaseRenewedAt = Date.now();
            this.memory.set(p.name, checkpoint);
            this.events.emit('advanced');
            if (this.db.dialect === 'pg') this.tail.invalidate();
            continue;
          }
        }
        await this.tail.ensureFresh(this.tailMaxAgeMs);
        const batch = this.tail.read(checkpoint, p.handles, limit) ?? (await this.store.readAll(checkpoint, { types: p.handles, limit }));
        limit = batch.events.length === limit ? Math.min(limit * 2, maxLimit) : baseLimit;
        const idle = batch.events.length === 0 && batch.checkpoint === checkpoint;
        const persistDue = Date.now() - persistedAt >= CHECKPOINT_ONLY_PERSIST_MS;
        if (idle && (checkpoint === persisted || !persistDue)) {
          await this.sleep(p.name, this.pollMs);
          continue;
        }
        if (batch.events.length === 0 && !persistDue) {
          // Only events of other types went by: nothing to write but the checkpoint. Keep it in
          // memory (in-process waiters see it) and persist it at most once a second, instead of a
          // transaction per projection per event on the log.
          checkpoint = batch.checkpoint;
          this.memory.set(p.name, checkpoint);
          this.events.emit('advanced');
          continue;
        }
        const from = persisted!;
        await this.db.transaction(async (tx) => {
          // Safe without a synchronous flush: rows and checkpoint commit together, so a crash
          // only means projecting the last batches again. (Never used for appends to the log.)
          await this.lockOwned(tx, p.name, from, tx.dialect === 'pg');
          if (batch.events.length) await p.apply(tx, batch.events);
          await tx.query(
            `update projection_checkpoints set checkpoint = $2, updated_at = now(), last_error = null,
               lease_until = now() + make_interval(secs => $3::double precision / 1000)
             where name = $1`,
            [p.name, batch.checkpoint, this.leaseMs],
          );
        });
        // Our commit may have been what kept other writers' events invisible (xmin): look again,
        // if the last read did leave events out — not after every commit: with a dozen
        // projections that was a dozen re-reads of the log per append.
        // (PGlite runs one transaction at a time, so nothing is ever held back there.)
        if (this.tail.heldBack) this.tail.invalidate();
        checkpoint = persisted = batch.checkpoint;
        persistedAt = leaseRenewedAt = Date.now();
        this.memory.set(p.name, checkpoint);
        this.events.emit('advanced');
        if (p.coalesceMs && batch.events.length < baseLimit && !this.stopped) await new Promise((resolve) => setTimeout(resolve, p.coalesceMs));
        // PGlite answers without real I/O: yield so a long catch-up does not starve the HTTP server.
        else await new Promise((resolve) => setImmediate(resolve));
      } catch (err) {
        checkpoint = undefined; // re-read it from the table: the batch did not commit
        if (err instanceof LeaseLostError) this.memory.delete(p.name);
        if (this.stopped) break;
        if (!(err instanceof LeaseLostError)) {
          const message = err instanceof Error ? err.message : String(err);
          this.log(`projection ${p.name}: batch failed, retrying: ${message}`);
          await this.db.query('update projection_checkpoints set last_error = $2 where name = $1', [p.name, message]).catch(() => undefined);
        }
        await this.sleep(p.name, this.retryMs);
      }
    }
  }

  /**
   * Folds the projection's events from `from` (the start) up to the head in memory and commits
   * the result with the checkpoint in one transaction; the lease is renewed while reading.
   * Returns the checkpoint reached, or undefined when there was nothing to read.
   */
  private async catchUp(p: Projection, from: string): Promise<string | undefined> {
    const head = parsePosition(await this.store.head());
    if (comparePositions(head, parsePosition(from)) <= 0) return undefined;
    const fold = p.catchUp!();
    if (fold.begin && this.db.dialect === 'pg') {
      // The fold writes while it reads: the final transaction is open from the start (the lease
      // is renewed through other connections; the checkpoint row is locked only at the end).
      return this.db.transaction(async (tx) => {
        await tx.query('set local synchronous_commit = off');
        const reached = await this.foldLog(p, fold, from, head, () => fold.begin!(tx));
        if (reached === from) return undefined;
        await this.commitFold(tx, p, fold, from, reached);
        return reached;
      });
    }
    const reached = await this.foldLog(p, fold, from, head);
    if (reached === from) return undefined;
    await this.db.transaction(async (tx) => {
      if (tx.dialect === 'pg') await tx.query('set local synchronous_commit = off');
      await this.commitFold(tx, p, fold, from, reached);
    });
    return reached;
  }

  /** Feeds the log from `from` up to `head` (or the catch-up limit) to the fold; returns the checkpoint reached. */
  private async foldLog(p: Projection, fold: CatchUp, from: string, head: LogPosition, begin?: () => Promise<void>): Promise<string> {
    const handled = new Set(p.handles);
    let checkpoint = from;
    let folded = 0;
    let begun = begin === undefined;
    let renewedAt = Date.now();
    // Projections catching up together read the log once (pages of every type, filtered here).
    this.catchUpPages.join(p.name);
    try {
      let next = this.catchUpPages.read(p.name, checkpoint);
      for (;;) {
        const batch = await next;
        const more = batch.events.length === CATCH_UP_PAGE && comparePositions(parsePosition(batch.checkpoint), head) < 0;
        // Ask for the next page while this one is folded.
        next = more ? this.catchUpPages.read(p.name, batch.checkpoint) : Promise.resolve({ events: [], checkpoint: batch.checkpoint });
        next.catch(() => undefined);
        const mine = batch.events.filter((e) => handled.has(e.type));
        if (mine.length && !begun) {
          await begin!();
          begun = true;
        }
        if (mine.length) fold.add(mine);
        folded += mine.length;
        checkpoint = batch.checkpoint;
        if (!more || folded >= this.catchUpMax) break;
        if (this.stopped) throw new LeaseLostError(`projection ${p.name}: stopped while catching up`);
        if (Date.now() - renewedAt > this.leaseMs / 3) {
          const r = await this.db.query(
            `update projection_checkpoints set lease_until = now() + make_interval(secs => $4::double precision / 1000)
             where name = $1 and owner = $2 and checkpoint = $3`,
            [p.name, this.instanceId, from, this.leaseMs],
          );
          if (!r.rowCount) throw new LeaseLostError(`lease on ${p.name} lost`);
          renewedAt = Date.now();
        }
        // Let the other loops (and an HTTP server on PGlite) run between pages.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.catchUpPages.leave(p.name);
    }
    return checkpoint;
  }

  /** Writes the folded read model and the checkpoint, fenced on owner and start checkpoint. */
  private async commitFold(tx: SqlExecutor, p: Projection, fold: CatchUp, from: string, checkpoint: string): Promise<void> {
    await this.lockOwned(tx, p.name, from);
    await fold.finish(tx);
    await tx.query(
      `update projection_checkpoints set checkpoint = $2, updated_at = now(), last_error = null,
         lease_until = now() + make_interval(secs => $3::double precision / 1000)
       where name = $1`,
      [p.name, checkpoint, this.leaseMs],
    );
  }

  /** Takes or renews the lease; returns the checkpoint, or undefined when another instance holds it. */
  private async acquire(p: Projection): Promise<string | undefined> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `insert into projection_checkpoints (name, version, checkpoint) values ($1, $2, $3) on conflict (name) do nothing`,
        [p.name, p.version, formatPosition(START)],
      );
      const r = await tx.query<{ checkpoint: string; version: number }>(
        `update projection_checkpoints
           set owner = $2, lease_until = now() + make_interval(secs => $3::double precision / 1000)
         where name = $1 and (owner = $2 or owner is null or lease_until < now())
         returning checkpoint, version`,
        [p.name, this.instanceId, this.leaseMs],
      );
      const row = r.rows[0];
      if (!row) return undefined;
      if (row.version !== p.version) {
        this.log(`projection ${p.name}: code version ${p.version} differs from the stored ${row.version}; rebuilding`);
        return this.resetIn(tx, p);
      }
      return row.checkpoint;
    });
  }

  private async reset(p: Projection): Promise<string> {
    return this.db.transaction(async (tx) => {
      await this.lockOwned(tx, p.name);
      return this.resetIn(tx, p);
    });
  }

  private async resetIn(tx: SqlExecutor, p: Projection): Promise<string> {
    await p.reset(tx);
    const start = formatPosition(START);
    await tx.query(`update projection_checkpoints set checkpoint = $2, version = $3, updated_at = now() where name = $1`, [
      p.name,
      start,
      p.version,
    ]);
    return start;
  }

  /** `asyncCommit`: also `set local synchronous_commit = off` (in the same statement: one round trip less per batch) */
  private async lockOwned(tx: SqlExecutor, name: string, expectedCheckpoint?: string, asyncCommit = false): Promise<void> {
    const r = await tx.query<{ owner: string | null; checkpoint: string }>(
      asyncCommit
        ? `select owner, checkpoint, set_config('synchronous_commit', 'off', true) from projection_checkpoints where name = $1 for update`
        : 'select owner, checkpoint from projection_checkpoints where name = $1 for update',
      [name],
    );
    const row = r.rows[0];
    if (!row || row.owner !== this.instanceId || (expectedCheckpoint !== undefined && row.checkpoint !== expectedCheckpoint)) {
      throw new LeaseLostError(`lease on ${name} lost`);
    }
  }

  async status(): Promise<ProjectionStatus[]> {
    return projectionStatus(this.db, this.projections, this.instanceId);
  }
}

export async function projectionStatus(db: SqlExecutor, projections: readonly Projection[], instanceId?: string): Promise<ProjectionStatus[]> {
  const r = await db.query<{ name: string; version: number; checkpoint: string; owner: string | null; active: boolean; last_error: string | null }>(
    `select name, version, checkpoint, owner, lease_until > now() as active, last_error from projection_checkpoints`,
  );
  const byName = new Map(r.rows.map((row) => [row.name, row]));
  return projections.map((p) => {
    const row = byName.get(p.name);
    return {
      name: p.name,
      version: row?.version ?? p.version,
      checkpoint: row?.checkpoint ?? formatPosition(START),
      owner: row?.owner ?? null,
      active: Boolean(row?.active) && row?.owner !== null,
      ownedHere: instanceId !== undefined && row?.owner === instanceId,
      lastError: row?.last_error ?? null,
    };
  });
}
