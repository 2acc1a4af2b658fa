/**
 * Batch transport into the isolate. JSON.stringify on the host plus JSON.parse in the isolate was
 * ~80 % of the cost of a simple function, almost all of it spent escaping and scanning the texts.
 * So string attribute values travel as one concatenated string (copied into the isolate as a flat
 * string, cut with `slice`), and only the small remainder goes through JSON:
 *
 *   meta = {"k": [attribute names], "r": [[id, [keyIndex, length, ...], [other values] | 0, tokens | 0], ...]}
 *   text = all string values concatenated, in record and attribute order
 *
 * A pair `[keyIndex, length]` takes the next `length` code units of `text`; `[keyIndex, -1]` takes
 * the next non-string value. Attribute order is preserved.
 */
import type { SandboxRecord } from './types.ts';

export interface EncodedBatch {
  meta: string;
  text: string;
}

export function encodeBatch(records: readonly SandboxRecord[]): EncodedBatch {
  const keyIndex = new Map<string, number>();
  const keys: string[] = [];
  const parts: string[] = [];
  const rows: unknown[] = new Array(records.length);
  const keyOf = (k: string): number => {
    let ki = keyIndex.get(k);
    if (ki === undefined) {
      ki = keys.length;
      keys.push(k);
      keyIndex.set(k, ki);
    }
    return ki;
  };
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const pairs: number[] = [];
    let other: unknown[] | 0 = 0;
    const attrs = r.attributes;
    for (const k in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k)) continue;
      const v = attrs[k];
      if (typeof v === 'string') {
        pairs.push(keyOf(k), v.length);
        parts.push(v);
      } else {
        pairs.push(keyOf(k), -1);
        if (other === 0) other = [];
        other.push(v);
      }
    }
    rows[i] = [r.id, pairs, other, r.tokens ?? 0];
  }
  return { meta: JSON.stringify({ k: keys, r: rows }), text: parts.join('') };
}

/** The same decoding as the harness does inside the isolate (used by the unit test). */
export function decodeBatch(b: EncodedBatch): SandboxRecord[] {
  const m = JSON.parse(b.meta) as { k: string[]; r: Array<[string, number[], SandboxRecord['attributes'][string][] | 0, SandboxRecord['tokens'] | 0]> };
  let pos = 0;
  return m.r.map(([id, pairs, other, tokens]) => {
    const attributes: SandboxRecord['attributes'] = {};
    let oi = 0;
    for (let j = 0; j < pairs.length; j += 2) {
      const len = pairs[j + 1]!;
      if (len < 0) {
        attributes[m.k[pairs[j]!]!] = (other as SandboxRecord['attributes'][string][])[oi++]!;
      } else {
        attributes[m.k[pairs[j]!]!] = b.text.slice(pos, pos + len);
        pos += len;
      }
    }
    return tokens === 0 ? { id, attributes } : { id, attributes, tokens };
  });
}
