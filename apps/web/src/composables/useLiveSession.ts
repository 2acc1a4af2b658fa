import { computed, onBeforeUnmount, ref, shallowRef, watch, type Ref } from 'vue';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { csrfToken } from '../api/client';

/** Someone else in the session, as the server stamped them (name and color are not the client's word). */
export interface LivePeer {
  clientId: number;
  userId: string;
  name: string;
  color: string;
  readOnly: boolean;
  /** the record they have open, if any */
  record: string | null;
}

/** A record's labels as the server mirrors them into the session document. */
export interface LiveRecordLabels {
  annotators: string[];
  tasks: Record<string, Record<string, string[]>>;
  count: number;
}

export interface LiveClaim {
  userId: string;
  name: string;
  color: string;
  expiresAt: string;
}

export type LiveStatus = 'off' | 'connecting' | 'connected' | 'disconnected';

export interface LiveSession {
  status: Ref<LiveStatus>;
  peers: Ref<LivePeer[]>;
  /** labels of a record (reactive: re-read whenever the document changes) */
  labelsOf: (recordId: string | null | undefined) => LiveRecordLabels | null;
  claimOf: (recordId: string | null | undefined) => LiveClaim | null;
  /** is this a team session (claims, overlap)? */
  team: Ref<{ overlap: number; claimTimeoutSeconds: number } | null>;
}

/** The live endpoint of a session on this origin (the session cookie authenticates the upgrade). */
export function liveServerUrl(origin: string, projectId: string): string {
  return `${origin.replace(/^http/, 'ws')}/api/live/projects/${encodeURIComponent(projectId)}/sessions`;
}

/**
 * y-websocket sends every awareness change it applies back to the server, the other people's
 * presence included; the server drops those (a connection may set only its own presence). With
 * 50 people that is 50 needless messages per presence broadcast. Only changes that did not come
 * from the server (ours, and our own removal) are sent.
 */
export function sendOwnAwarenessOnly(provider: WebsocketProvider): void {
  const p = provider as unknown as { _awarenessUpdateHandler: (changes: unknown, origin: unknown) => void };
  const send = p._awarenessUpdateHandler;
  provider.awareness.off('update', send);
  // destroy() unregisters whatever this property holds
  p._awarenessUpdateHandler = (changes, origin) => {
    if (origin !== provider) send(changes, origin);
  };
  provider.awareness.on('update', p._awarenessUpdateHandler);
}

/**
 * Joins a labeling session's live document while `sessionId` is set: presence (our open record
 * in awareness, everyone else's as `peers`), labels mirrored by the server as they are projected,
 * and, in team sessions, the claim on the open record (taken on open, renewed while the person is
 * active, so it lapses when they go idle). `onRecordLabels` fires when another person's labels of
 * a record change.
 */
export function useLiveSession(
  projectId: () => string,
  sessionId: () => string | null | undefined,
  currentRecord: () => string | null | undefined,
  onRecordLabels?: (recordId: string) => void,
): LiveSession {
  const status = ref<LiveStatus>('off');
  const peers = ref<LivePeer[]>([]);
  const version = ref(0);
  const team = ref<{ overlap: number; claimTimeoutSeconds: number } | null>(null);
  const doc = shallowRef<Y.Doc | null>(null);
  let provider: WebsocketProvider | null = null;
  let heartbeat: number | undefined;
  let activeSince = Date.now();

  const markActive = () => (activeSince = Date.now());

  function disconnect(): void {
    window.clearInterval(heartbeat);
    heartbeat = undefined;
    window.removeEventListener('keydown', markActive);
    window.removeEventListener('pointerdown', markActive);
    provider?.destroy();
    doc.value?.destroy();
    provider = null;
    doc.value = null;
    peers.value = [];
    team.value = null;
    status.value = 'off';
  }

  async function claim(recordId: string): Promise<void> {
    const p = projectId();
    const s = sessionId();
    if (!team.value || !s) return;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const csrf = csrfToken();
    if (csrf) headers['X-CSRF-Token'] = csrf;
    // A refusal (someone else holds it, or we may only watch) shows in the document's claims.
    await fetch(`/api/projects/${encodeURIComponent(p)}/sessions/${encodeURIComponent(s)}/claims`, {
      method: 'POST',
      credentials: 'same-origin',
      headers,
      body: JSON.stringify({ recordId }),
    }).catch(() => undefined);
  }

  async function connect(p: string, s: string): Promise<void> {
    disconnect();
    status.value = 'connecting';
    const d = new Y.Doc();
    doc.value = d;
    const ws = new WebsocketProvider(liveServerUrl(window.location.origin, p), s, d, { disableBc: true });
    sendOwnAwarenessOnly(ws);
    provider = ws;
    ws.on('status', (e: { status: 'connected' | 'disconnected' | 'connecting' }) => {
      if (provider === ws) status.value = e.status;
    });
    ws.awareness.on('change', () => {
      if (provider !== ws) return;
      const list: LivePeer[] = [];
      for (const [clientId, state] of ws.awareness.getStates()) {
        if (clientId === ws.awareness.clientID) continue;
        const user = (state as { user?: { id?: string; name?: string; color?: string; readOnly?: boolean } }).user;
        if (!user?.id) continue;
        list.push({
          clientId,
          userId: user.id,
          name: user.name ?? user.id,
          color: user.color ?? '#888888',
          readOnly: user.readOnly === true,
          record: (state as { record?: string | null }).record ?? null,
        });
      }
      peers.value = list.sort((a, b) => a.name.localeCompare(b.name) || a.clientId - b.clientId);
    });
    ws.awareness.setLocalState({ record: currentRecord() ?? null });
    d.getMap('labels').observe((event) => {
      version.value++;
      for (const key of event.keysChanged) onRecordLabels?.(key);
    });
    d.getMap('claims').observe(() => version.value++);
    // Team sessions hand out records by claims: learn whether this is one.
    const res = await fetch(`/api/projects/${encodeURIComponent(p)}/sessions/${encodeURIComponent(s)}`, { credentials: 'same-origin' }).catch(() => null);
    if (provider !== ws || !res?.ok) return;
    const body = (await res.json()) as { distribution?: { overlap: number; claimTimeoutSeconds: number } | null };
    team.value = body.distribution ?? null;
    if (team.value) {
      window.addEventListener('keydown', markActive);
      window.addEventListener('pointerdown', markActive);
      const every = Math.max(1000, (team.value.claimTimeoutSeconds * 1000) / 3);
      heartbeat = window.setInterval(() => {
        const r = currentRecord();
        // renew only while the person is active: an idle claim lapses and frees the record
        if (r && Date.now() - activeSince < (team.value?.claimTimeoutSeconds ?? 0) * 1000) void claim(r);
      }, every);
      const r = currentRecord();
      if (r) void claim(r);
    }
  }

  watch(
    () => [projectId(), sessionId()] as const,
    ([p, s]) => {
      if (p && s) void connect(p, s);
      else disconnect();
    },
    { immediate: true },
  );
  watch(currentRecord, (r) => {
    if (!provider) return;
    provider.awareness.setLocalStateField('record', r ?? null);
    markActive();
    if (r) void claim(r);
  });
  onBeforeUnmount(disconnect);

  const labelsOf = (recordId: string | null | undefined): LiveRecordLabels | null => {
    void version.value;
    if (!recordId || !doc.value) return null;
    return (doc.value.getMap('labels').get(recordId) as LiveRecordLabels | undefined) ?? null;
  };
  const claimOf = (recordId: string | null | undefined): LiveClaim | null => {
    void version.value;
    if (!recordId || !doc.value) return null;
    return (doc.value.getMap('claims').get(recordId) as LiveClaim | undefined) ?? null;
  };
  return { status, peers: computed(() => peers.value) as Ref<LivePeer[]>, labelsOf, claimOf, team };
}
