import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { refuseClientUpdate } from './guard.ts';

/** A server document with labels, and a client that has synced it; returns the client's next update. */
function setup() {
  const server = new Y.Doc();
  server.getMap('labels').set('r1', { annotators: ['u1'], tasks: {}, count: 1 });
  const drafts = new Y.Map<unknown>();
  server.getMap('drafts').set('nested', drafts);
  drafts.set('a', 1);
  const client = new Y.Doc();
  Y.applyUpdate(client, Y.encodeStateAsUpdate(server));
  const edit = (work: (d: Y.Doc) => void): Uint8Array => {
    const before = Y.encodeStateVector(client);
    work(client);
    return Y.encodeStateAsUpdate(client, before);
  };
  return { server, client, edit };
}

describe('client updates to a live document', () => {
  it('accepts inserts and deletes under drafts, also in nested types', () => {
    const { server, edit } = setup();
    expect(refuseClientUpdate(server, edit((d) => d.getMap('drafts').set('r1', 'maybe')))).toBeUndefined();
    expect(refuseClientUpdate(server, edit((d) => (d.getMap('drafts').get('nested') as Y.Map<unknown>).set('b', 2)))).toBeUndefined();
    expect(refuseClientUpdate(server, edit((d) => (d.getMap('drafts').get('nested') as Y.Map<unknown>).delete('a')))).toBeUndefined();
    const text = new Y.Text('hello');
    expect(refuseClientUpdate(server, edit((d) => d.getMap('drafts').set('t', text)))).toBeUndefined();
  });

  it('refuses writes to server-owned roots, deletions of their content and unknown references', () => {
    const { server, edit } = setup();
    expect(refuseClientUpdate(server, edit((d) => d.getMap('labels').set('r2', { forged: true })))).toMatch(/"labels"/);
    expect(refuseClientUpdate(server, edit((d) => d.getMap('labels').delete('r1')))).toMatch(/deletes from "labels"/);
    expect(refuseClientUpdate(server, edit((d) => d.getMap('claims').set('r1', { userId: 'me' })))).toMatch(/"claims"/);
    expect(refuseClientUpdate(server, edit((d) => d.getArray('anything').push([1])))).toMatch(/"anything"/);
    // an item whose parent the server has never seen (its creation was not sent)
    const other = new Y.Doc();
    const orphanParent = new Y.Map<unknown>();
    other.getMap('drafts').set('x', orphanParent);
    const sv = Y.encodeStateVector(other);
    orphanParent.set('y', 1);
    expect(refuseClientUpdate(server, Y.encodeStateAsUpdate(other, sv))).toMatch(/unknown place/);
  });
});
