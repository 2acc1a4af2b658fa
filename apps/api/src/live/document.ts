import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import type { WebSocket } from 'ws';
import { sameLiveLabels, type LiveRecordLabels, type SessionView } from '@refinery/read-models';
import type { LiveLimits } from './limits.ts';
import type { LivePersistence } from './persistence.ts';
import { refuseClientUpdate } from './guard.ts';

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_QUERY_AWARENESS = 3;
/**
 * Presence changes and labels committed through this node are sent out together at most this
 * often: one write per connection and flush instead of one per change.
 */
export const FLUSH_MS = 40;

/** WebSocket close codes used by the live endpoint (docs/live.md). */
export const CLOSE = {
  unsupportedData: 1003,
  malformed: 1007,
  policy: 1008,
  tooBig: 1009,
  tryAgainLater: 1013,
  sessionGone: 4404,
} as const;

/** Who is on the other end of a connection: decided on upgrade, never by the client. */
export interface LiveUser {
  userId: string;
  name: string;
  color: string;
  /** may only watch: document updates are dropped, awareness is relayed */
  readOnly: boolean;
}

export class LiveConnection {
  /** awareness client ids this connection speaks for */
  readonly awarenessIds = new Set<number>();
  droppedUpdates = 0;
  constructor(
    readonly ws: WebSocket,
    readonly user: LiveUser,
  ) {}

  close(code: number, reason: string): void {
    // a close reason is at most 123 bytes
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
  }
}

class MalformedMessage extends Error {}

/** A record's entry in the document's `labels` map. */
export type LiveEntry = LiveRecordLabels & { count: number };

/**
 * Writes a record's labels into the `labels` map, only if they changed (compared without
 * regard to order): an empty answer set removes the entry, and under blind labeling the entry
 * carries only how many people labeled.
 */
export function putLiveLabels(map: Y.Map<LiveEntry>, recordId: string, labels: LiveRecordLabels | undefined, blind: boolean): void {
  if (!labels || (labels.annotators.length === 0 && Object.keys(labels.tasks).length === 0)) {
    if (map.has(recordId)) map.delete(recordId);
    return;
  }
  const count = labels.annotators.length;
  const value = blind ? { annotators: [], tasks: {}, count } : { ...labels, count };
  if (!sameLiveLabels(map.get(recordId), value)) map.set(recordId, value);
}

/**
 * One labeling session's Yjs document with its connections. Root types:
 * `labels` (record id → labels, written by the server from the read model), `claims`
 * (record id → holder, from the claims table), `drafts` (written by clients that may work).
 * Awareness carries presence: the server stamps each state's `user` with the authenticated one.
 */
export class LiveDocument {
  readonly doc = new Y.Doc();
  readonly awareness: awarenessProtocol.Awareness;
  readonly conns = new Set<LiveConnection>();
  private storeTimer: NodeJS.Timeout | undefined;
  private firstUnsavedAt: number | undefined;
  private storing: Promise<void> = Promise.resolve();
  private unloadTimer: NodeJS.Timeout | undefined;
  closed = false;
  /** bytes of client updates applied since the document loaded (bounded by maxClientBytesPerDocument) */
  private clientBytes = 0;

  constructor(
    readonly session: SessionView & { projectId: string },
    private readonly persistence: LivePersistence,
    private readonly limits: LiveLimits,
    private readonly log: (m: string) => void,
    private readonly onIdle: (doc: LiveDocument) => void,
  ) {
    this.awareness = new awarenessProtocol.Awareness(this.doc);
    this.awareness.setLocalState(null);
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MESSAGE_SYNC);
      syncProtocol.writeUpdate(encoder, update);
      const message = encoding.toUint8Array(encoder);
      for (const c of this.conns) if (c !== origin) this.send(c, message);
      if (origin !== 'load') this.scheduleStore();
    });
    // Presence changes are coalesced for FLUSH_MS: with many people moving between
    // records, one message per flush and connection instead of one per change.
    this.awareness.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
      for (const id of [...added, ...updated, ...removed]) this.awarenessPending.add(id);
      this.scheduleFlush();
    });
  }

  private readonly awarenessPending = new Set<number>();
  private flushTimer: NodeJS.Timeout | undefined;
  /** label changes committed through this node, written at the next flush (in arrival order) */
  private labelWrites: { recordId: string; next: (current: LiveRecordLabels | undefined) => LiveRecordLabels }[] = [];
  /**
   * Label writes of this node, per record, that the label mirror has not yet passed:
   * `revisions` the stream revisions folded, ascending — the last is where the record stands (the
   * mirror must not write an older read model over it); `unverified` set when the mirror had to
   * leave the record alone while a change not folded here (another node's) was among its events.
   */
  readonly folds = new Map<string, { revisions: bigint[]; unverified: boolean }>();

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /**
   * Queues a label change committed through this node: `next` computes the record's labels from
   * what the document holds. Writes older than one already queued for the record are dropped.
   */
  queueLabels(recordId: string, revision: bigint, next: (current: LiveRecordLabels | undefined) => LiveRecordLabels): void {
    if (this.closed) return;
    const track = this.folds.get(recordId);
    if (track && track.revisions[track.revisions.length - 1]! >= revision) return;
    if (track) track.revisions.push(revision);
    else this.folds.set(recordId, { revisions: [revision], unverified: false });
    this.labelWrites.push({ recordId, next });
    this.scheduleFlush();
  }

  /** Queued labels (one document transaction, so one update) and presence, in one socket write per connection. */
  private flush(): void {
    this.flushTimer = undefined;
    if (this.closed) return;
    const sockets = [...this.conns].map((c) => (c.ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket);
    for (const s of sockets) s?.cork();
    try {
      const writes = this.labelWrites;
      this.labelWrites = [];
      if (writes.length) {
        this.serverWrite((d) => {
          const map = d.getMap<LiveEntry>('labels');
          for (const w of writes) putLiveLabels(map, w.recordId, w.next(map.get(w.recordId)), false);
        });
      }
      if (this.awarenessPending.size) {
        const changed = [...this.awarenessPending];
        this.awarenessPending.clear();
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
        encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed));
        const message = encoding.toUint8Array(encoder);
        for (const c of this.conns) this.send(c, message);
      }
    } finally {
      for (const s of sockets) s?.uncork();
    }
  }

  get id(): string {
    return this.session.id;
  }

  /** A connection joins: it gets the server's state vector and the current presence. */
  attach(conn: LiveConnection): void {
    clearTimeout(this.unloadTimer);
    this.unloadTimer = undefined;
    this.conns.add(conn);
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeSyncStep1(encoder, this.doc);
    this.send(conn, encoding.toUint8Array(encoder));
    const states = this.awareness.getStates();
    if (states.size > 0) {
      const a = encoding.createEncoder();
      encoding.writeVarUint(a, MESSAGE_AWARENESS);
      encoding.writeVarUint8Array(a, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...states.keys()]));
      this.send(conn, encoding.toUint8Array(a));
    }
  }

  detach(conn: LiveConnection): void {
    if (!this.conns.delete(conn)) return;
    if (conn.awarenessIds.size) awarenessProtocol.removeAwarenessStates(this.awareness, [...conn.awarenessIds], null);
    if (this.conns.size === 0) {
      this.unloadTimer = setTimeout(() => this.onIdle(this), this.limits.unloadAfterMs);
      this.unloadTimer.unref();
    }
  }

  /** Handles one message of a connection; a bad one closes that connection only. */
  receive(conn: LiveConnection, data: Uint8Array): void {
    try {
      this.dispatch(conn, data);
    } catch (err) {
      const why = err instanceof MalformedMessage ? err.message : `malformed message: ${err instanceof Error ? err.message : String(err)}`;
      conn.close(CLOSE.malformed, why);
    }
  }

  private dispatch(conn: LiveConnection, data: Uint8Array): void {
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MESSAGE_SYNC: {
        const step = decoding.readVarUint(decoder);
        if (step === syncProtocol.messageYjsSyncStep1) {
          const encoder = encoding.createEncoder();
          encoding.writeVarUint(encoder, MESSAGE_SYNC);
          syncProtocol.writeSyncStep2(encoder, this.doc, decoding.readVarUint8Array(decoder));
          this.send(conn, encoding.toUint8Array(encoder));
          return;
        }
        if (step !== syncProtocol.messageYjsSyncStep2 && step !== syncProtocol.messageYjsUpdate) throw new MalformedMessage(`malformed message: unknown sync step ${step}`);
        const update = decoding.readVarUint8Array(decoder);
        if (conn.user.readOnly) {
          conn.droppedUpdates++;
          return;
        }
        if (this.clientBytes + update.length > this.limits.maxClientBytesPerDocument) {
          conn.close(CLOSE.policy, `update refused: the session's drafts reached ${this.limits.maxClientBytesPerDocument} bytes`);
          return;
        }
        const refused = refuseClientUpdate(this.doc, update);
        if (refused) {
          conn.close(CLOSE.policy, `update refused: ${refused}`);
          return;
        }
        Y.applyUpdate(this.doc, update, conn);
        this.clientBytes += update.length;
        return;
      }
      case MESSAGE_AWARENESS:
        this.receiveAwareness(conn, decoding.readVarUint8Array(decoder));
        return;
      case MESSAGE_QUERY_AWARENESS: {
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
        encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...this.awareness.getStates().keys()]));
        this.send(conn, encoding.toUint8Array(encoder));
        return;
      }
      default:
        throw new MalformedMessage(`malformed message: unknown message type ${type}`);
    }
  }

  /**
   * Awareness from a client: only for client ids this connection introduced (or new ones, up to
   * a limit), only `record` (the record the person is on) kept from the client's state, and
   * `user` replaced by the authenticated user. Re-encoded, then applied.
   */
  private receiveAwareness(conn: LiveConnection, update: Uint8Array): void {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    if (count > 64) throw new MalformedMessage(`malformed message: ${count} awareness entries in one message`);
    const out = encoding.createEncoder();
    const entries: [number, number, string][] = [];
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const json = decoding.readVarString(decoder);
      if (json.length > this.limits.maxAwarenessStateBytes) throw new MalformedMessage(`awareness state of ${json.length} bytes, the limit is ${this.limits.maxAwarenessStateBytes}`);
      const owner = [...this.conns].find((c) => c !== conn && c.awarenessIds.has(clientId));
      if (owner) continue; // someone else's presence: not this connection's to change
      if (!conn.awarenessIds.has(clientId)) {
        if (conn.awarenessIds.size >= this.limits.maxAwarenessClientsPerConnection) throw new MalformedMessage(`more than ${this.limits.maxAwarenessClientsPerConnection} awareness clients on one connection`);
        conn.awarenessIds.add(clientId);
      }
      const state: unknown = JSON.parse(json);
      let stamped: unknown = null;
      if (state !== null) {
        if (typeof state !== 'object' || Array.isArray(state)) throw new MalformedMessage('malformed message: an awareness state must be an object or null');
        const record = (state as { record?: unknown }).record;
        stamped = {
          user: { id: conn.user.userId, name: conn.user.name, color: conn.user.color, readOnly: conn.user.readOnly },
          record: typeof record === 'string' && record.length <= 512 ? record : null,
        };
      }
      entries.push([clientId, clock, JSON.stringify(stamped)]);
    }
    encoding.writeVarUint(out, entries.length);
    for (const [clientId, clock, json] of entries) {
      encoding.writeVarUint(out, clientId);
      encoding.writeVarUint(out, clock);
      encoding.writeVarString(out, json);
    }
    if (entries.length) awarenessProtocol.applyAwarenessUpdate(this.awareness, encoding.toUint8Array(out), conn);
  }

  send(conn: LiveConnection, message: Uint8Array): void {
    const ws = conn.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.limits.maxBufferedBytes) {
      conn.close(CLOSE.tryAgainLater, 'the client reads too slowly; reconnect');
      return;
    }
    ws.send(message, (err) => {
      if (err) conn.close(CLOSE.tryAgainLater, 'sending failed');
    });
  }

  /** Server-side writes (labels, claims): one transaction, tagged so they are not echoed back as client edits. */
  serverWrite(work: (doc: Y.Doc) => void): void {
    if (this.closed) return;
    this.doc.transact(() => work(this.doc), 'server');
  }

  private scheduleStore(): void {
    const now = Date.now();
    this.firstUnsavedAt ??= now;
    clearTimeout(this.storeTimer);
    const wait = Math.max(0, Math.min(this.limits.storeDebounceMs, this.firstUnsavedAt + this.limits.storeMaxWaitMs - now));
    this.storeTimer = setTimeout(() => void this.store(), wait);
    this.storeTimer.unref();
  }

  /** Writes the document; serialized per document, and a failure keeps it in memory and retries later. */
  store(): Promise<void> {
    clearTimeout(this.storeTimer);
    this.storeTimer = undefined;
    if (this.firstUnsavedAt === undefined) return this.storing;
    this.firstUnsavedAt = undefined;
    const state = Y.encodeStateAsUpdate(this.doc);
    this.storing = this.storing
      .then(() => this.persistence.store(this.session.projectId, this.session.id, state))
      .catch((err: unknown) => {
        this.log(`live: storing the document of session ${this.session.id} failed, kept in memory: ${err instanceof Error ? err.message : String(err)}`);
        if (!this.closed) this.scheduleStore();
      });
    return this.storing;
  }

  /** Stores what is unsaved and closes every connection. */
  async close(code: number = 1001, reason = 'the server is shutting down'): Promise<void> {
    clearTimeout(this.unloadTimer);
    clearTimeout(this.flushTimer);
    for (const c of this.conns) c.close(code, reason);
    this.conns.clear();
    await this.store();
    this.closed = true;
    clearTimeout(this.storeTimer);
    this.awareness.destroy();
    this.doc.destroy();
  }
}
