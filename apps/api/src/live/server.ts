import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import * as Y from 'yjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { allowed, DomainError, type Role } from '@refinery/domain';
import { hasReached, type Recorded } from '@refinery/events';
import { IdentityProviderUnavailableError } from '@refinery/identity';
import {
  activeClaims,
  deleteExpiredClaims,
  getSession,
  foldLiveLabels,
  liveLabelsOf,
  type LiveLabelEvent,
  loadBrowseContext,
  sessionLabeledRecords,
  sessionMembers,
  setupClaims,
  type BrowseContext,
} from '@refinery/read-models';
import type { ApiContext } from '../context.ts';
import { mayWorkIn, sessionVisibleTo } from '../features/sessions.ts';
import { CLOSE, LiveConnection, LiveDocument, putLiveLabels, type LiveEntry, type LiveUser } from './document.ts';
import type { LiveLimits } from './limits.ts';
import { deleteProjectDocuments, setupLiveDocuments, sqlPersistence, type LivePersistence } from './persistence.ts';

/** `/api/live/projects/:projectId/sessions/:sessionId` (query: `token`, `mode=watch`). */
export const LIVE_PATH = /^\/api\/live\/projects\/([^/]+)\/sessions\/([^/]+)\/?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Label events whose effect the documents mirror, once the `record_labels` projection has applied them. */
const RECORD_EVENTS = new Set(['RecordLabeled', 'GoldLabelSet', 'GoldLabelCleared']);
const PROJECT_WIDE_EVENTS = new Set(['LabelsMerged', 'LabelRemoved', 'LabelingTaskRemoved', 'LabelingSettingsChanged']);
const MIRRORED = [...RECORD_EVENTS, ...PROJECT_WIDE_EVENTS, 'ProjectDeleted'];
/** pause after a mirrored batch, so that the next read gathers what came meanwhile */
const MIRROR_GATHER_MS = 25;
/** how often an idle mirror (no document open) moves its checkpoint up to the projection's */
const IDLE_ADVANCE_MS = 2000;

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#469990', '#9a6324', '#800000', '#808000', '#000075'];
export function colorOf(userId: string): string {
  return PALETTE[createHash('sha256').update(userId).digest()[0]! % PALETTE.length]!;
}

class UpgradeRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function refuseUpgrade(socket: Duplex, status: number, code: string, message: string, details: Record<string, unknown> = {}): void {
  const body = JSON.stringify({ error: { code, message, details } });
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="refinery"'] : []),
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

export interface LiveServerOptions {
  limits: LiveLimits;
  persistence?: LivePersistence;
  log?: (m: string) => void;
}

/**
 * Live session documents on the API's HTTP server: the upgrade handler (authentication, role,
 * limits), the documents of this process, the mirror of projected labels into them and the
 * sweeper of lapsed claims. The event log stays the truth for labels; clients never write them.
 */
export class LiveServer {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly docs = new Map<string, Promise<LiveDocument>>();
  private readonly connectionsPerUser = new Map<string, number>();
  private readonly contexts = new Map<string, { at: number; bc: Promise<BrowseContext | undefined> }>();
  private readonly names = new Map<string, string>();
  private readonly persistence: LivePersistence;
  private readonly limits: LiveLimits;
  private readonly log: (m: string) => void;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** documents registered so far, and the idle mirror's wake-up when the next one is */
  private registrations = 0;
  private documentOpened: (() => void) | undefined;
  private mirrorLoop: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private sweepCount = 0;
  /** total messages refused for size, malformation or policy (for tests and logs) */
  readonly stats = {
    connections: 0,
    refusedUpgrades: 0,
    mirroredBatches: 0,
    /** (document, label event) pairs of this node's API queued without the mirror (`labelsCommitted`) */
    foldedLabels: 0,
    /** (document, record) pairs the mirror found already right by folds, so read nothing for */
    foldsConfirmed: 0,
    /** per mirrored batch (last 10,000): ms from the newest event's append to the projection having it, and to the documents having it */
    projectedAfterMs: [] as number[],
    mirroredAfterMs: [] as number[],
  };

  constructor(
    private readonly ctx: ApiContext,
    options: LiveServerOptions,
  ) {
    this.limits = options.limits;
    this.persistence = options.persistence ?? sqlPersistence(ctx.db);
    this.log = options.log ?? ctx.log;
  }

  async start(): Promise<void> {
    await setupClaims(this.ctx.db);
    await setupLiveDocuments(this.ctx.db);
    const store = this.ctx.store as typeof this.ctx.store & { onAppended?(l: () => void): () => void };
    this.unsubscribe = store.onAppended?.(() => this.wake?.());
    const head = await this.ctx.store.head();
    this.mirrorLoop = this.mirror(head);
    this.sweepTimer = setInterval(() => void this.sweep(), this.limits.claimSweepMs);
    this.sweepTimer.unref();
    this.pingTimer = setInterval(() => {
      for (const ws of this.wss.clients) {
        const alive = ws as WebSocket & { alive?: boolean };
        if (alive.alive === false) ws.terminate();
        else {
          alive.alive = false;
          ws.ping();
        }
      }
    }, 30_000);
    this.pingTimer.unref();
  }

  /** Documents loaded now (for tests and /readyz-style checks). */
  get loadedDocuments(): number {
    return this.docs.size;
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.wake?.();
    this.documentOpened?.();
    clearInterval(this.sweepTimer);
    clearInterval(this.pingTimer);
    await this.mirrorLoop;
    const docs = await Promise.allSettled([...this.docs.values()]);
    this.docs.clear();
    await Promise.all(docs.map((d) => (d.status === 'fulfilled' ? d.value.close() : undefined)));
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  /** The claims of a session changed (a route took or released one): open documents re-read them. */
  claimsChanged(_projectId: string, sessionId: string): void {
    const doc = this.docs.get(sessionId);
    if (doc) void doc.then((d) => this.refreshClaims(d)).catch((err: unknown) => this.log(`live: claims of ${sessionId}: ${String(err)}`));
  }

  // --- upgrade ----------------------------------------------------------------------------

  /** The HTTP server's `upgrade` listener. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    void this.authorize(req).then(
      (grant) => {
        if (this.stopped) return refuseUpgrade(socket, 503, 'shutting_down', 'the server is shutting down');
        this.wss.handleUpgrade(req, socket, head, (ws) => this.connect(ws, grant));
      },
      (err: unknown) => {
        this.stats.refusedUpgrades++;
        if (err instanceof UpgradeRefusal) return refuseUpgrade(socket, err.status, err.code, err.message, err.details);
        this.log(`live: upgrade failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        refuseUpgrade(socket, 500, 'internal_error', 'the live connection could not be opened');
      },
    );
  }

  private async authorize(req: IncomingMessage): Promise<{ projectId: string; sessionId: string; user: LiveUser }> {
    const url = new URL(req.url ?? '/', 'http://live.invalid');
    const m = LIVE_PATH.exec(url.pathname);
    if (!m) throw new UpgradeRefusal(404, 'route_not_found', `no WebSocket endpoint at ${url.pathname}; live sessions are at /api/live/projects/:projectId/sessions/:sessionId`, { path: url.pathname });
    const [projectId, sessionId] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)];
    // Browsers send the session cookie; Node clients cannot set headers through y-websocket, so `?token=` works too.
    const token = url.searchParams.get('token');
    const headers: Record<string, string | string[] | undefined> = { ...req.headers };
    if (token && !headers['authorization']) headers['authorization'] = `Bearer ${token}`;
    const user = await this.ctx.identity.authenticate({ method: 'GET', headers }).catch((err: unknown) => {
      if (err instanceof IdentityProviderUnavailableError) throw new UpgradeRefusal(503, 'identity_provider_unavailable', `${err.message}; try again shortly`, { provider: err.provider });
      if (err instanceof DomainError) throw new UpgradeRefusal(409, err.code, err.message, err.details);
      throw err;
    });
    if (!user) throw new UpgradeRefusal(401, 'unauthenticated', 'sign in, or pass an API token as "Authorization: Bearer rfy_…" or ?token=rfy_…', { permission: 'project:read' });
    if (user.session) {
      // A cookie rides along on cross-site WebSocket requests too (no CORS here): the page must be ours.
      const origin = req.headers.origin;
      let host: string | undefined;
      try {
        host = origin ? new URL(origin).host : undefined;
      } catch {
        host = undefined;
      }
      if (!host || host !== req.headers.host) throw new UpgradeRefusal(403, 'origin_not_allowed', 'a cookie-authenticated live connection must come from a page of this server', { origin: origin ?? null });
    }
    if (!UUID.test(projectId) || !UUID.test(sessionId)) {
      throw new UpgradeRefusal(400, 'invalid_request', 'the project and session ids must be uuids', { projectId, sessionId });
    }
    const role: Role | undefined = await this.ctx.identity.roleIn(projectId, user.userId, (r) => allowed(r ?? 'signed-in', 'project:read'));
    if (!allowed(role ?? 'signed-in', 'project:read')) {
      throw new UpgradeRefusal(403, 'forbidden', `this needs the permission project:read, which ${role ? `the role ${role} does not have` : 'only members of this project have'}`, {
        permission: 'project:read',
        role: role ?? null,
      });
    }
    let session = await getSession(this.ctx.db, projectId, sessionId);
    if (!session) {
      // a session started a moment ago: wait (bounded) for its read model
      await this.ctx.waiter.waitFor(await this.ctx.store.head(), ['sessions'], Math.min(2000, this.ctx.config.readWaitMs));
      session = await getSession(this.ctx.db, projectId, sessionId);
    }
    if (!session || !sessionVisibleTo(session, user.userId)) throw new UpgradeRefusal(404, 'session_not_found', `session ${sessionId} does not exist`, { sessionId });
    const watchOnly = url.searchParams.get('mode') === 'watch';
    const readOnly = watchOnly || !allowed(role ?? 'signed-in', 'project:label') || !mayWorkIn(session, user.userId, role);
    if ((this.connectionsPerUser.get(user.userId) ?? 0) >= this.limits.maxConnectionsPerUser) {
      throw new UpgradeRefusal(429, 'too_many_connections', `at most ${this.limits.maxConnectionsPerUser} live connections per user; close another tab or session`, {
        limit: this.limits.maxConnectionsPerUser,
      });
    }
    if (!this.docs.has(sessionId) && this.docs.size >= this.limits.maxDocuments) {
      throw new UpgradeRefusal(503, 'too_many_documents', `this server holds ${this.limits.maxDocuments} live documents already; retry later`, { limit: this.limits.maxDocuments });
    }
    this.names.set(user.userId, user.displayName);
    return { projectId, sessionId, user: { userId: user.userId, name: user.displayName, color: colorOf(user.userId), readOnly } };
  }

  private connect(ws: WebSocket, grant: { projectId: string; sessionId: string; user: LiveUser }): void {
    const conn = new LiveConnection(ws, grant.user);
    this.stats.connections++;
    const userId = grant.user.userId;
    this.connectionsPerUser.set(userId, (this.connectionsPerUser.get(userId) ?? 0) + 1);
    (ws as WebSocket & { alive?: boolean }).alive = true;
    ws.on('pong', () => ((ws as WebSocket & { alive?: boolean }).alive = true));
    let doc: LiveDocument | undefined;
    const pending: Uint8Array[] = [];
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (!isBinary) return conn.close(CLOSE.unsupportedData, 'text messages are not part of the protocol: send binary y-protocols messages');
      if (bytes.length > this.limits.maxMessageBytes) return conn.close(CLOSE.tooBig, `message of ${bytes.length} bytes, the limit is ${this.limits.maxMessageBytes}`);
      const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (doc) return doc.receive(conn, u8);
      if (pending.length >= this.limits.maxPendingMessages) return conn.close(CLOSE.policy, `more than ${this.limits.maxPendingMessages} messages before the document loaded`);
      pending.push(u8);
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      const n = (this.connectionsPerUser.get(userId) ?? 1) - 1;
      if (n <= 0) this.connectionsPerUser.delete(userId);
      else this.connectionsPerUser.set(userId, n);
      doc?.detach(conn);
    });
    this.document(grant.projectId, grant.sessionId).then(
      (d) => {
        if (ws.readyState !== ws.OPEN) return;
        doc = d;
        d.attach(conn);
        for (const m of pending.splice(0)) d.receive(conn, m);
      },
      (err: unknown) => {
        this.log(`live: loading session ${grant.sessionId} failed: ${err instanceof Error ? err.message : String(err)}`);
        conn.close(CLOSE.tryAgainLater, 'the document could not be loaded; retry');
      },
    );
  }

  // --- documents ----------------------------------------------------------------------------

  private document(projectId: string, sessionId: string): Promise<LiveDocument> {
    let p = this.docs.get(sessionId);
    if (!p) {
      p = this.load(projectId, sessionId);
      this.docs.set(sessionId, p);
      this.registrations++;
      this.documentOpened?.();
      p.catch(() => this.docs.delete(sessionId));
    }
    return p;
  }

  /**
   * Registered before it reads anything, so the mirror cannot miss a label: what was projected
   * before the read is in it, what comes after reaches it through the mirror.
   */
  private async load(projectId: string, sessionId: string): Promise<LiveDocument> {
    const session = await getSession(this.ctx.db, projectId, sessionId);
    if (!session) throw new Error(`session ${sessionId} not found`);
    const doc = new LiveDocument({ ...session, projectId }, this.persistence, this.limits, this.log, (d) => void this.unload(d));
    const state = await this.persistence.load(sessionId);
    if (state) Y.applyUpdate(doc.doc, state, 'load');
    const bc = await this.browseContext(projectId);
    if (bc) {
      const labeled = await sessionLabeledRecords(this.ctx.db, bc, session, this.limits.hydrateRecordLimit);
      const has = new Set(labeled);
      const stale = [...doc.doc.getMap('labels').keys()].filter((k) => !has.has(k));
      await this.writeLabels(doc, bc, [...labeled, ...stale], { all: true });
    }
    await this.refreshClaims(doc);
    return doc;
  }

  private async unload(doc: LiveDocument): Promise<void> {
    if (doc.conns.size > 0 || this.stopped) return;
    if ((await this.docs.get(doc.id)) === doc) this.docs.delete(doc.id);
    await doc.close();
  }

  private browseContext(projectId: string): Promise<BrowseContext | undefined> {
    const hit = this.contexts.get(projectId);
    if (hit && Date.now() - hit.at < 5000) return hit.bc;
    const bc = loadBrowseContext(this.ctx.db, projectId);
    this.contexts.set(projectId, { at: Date.now(), bc });
    bc.catch(() => this.contexts.delete(projectId));
    return bc;
  }

  /**
   * Re-reads the labels of these records and writes what changed (`all`: they are members
   * already). `mirrored`: per record, the revisions of its label events this write covers.
   * Records this node folded labels into (`doc.folds`):
   * - wrote past the newest covered revision: left alone — the read model may not have it yet,
   *   and the mirror reaches the record again with that newer event;
   * - every covered event was folded here, and nothing else happened to the record meanwhile:
   *   the document already shows what the read model says (the fold is the projection's rule),
   *   so nothing is read;
   * - otherwise re-read like any other record.
   */
  private async writeLabels(doc: LiveDocument, bc: BrowseContext, recordIds: readonly string[], opts: { all?: boolean; mirrored?: ReadonlyMap<string, readonly bigint[]> } = {}): Promise<void> {
    const toRead: string[] = [];
    for (const id of recordIds) {
      const track = doc.folds.get(id);
      if (!track) {
        toRead.push(id);
        continue;
      }
      const revisions = opts.mirrored?.get(id) ?? [];
      const covered = revisions.reduce((m, r) => (r > m ? r : m), -1n);
      const foreign = revisions.some((r) => !track.revisions.includes(r));
      if (covered < track.revisions[track.revisions.length - 1]!) {
        if (foreign || opts.all) track.unverified = true;
        continue;
      }
      doc.folds.delete(id);
      if (foreign || track.unverified) toRead.push(id);
      else this.stats.foldsConfirmed++;
    }
    if (toRead.length === 0) return;
    const claimed = doc.doc.getMap('claims');
    const members = opts.all
      ? toRead
      : [...new Set([...(await sessionMembers(this.ctx.db, bc, doc.session, toRead)), ...toRead.filter((id) => claimed.has(id))])];
    const labels = await liveLabelsOf(this.ctx.db, doc.session.projectId, members);
    const blind = bc.blindLabeling;
    // Under blind labeling nobody may see others' answers: only how many people labeled.
    doc.serverWrite((d) => {
      const map = d.getMap<LiveEntry>('labels');
      for (const id of members) putLiveLabels(map, id, labels.get(id), blind);
    });
  }

  /**
   * Labels committed through this node's API: written into the open documents of the project at
   * their next flush, folded from the events (no wait for the projection, no read) — other
   * nodes' labels, and project-wide changes, arrive through the mirror. Blind sessions wait for
   * the mirror (the count needs everyone's answers, which the document does not hold).
   */
  labelsCommitted(projectId: string, recordId: string, events: readonly { type: string; data: unknown }[], lastRevision: bigint, recordSeq?: number): void {
    if (this.stopped || this.docs.size === 0) return;
    const changes: { event: LiveLabelEvent; revision: bigint }[] = [];
    events.forEach((e, i) => {
      if (RECORD_EVENTS.has(e.type)) changes.push({ event: e as LiveLabelEvent, revision: lastRevision - BigInt(events.length - 1 - i) });
    });
    if (changes.length === 0) return;
    void this.foldInto(projectId, recordId, recordSeq, changes).catch((err: unknown) => this.log(`live: mirroring a committed label failed (the mirror brings it): ${err instanceof Error ? err.message : String(err)}`));
  }

  private async foldInto(projectId: string, recordId: string, recordSeq: number | undefined, changes: readonly { event: LiveLabelEvent; revision: bigint }[]): Promise<void> {
    const bc = await this.browseContext(projectId);
    if (!bc || bc.blindLabeling) return;
    const docs = await Promise.allSettled([...this.docs.values()]);
    for (const d of docs) {
      if (d.status !== 'fulfilled' || d.value.closed || d.value.session.projectId !== projectId) continue;
      const doc = d.value;
      const member =
        doc.doc.getMap('labels').has(recordId) ||
        doc.doc.getMap('claims').has(recordId) ||
        // a session over the whole project holds every record imported before it started
        (doc.session.filter === null && doc.session.sliceId === null && recordSeq !== undefined
          ? recordSeq <= Number(doc.session.maxSeq)
          : (await sessionMembers(this.ctx.db, bc, doc.session, [recordId])).length > 0);
      if (!member) continue;
      for (const c of changes) {
        doc.queueLabels(recordId, c.revision, (current) => foldLiveLabels(current, c.event));
        this.stats.foldedLabels++;
      }
    }
  }

  private async refreshClaims(doc: LiveDocument): Promise<void> {
    if (doc.closed) return;
    const claims = doc.session.distribution ? await activeClaims(this.ctx.db, doc.id, new Date()) : [];
    for (const c of claims) {
      if (!this.names.has(c.userId)) this.names.set(c.userId, (await this.ctx.identity.getUser(c.userId))?.displayName ?? c.userId);
    }
    doc.serverWrite((d) => {
      const map = d.getMap<{ userId: string; name: string; color: string; expiresAt: string }>('claims');
      const keep = new Set(claims.map((c) => c.recordId));
      for (const k of [...map.keys()]) if (!keep.has(k)) map.delete(k);
      for (const c of claims) {
        const value = { userId: c.userId, name: this.names.get(c.userId) ?? c.userId, color: colorOf(c.userId), expiresAt: c.expiresAt };
        const old = map.get(c.recordId);
        if (!old || old.userId !== value.userId || old.expiresAt !== value.expiresAt) map.set(c.recordId, value);
      }
    });
  }

  /** Drops lapsed claims (here and in open documents); every few seconds re-reads all (claims taken on other API nodes). */
  private async sweep(): Promise<void> {
    try {
      const expired = await deleteExpiredClaims(this.ctx.db, new Date());
      const touched = new Set(expired.map((e) => e.sessionId));
      const everything = ++this.sweepCount % 5 === 0;
      for (const [id, p] of this.docs) if (everything || touched.has(id)) await this.refreshClaims(await p);
    } catch (err) {
      if (!this.stopped) this.log(`live: sweeping claims failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // --- the label mirror ---------------------------------------------------------------------

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

  /**
   * Tails the log from where this process started; documents read older labels when they load.
   * Pipelined with the projection: it waits only for the first unmirrored event to be projected,
   * then takes every read event the projection already has — so a slow projection adds its own
   * lag once, not once per batch.
   */
  private async mirror(from: string): Promise<void> {
    let checkpoint = from;
    while (!this.stopped) {
      try {
        if (this.docs.size === 0) {
          checkpoint = await this.idle(checkpoint);
          continue;
        }
        let dirty = false;
        const prev = this.wake;
        this.wake = () => {
          dirty = true;
          prev?.();
        };
        const batch = await this.ctx.store.readAll(checkpoint, { types: MIRRORED, limit: 2000 });
        if (batch.events.length === 0 || this.docs.size === 0) {
          checkpoint = batch.checkpoint;
          if (batch.events.length >= 2000 || dirty) continue;
          await this.sleep(250);
          continue;
        }
        const first = batch.events[0]!;
        const { checkpoints } = await this.ctx.waiter.waitFor(first.position, ['record_labels'], this.ctx.config.readWaitMs);
        const projected = checkpoints['record_labels'];
        const ready = projected ? batch.events.filter((e) => hasReached(projected, e.position)) : [];
        if (ready.length === 0) continue; // the projection is behind by more than the wait: try again
        await this.mirrorBatch(ready);
        checkpoint = ready.length === batch.events.length ? batch.checkpoint : ready[ready.length - 1]!.position;
        // Labels through this process reach the documents without the mirror; the rest (other
        // processes' labels, project-wide changes) can wait a moment to come in fewer reads.
        if (batch.events.length < 2000 && !this.stopped) await new Promise((r) => setTimeout(r, MIRROR_GATHER_MS).unref());
      } catch (err) {
        if (this.stopped) break;
        this.log(`live: mirroring labels failed, retrying: ${err instanceof Error ? err.message : String(err)}`);
        await this.sleep(1000);
      }
    }
  }

  /**
   * No document open: nothing to mirror into, and a document reads what was projected when it
   * opens. So no log reads on every append (they were a fifth of the server's statements per
   * label with no one watching); every few seconds the checkpoint moves up to what record_labels
   * has projected, so the first document after a long idle does not send the mirror through the
   * whole gap. Returns when a document is registered (or after the interval).
   */
  private async idle(checkpoint: string): Promise<string> {
    const registered = this.registrations;
    const { checkpoints } = await this.ctx.waiter.waitFor(checkpoint, ['record_labels'], 0);
    const projected = checkpoints['record_labels'];
    // Only while no document registered meanwhile: one that loaded before `projected` was read
    // must still get the events between its load and `projected` from the mirror.
    const next = projected && this.docs.size === 0 && this.registrations === registered && hasReached(projected, checkpoint) ? projected : checkpoint;
    if (this.stopped || this.docs.size > 0) return next;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.documentOpened = undefined;
        resolve();
      };
      const timer = setTimeout(done, IDLE_ADVANCE_MS);
      timer.unref();
      this.documentOpened = done;
    });
    return next;
  }

  private async mirrorBatch(events: readonly Recorded[]): Promise<void> {
    const byProject = new Map<string, { records: Map<string, bigint[]>; all: boolean; deleted: boolean }>();
    for (const e of events) {
      const data = e.data as { projectId?: string; recordId?: string };
      if (!data.projectId) continue;
      const entry = byProject.get(data.projectId) ?? { records: new Map<string, bigint[]>(), all: false, deleted: false };
      if (e.type === 'ProjectDeleted') entry.deleted = true;
      else if (PROJECT_WIDE_EVENTS.has(e.type)) entry.all = true;
      else if (data.recordId) {
        const revisions = entry.records.get(data.recordId);
        if (revisions) revisions.push(e.revision);
        else entry.records.set(data.recordId, [e.revision]);
      }
      byProject.set(data.projectId, entry);
    }
    const docs = await Promise.allSettled([...this.docs.values()]);
    const open = docs.flatMap((d) => (d.status === 'fulfilled' && !d.value.closed && byProject.has(d.value.session.projectId) ? [d.value] : []));
    if (open.length === 0) return;
    // "as they are projected": the caller hands over only events the record_labels projection has applied
    const newest = events[events.length - 1]!;
    const projectedAt = Date.now();
    for (const doc of open) {
      const change = byProject.get(doc.session.projectId)!;
      if (change.deleted) {
        if ((await this.docs.get(doc.id)) === doc) this.docs.delete(doc.id);
        await deleteProjectDocuments(this.ctx.db, doc.session.projectId);
        await doc.close(CLOSE.sessionGone, 'the project was deleted');
        continue;
      }
      if (change.all) this.contexts.delete(doc.session.projectId);
      const bc = await this.browseContext(doc.session.projectId);
      if (!bc) continue;
      if (change.all) {
        const labeled = await sessionLabeledRecords(this.ctx.db, bc, doc.session, this.limits.hydrateRecordLimit);
        const has = new Set(labeled);
        const known = [...doc.doc.getMap('labels').keys()].filter((k) => !has.has(k));
        await this.writeLabels(doc, bc, [...labeled, ...known], { all: true });
      } else await this.writeLabels(doc, bc, [...change.records.keys()], { mirrored: change.records });
    }
    this.stats.mirroredBatches++;
    const appendedAt = Date.parse(newest.meta.at);
    if (this.stats.mirroredAfterMs.length >= 10_000) {
      this.stats.projectedAfterMs.shift();
      this.stats.mirroredAfterMs.shift();
    }
    this.stats.projectedAfterMs.push(projectedAt - appendedAt);
    this.stats.mirroredAfterMs.push(Date.now() - appendedAt);
  }
}
