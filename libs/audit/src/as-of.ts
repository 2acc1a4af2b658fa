import { randomBytes } from 'node:crypto';
import {
  comparePositions,
  formatPosition,
  isPosition,
  migrateEventStore,
  openPglite,
  parsePosition,
  projectStreamId,
  SqlArtifactStore,
  START,
  type ArtifactStore,
  type EventStore,
  type LogPosition,
  type Recorded,
  type SqlDatabase,
  type SqlExecutor,
} from '@refinery/events';
import { setupCheckpoints, type CatchUp, type Projection } from '@refinery/projector';
import { allProjections } from '@refinery/read-models';
import { BeforeProjectError, InvalidAsOfPointError, PositionBeyondEndError, ProjectNotInLogError } from './errors.ts';
import { artifactReferences, eventAt, readRawEvents, toRecorded } from './log.ts';

export interface AsOfPoint {
  /** ISO 8601; the view holds every event recorded at or before it */
  time?: string;
  /** a log checkpoint (`<tx>/<seq>`, as returned by commands); the view holds every event up to and including it */
  position?: string;
}

export interface AsOfView {
  /** a disposable database with every read model as of the point (in memory, or a schema of its own on a server); read-only use */
  db: SqlDatabase;
  /** the resolved position: the last event included */
  position: string;
  /** the requested time, or the time of the last included event for a position */
  time: string;
  /** releases the view (it stays cached for other callers until evicted) */
  close(): Promise<void>;
}

export interface AsOfSource {
  store: EventStore;
  /** the database holding the log (read directly with a project filter) */
  db: SqlDatabase;
  artifacts: Pick<ArtifactStore, 'get'>;
}

export interface AsOfOptions {
  /** read models to build (default: every read model of the product, `allProjections`) */
  projections?: readonly Projection[];
  /** called after each applied page with the number of events applied so far */
  onProgress?(n: number): void;
  /** fold the read models that can in memory and write them once (default true; see Projection.catchUp) */
  catchUp?: boolean;
}

export interface ResolvedPoint {
  position: string;
  time: string;
  /** the project's first event */
  created: { position: string; time: string };
}

/** events per page read from the log and applied in one transaction of the view */
const PAGE = 5000;
/** views kept open per log (each is an in-memory database; see docs/audit.md) */
export const AS_OF_CACHE_SIZE = 3;

/**
 * Validates the point and turns it into a position of the log: a time becomes the last event
 * recorded at or before it (binary search over the log's sequence, whose `meta.at` grows with it).
 */
export async function resolveAsOfPoint(source: Pick<AsOfSource, 'store' | 'db'>, projectId: string, point: AsOfPoint): Promise<ResolvedPoint> {
  const hasTime = point.time !== undefined && point.time !== '';
  const hasPosition = point.position !== undefined && point.position !== '';
  if (hasTime === hasPosition) throw new InvalidAsOfPointError('give exactly one of time (ISO 8601) and position (a log checkpoint "<tx>/<seq>")', { ...point });
  let time: Date | undefined;
  if (hasTime) {
    time = new Date(point.time!);
    if (!/^\d{4}-\d{2}-\d{2}(T|$)/.test(point.time!) || Number.isNaN(time.getTime())) {
      throw new InvalidAsOfPointError(`time "${point.time}" is not an ISO 8601 date or date-time, e.g. 2026-11-27T10:00:00Z`, { time: point.time });
    }
  } else if (!isPosition(point.position!)) {
    throw new InvalidAsOfPointError(`position "${point.position}" is not a log position; expected "<transaction>/<sequence>" as returned by a command`, { position: point.position });
  }

  const [first] = await source.store.readStream(projectStreamId(projectId), { limit: 1 });
  if (!first) throw new ProjectNotInLogError(projectId);
  const created = { position: first.position, time: first.meta.at };
  const head = parsePosition(await source.store.head());

  if (hasPosition) {
    const wanted = parsePosition(point.position!);
    if (comparePositions(wanted, head) > 0) throw new PositionBeyondEndError(point.position!, formatPosition(head));
    if (comparePositions(wanted, parsePosition(created.position)) < 0) throw new BeforeProjectError(projectId, { position: point.position! }, created);
    const at = await eventAt(source.db, wanted.seq, 'upTo');
    return { position: formatPosition(wanted), time: at?.at ?? created.time, created };
  }

  const iso = time!.toISOString();
  if (iso < created.time) throw new BeforeProjectError(projectId, { time: point.time! }, created);
  const found = await lastEventAtOrBefore(source.db, iso, head);
  const position = found && comparePositions(found, parsePosition(created.position)) >= 0 ? found : parsePosition(created.position);
  return { position: formatPosition(position), time: iso, created };
}

async function lastEventAtOrBefore(db: SqlDatabase, iso: string, head: LogPosition): Promise<LogPosition | undefined> {
  const first = await eventAt(db, 0n, 'from');
  if (!first || first.at > iso) return undefined;
  let lo = first.position.seq;
  let hi = head.seq;
  // ~20 indexed probes for a million events, instead of scanning meta->>'at'
  while (lo < hi) {
    const mid = lo + (hi - lo + 1n) / 2n;
    const e = await eventAt(db, mid, 'from');
    if (e && e.at <= iso && e.position.seq <= hi) lo = e.position.seq;
    else hi = mid - 1n;
  }
  const found = await eventAt(db, lo, 'upTo');
  if (!found) return undefined;
  return comparePositions(found.position, head) > 0 ? head : found.position;
}

/**
 * Replays the project's events (and the global account events the read models need) up to the
 * point into a fresh in-memory PGlite with every read model, and returns it. Views are cached per
 * log by project and resolved position (the state at a position never changes: the log is
 * append-only and the position is below the head), least recently used first out.
 */
export async function openAsOf(source: AsOfSource, projectId: string, point: AsOfPoint, options: AsOfOptions = {}): Promise<AsOfView> {
  const resolved = await resolveAsOfPoint(source, projectId, point);
  const projections = options.projections ?? allProjections;
  const key = `${projectId}@${resolved.position}@${projections.map((p) => `${p.name}:${p.version}`).join(',')}${options.catchUp === false ? '@paged' : ''}`;
  const cache = cacheOf(source.store);
  let entry = cache.get(key);
  if (!entry) {
    entry = { refs: 0, evicted: false, db: buildView(source, projectId, resolved.position, projections, options.onProgress, options.catchUp) };
    cache.set(key, entry);
    // A failed build is not cached.
    entry.db.catch(() => cache.delete(key, entry!));
  } else {
    cache.touch(key);
  }
  entry.refs++;
  let db: SqlDatabase;
  try {
    db = await entry.db;
  } catch (err) {
    entry.refs--;
    throw err;
  }
  const held = entry;
  let released = false;
  return {
    db,
    position: resolved.position,
    time: point.time ? new Date(point.time).toISOString() : resolved.time,
    async close() {
      if (released) return;
      released = true;
      held.refs--;
      if (held.evicted && held.refs === 0) await db.close();
    },
  };
}

/** Closes every cached view of this log (call on shutdown; views still held close when released). */
export async function closeAsOfViews(store: EventStore): Promise<void> {
  const cache = caches.get(store);
  if (cache) await cache.clear();
}

async function buildView(
  source: AsOfSource,
  projectId: string,
  until: string,
  projections: readonly Projection[],
  onProgress?: (n: number) => void,
  catchUp?: boolean,
): Promise<SqlDatabase> {
  const view = await openViewDatabase(source.db);
  try {
    await migrateEventStore(view);
    await setupCheckpoints(view, projections);
    await replayInto(view, source, projectId, until, projections, { ...(onProgress ? { onProgress } : {}), catchUp: catchUp !== false });
    // The view says how far each read model got, like the live database does.
    for (const p of projections) {
      await view.query(`insert into projection_checkpoints (name, version, checkpoint) values ($1, $2, $3) on conflict (name) do update set checkpoint = excluded.checkpoint`, [
        p.name,
        p.version,
        until,
      ]);
    }
    return view;
  } catch (err) {
    await view.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Where a view lives: with an embedded log, a fresh in-memory PGlite; on a PostgreSQL server, a
 * schema of its own in the log's database (`asof_<random>`, dropped when the view is closed),
 * seen through `search_path`. Measured on a 1M-event log: PGlite grew slower as the view grew
 * (writing 0.8M label rows and their indexes took 70+ s of a view's time); the server writes them
 * in a fraction of that, and in parallel with the process reading the log.
 */
async function openViewDatabase(source: SqlDatabase): Promise<SqlDatabase> {
  if (source.dialect !== 'pg') return openPglite();
  const schema = `asof_${randomBytes(8).toString('hex')}`;
  await source.exec(`create schema ${schema}`);
  // The view's tables come first; public stays on the path for extensions' types and functions.
  const scoped = async <T>(work: (tx: SqlExecutor) => Promise<T>) =>
    source.transaction(async (tx) => {
      await tx.exec(`set local search_path to ${schema}, public`);
      return work(tx);
    });
  let closed = false;
  return {
    dialect: source.dialect,
    query: (sql, params) => scoped((tx) => tx.query(sql, params)),
    exec: (sql) => scoped((tx) => tx.exec(sql)),
    transaction: (work) => scoped(work),
    copyFrom: (sql, data) => scoped((tx) => tx.copyFrom(sql, data)),
    listen: () => Promise.reject(new Error('an as-of view is read-only: nothing to listen to')),
    async close() {
      if (closed) return;
      closed = true;
      await source.exec(`drop schema if exists ${schema} cascade`);
    },
  };
}

/**
 * Applies the project's events up to `until` to the projections' tables in `target`, one
 * transaction per page; each projection gets the page's events of the types it handles, in log
 * order. Artifacts the events name are copied first (projections read them from `target`).
 */
export async function replayInto(
  target: SqlDatabase,
  source: Pick<AsOfSource, 'db' | 'artifacts'>,
  projectId: string | undefined,
  until: string,
  projections: readonly Projection[],
  options: {
    onProgress?: (n: number) => void;
    /** the projections' tables are empty: use their `catchUp` folds (default false) */
    catchUp?: boolean;
  } = {},
): Promise<number> {
  const types = [...new Set(projections.flatMap((p) => p.handles))];
  // Into empty tables (a fresh view), projections that can fold the log in memory do, and write
  // once at the end; the others apply page by page. (No projection reads another's tables.)
  const folds = new Map(!options.catchUp ? [] : projections.flatMap((p) => (p.catchUp ? [[p, p.catchUp()] as const] : [])));
  // On a server the folds write outside a transaction (the target is a view no one reads until it
  // is built): rows that need no later state stream in while the log is read (`CatchUp.begin`), the
  // folds' final writes run side by side on connections of their own, and no transaction holds
  // back the visibility of the live log's appends meanwhile. A failure discards the whole view.
  const streaming = target.dialect === 'pg' && folds.size > 0;
  const begun = new Set<CatchUp>();
  const targetArtifacts = new SqlArtifactStore(target);
  const copied = new Set<string>();
  let after = formatPosition(START);
  let applied = 0;
  let next = readRawEvents(source.db, { after, until, types, ...(projectId ? { projectId } : {}), limit: PAGE });
  for (;;) {
    const raw = await next;
    if (raw.length === 0) break;
    after = raw[raw.length - 1]!.position;
    // Read the next page while this one is applied (a server source works in parallel).
    next = raw.length === PAGE ? readRawEvents(source.db, { after, until, types, ...(projectId ? { projectId } : {}), limit: PAGE }) : Promise.resolve([]);
    next.catch(() => undefined);
    const events = raw.map((e) => toRecorded(e));
    await copyArtifacts(events, source.artifacts, targetArtifacts, copied);
    const paged = projections.filter((p) => !folds.has(p));
    if (paged.length) {
      await target.transaction(async (tx) => {
        for (const p of paged) {
          const handled = new Set(p.handles);
          const mine = events.filter((e) => handled.has(e.type));
          if (mine.length) await p.apply(tx, mine);
        }
      });
    }
    for (const [p, fold] of folds) {
      const handled = new Set(p.handles);
      const mine = events.filter((e) => handled.has(e.type));
      if (mine.length && streaming && fold.begin && !begun.has(fold)) {
        begun.add(fold);
        await fold.begin(target);
      }
      if (mine.length) fold.add(mine);
    }
    applied += events.length;
    options.onProgress?.(applied);
  }
  if (streaming) {
    await Promise.all([...folds.values()].map((fold) => fold.finish(target)));
  } else if (folds.size) {
    await target.transaction(async (tx) => {
      for (const fold of folds.values()) await fold.finish(tx);
    });
  }
  return applied;
}

async function copyArtifacts(events: readonly Recorded[], from: Pick<ArtifactStore, 'get'>, to: SqlArtifactStore, copied: Set<string>): Promise<void> {
  for (const e of events) {
    for (const hash of artifactReferences(e.data)) {
      if (copied.has(hash)) continue;
      copied.add(hash);
      const blob = await from.get(hash);
      // A missing artifact surfaces where the projection needs it, with the projection's own message.
      if (blob) await to.put(blob.bytes, blob.contentType);
    }
  }
}

// ---- cache ----------------------------------------------------------------------------------

interface CacheEntry {
  db: Promise<SqlDatabase>;
  refs: number;
  evicted: boolean;
}

class ViewCache {
  private readonly entries = new Map<string, CacheEntry>();
  constructor(private readonly capacity: number) {}

  get(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }

  touch(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.entries.set(key, e);
  }

  set(key: string, entry: CacheEntry): void {
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, CacheEntry];
      this.entries.delete(oldestKey);
      this.evict(oldest);
    }
  }

  delete(key: string, entry: CacheEntry): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }

  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => this.evict(e)));
  }

  private async evict(entry: CacheEntry): Promise<void> {
    entry.evicted = true;
    // Still in use: the last holder closes it on release.
    if (entry.refs > 0) return;
    const db = await entry.db.catch(() => undefined);
    await db?.close().catch(() => undefined);
  }
}

const caches = new WeakMap<EventStore, ViewCache>();

function cacheOf(store: EventStore): ViewCache {
  let cache = caches.get(store);
  if (!cache) caches.set(store, (cache = new ViewCache(AS_OF_CACHE_SIZE)));
  return cache;
}
