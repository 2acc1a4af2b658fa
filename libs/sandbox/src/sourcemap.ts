/** Minimal source-map v3 reader: maps generated (line, column) back to the original source. */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Per generated line (0-based): segments `[genCol, origLine, origCol]` (0-based), sorted by genCol. */
export type DecodedMap = Array<Array<[number, number, number]>>;

export function decodeMappings(mappings: string): DecodedMap {
  const lines: DecodedMap = [[]];
  let genCol = 0;
  let src = 0;
  let origLine = 0;
  let origCol = 0;
  let fields: number[] = [];
  let value = 0;
  let shift = 0;
  const flush = (): void => {
    if (fields.length >= 4) {
      genCol += fields[0]!;
      src += fields[1]!;
      origLine += fields[2]!;
      origCol += fields[3]!;
      lines[lines.length - 1]!.push([genCol, origLine, origCol]);
    } else if (fields.length >= 1) {
      genCol += fields[0]!;
    }
    fields = [];
  };
  for (let i = 0; i < mappings.length; i++) {
    const ch = mappings[i]!;
    if (ch === ';') {
      flush();
      lines.push([]);
      genCol = 0;
      continue;
    }
    if (ch === ',') {
      flush();
      continue;
    }
    const digit = B64_INDEX[ch.charCodeAt(0)] ?? -1;
    if (digit < 0) throw new Error(`bad source map character ${ch}`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      const negative = value & 1;
      value >>>= 1;
      fields.push(negative ? -value : value);
      value = 0;
      shift = 0;
    }
  }
  flush();
  void src;
  return lines;
}

/** 1-based in, 1-based out. Returns undefined if the line has no mapping. */
export function originalPosition(map: DecodedMap, line: number, column: number): { line: number; column: number } | undefined {
  const segs = map[line - 1];
  if (!segs || segs.length === 0) return undefined;
  const col0 = column - 1;
  let best = segs[0]!;
  for (const s of segs) {
    if (s[0] <= col0) best = s;
    else break;
  }
  const delta = best[0] <= col0 ? col0 - best[0] : 0;
  return { line: best[1] + 1, column: best[2] + delta + 1 };
}
