import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { WebsocketProvider } from 'y-websocket';
import { sendOwnAwarenessOnly } from './useLiveSession';

/** A provider that never connects: what it would send is recorded instead. */
function offlineProvider() {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider('ws://127.0.0.1:9', 'room', doc, { connect: false, disableBc: true, WebSocketPolyfill: class {} as unknown as typeof WebSocket });
  const sent: number[][] = [];
  const p = provider as unknown as { _awarenessUpdateHandler: (changes: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => void };
  // what y-websocket's handler would send: the changed client ids
  const original = p._awarenessUpdateHandler;
  provider.awareness.off('update', original);
  p._awarenessUpdateHandler = ({ added, updated, removed }) => sent.push([...added, ...updated, ...removed]);
  provider.awareness.on('update', p._awarenessUpdateHandler);
  return { doc, provider, sent };
}

describe('sendOwnAwarenessOnly', () => {
  it('sends our own presence but not the presence the server relayed to us', () => {
    const { doc, provider, sent } = offlineProvider();
    sendOwnAwarenessOnly(provider);
    provider.awareness.setLocalState({ record: 'r1' });
    expect(sent).toEqual([[doc.clientID]]);

    // someone else's presence, as the server relays it (applied with the provider as origin)
    const other = new awarenessProtocol.Awareness(new Y.Doc());
    other.setLocalState({ record: 'r2' });
    awarenessProtocol.applyAwarenessUpdate(provider.awareness, awarenessProtocol.encodeAwarenessUpdate(other, [other.clientID]), provider);
    expect(provider.awareness.getStates().get(other.clientID)).toEqual({ record: 'r2' });
    expect(sent).toHaveLength(1);

    provider.awareness.setLocalState({ record: 'r3' });
    expect(sent).toEqual([[doc.clientID], [doc.clientID]]);
    provider.destroy();
    other.destroy();
  });
});
