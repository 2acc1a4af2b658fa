import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';

/** A Node Yjs client of a live session (y-websocket provider, no BroadcastChannel, token in the query). */
export interface LiveClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  close(): void;
}

export function liveUrl(apiUrl: string, projectId: string): string {
  return `${apiUrl.replace(/^http/, 'ws')}/api/live/projects/${projectId}/sessions`;
}

export async function connectLive(apiUrl: string, projectId: string, sessionId: string, token: string, params: Record<string, string> = {}): Promise<LiveClient> {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(liveUrl(apiUrl, projectId), sessionId, doc, {
    // y-websocket types expect the browser WebSocket; ws implements what it uses
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token, ...params },
    maxBackoffTime: 500,
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`live client did not sync within 10 s (session ${sessionId})`)), 10_000);
    provider.once('sync', (synced: boolean) => {
      if (synced) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    doc,
    provider,
    close() {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** Resolves when `check` holds (tested on every document change and every 20 ms), else rejects after `ms`. */
export async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Opens a raw WebSocket: the HTTP status of a refused upgrade (and its JSON body), or 101 and the socket. */
export function rawUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body?: { error: { code: string; message: string } }; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let body: { error: { code: string; message: string } } | undefined;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, ...(body ? { body } : {}) });
      });
    });
    ws.once('error', (err) => reject(err));
  });
}

/** Waits for a socket's close: code and reason. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}
