import * as Y from 'yjs';

/**
 * Which top-level parts of a live document a client may change. Labels and claims are written
 * by the server only (the event log and the claims table are their truth); clients may keep
 * shared drafts. An update is checked before it is applied: every inserted item must sit
 * (directly or nested) under a writable root, and every deletion must hit such items.
 */
export const CLIENT_WRITABLE_ROOTS: ReadonlySet<string> = new Set(['drafts']);

type Ref = Y.ID | string | null;

/** The root key an update's struct lands under, or undefined when it cannot be told. */
function rootOfLocal(doc: Y.Doc, local: ReadonlyMap<number, Y.Item[]>, id: Y.ID, depth: number): string | undefined {
  if (depth > 10_000) return undefined;
  const mine = local.get(id.client)?.find((s) => s.id.clock <= id.clock && id.clock < s.id.clock + s.length);
  if (mine) return rootOfDecoded(doc, local, mine, depth + 1);
  let item: Y.Item | Y.GC;
  try {
    item = Y.getItem(doc.store, id);
  } catch {
    return undefined; // not in the document (yet): refuse rather than keep it pending
  }
  if (!(item instanceof Y.Item)) return undefined;
  let parent = item.parent as Y.AbstractType<unknown> | null;
  if (!parent) return undefined;
  while (parent._item) parent = parent._item.parent as Y.AbstractType<unknown>;
  try {
    return Y.findRootTypeKey(parent);
  } catch {
    return undefined;
  }
}

function rootOfDecoded(doc: Y.Doc, local: ReadonlyMap<number, Y.Item[]>, item: Y.Item, depth: number): string | undefined {
  const parent = item.parent as Ref;
  if (typeof parent === 'string') return parent;
  // parent is the item that created the nested type; without a parent the neighbour's parent counts
  const ref = (parent as Y.ID | null) ?? item.origin ?? item.rightOrigin;
  return ref ? rootOfLocal(doc, local, ref, depth) : undefined;
}

/** Undefined when a client may apply this update to `doc`, else why not. */
export function refuseClientUpdate(doc: Y.Doc, update: Uint8Array, writable: ReadonlySet<string> = CLIENT_WRITABLE_ROOTS): string | undefined {
  const { structs, ds } = Y.decodeUpdate(update);
  const local = new Map<number, Y.Item[]>();
  for (const s of structs) {
    if (s instanceof Y.Item) {
      const list = local.get(s.id.client) ?? [];
      list.push(s);
      local.set(s.id.client, list);
    }
  }
  for (const s of structs) {
    // GC structs and skips carry no content: they cannot change anything a reader sees.
    if (!(s instanceof Y.Item)) continue;
    if (s.content instanceof Y.ContentDoc) return 'sub-documents are not accepted';
    const root = rootOfDecoded(doc, local, s, 0);
    if (root === undefined || !writable.has(root)) return `the update writes to ${root === undefined ? 'an unknown place' : `"${root}"`}; clients may write only to ${[...writable].map((r) => `"${r}"`).join(', ')}`;
  }
  for (const [client, ranges] of ds.clients) {
    for (const { clock, len } of ranges) {
      for (let c = clock; c < clock + len; ) {
        const id = Y.createID(client, c);
        const root = rootOfLocal(doc, local, id, 0);
        if (root === undefined || !writable.has(root)) return `the update deletes from ${root === undefined ? 'an unknown place' : `"${root}"`}; clients may delete only in ${[...writable].map((r) => `"${r}"`).join(', ')}`;
        const mine = local.get(client)?.find((s) => s.id.clock <= c && c < s.id.clock + s.length);
        let next: number;
        if (mine) next = mine.id.clock + mine.length;
        else {
          const item = Y.getItem(doc.store, id);
          next = item.id.clock + item.length;
        }
        c = Math.max(next, c + 1);
      }
    }
  }
  return undefined;
}
