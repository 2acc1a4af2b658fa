/**
 * Heuristic statistics over a label matrix, on typed arrays (definitions: docs/heuristics.md).
 *
 * The matrix is sparse and row-major (CSR): record i's votes are the entries
 * `rowPtr[i] .. rowPtr[i + 1] - 1`, each a heuristic index (`heuristic`) and a label index
 * (`label`). Records without any vote still count in the coverage denominator (`nRecords`).
 * `reference[i]` is the reference label index of record i, or -1 (none).
 */
export interface VoteMatrix {
  nRecords: number;
  nHeuristics: number;
  nLabels: number;
  rowPtr: Int32Array;
  heuristic: Int32Array;
  label: Int32Array;
}

export interface LabelStats {
  /** records this heuristic voted this label on */
  hits: number;
  /** of those, records whose reference label is known */
  checked: number;
  /** of those, records whose reference label is this label */
  correct: number;
  /** records whose reference label is this label */
  referenceCount: number;
  /** correct / checked, null when nothing could be checked */
  precision: number | null;
  /** correct / referenceCount, null when no record has this reference label */
  recall: number | null;
}

export interface HeuristicStats {
  /** records with a vote / all records */
  coverage: number;
  /** records with a vote */
  hits: number;
  /** records where at least one other heuristic also voted */
  overlaps: number;
  /** records where at least one other heuristic voted a different label */
  conflicts: number;
  /** votes on records with a reference label */
  checked: number;
  /** of those, votes equal to the reference */
  correct: number;
  precision: number | null;
  /** correct / (records whose reference label is one this heuristic votes), null when none */
  recall: number | null;
  byLabel: LabelStats[];
}

/** Builds the CSR matrix from one column per heuristic (record indices and label indices, any order). */
export function buildVoteMatrix(nRecords: number, nLabels: number, columns: ReadonlyArray<{ records: Int32Array; labels: Int32Array }>): VoteMatrix {
  const rowPtr = new Int32Array(nRecords + 1);
  let nnz = 0;
  for (const c of columns) {
    if (c.records.length !== c.labels.length) throw new Error('a column needs as many labels as records');
    for (let k = 0; k < c.records.length; k++) rowPtr[c.records[k]! + 1]!++;
    nnz += c.records.length;
  }
  for (let i = 0; i < nRecords; i++) rowPtr[i + 1]! += rowPtr[i]!;
  const fill = rowPtr.slice(0, nRecords);
  const heuristic = new Int32Array(nnz);
  const label = new Int32Array(nnz);
  for (let h = 0; h < columns.length; h++) {
    const c = columns[h]!;
    for (let k = 0; k < c.records.length; k++) {
      const at = fill[c.records[k]!]!++;
      heuristic[at] = h;
      label[at] = c.labels[k]!;
    }
  }
  return { nRecords, nHeuristics: columns.length, nLabels, rowPtr, heuristic, label };
}

/** One pass over the votes: O(records + votes). */
export function computeHeuristicStats(m: VoteMatrix, reference: Int32Array): HeuristicStats[] {
  const H = m.nHeuristics;
  const L = m.nLabels;
  const hitsHL = new Float64Array(H * L);
  const checkedHL = new Float64Array(H * L);
  const correctHL = new Float64Array(H * L);
  const overlaps = new Float64Array(H);
  const conflicts = new Float64Array(H);
  const referenceCount = new Float64Array(L);
  const { rowPtr, heuristic, label } = m;
  for (let i = 0; i < m.nRecords; i++) {
    const ref = reference[i]!;
    if (ref >= 0) referenceCount[ref]!++;
    const a = rowPtr[i]!;
    const b = rowPtr[i + 1]!;
    if (a === b) continue;
    const many = b - a > 1;
    let mixed = false;
    if (many) {
      const first = label[a]!;
      for (let k = a + 1; k < b; k++) {
        if (label[k] !== first) {
          mixed = true;
          break;
        }
      }
    }
    for (let k = a; k < b; k++) {
      const h = heuristic[k]!;
      const l = label[k]!;
      const cell = h * L + l;
      hitsHL[cell]!++;
      if (many) overlaps[h]!++;
      // With two or more distinct labels in the row, every voter has someone voting differently.
      if (mixed) conflicts[h]!++;
      if (ref >= 0) {
        checkedHL[cell]!++;
        if (ref === l) correctHL[cell]!++;
      }
    }
  }
  const out: HeuristicStats[] = [];
  for (let h = 0; h < H; h++) {
    let hits = 0;
    let checked = 0;
    let correct = 0;
    let relevant = 0;
    const byLabel: LabelStats[] = [];
    for (let l = 0; l < L; l++) {
      const cell = h * L + l;
      const lh = hitsHL[cell]!;
      const lc = checkedHL[cell]!;
      const lk = correctHL[cell]!;
      const rc = referenceCount[l]!;
      hits += lh;
      checked += lc;
      correct += lk;
      if (lh > 0) relevant += rc;
      byLabel.push({ hits: lh, checked: lc, correct: lk, referenceCount: rc, precision: lc > 0 ? lk / lc : null, recall: rc > 0 ? lk / rc : null });
    }
    out.push({
      coverage: m.nRecords > 0 ? hits / m.nRecords : 0,
      hits,
      overlaps: overlaps[h]!,
      conflicts: conflicts[h]!,
      checked,
      correct,
      precision: checked > 0 ? correct / checked : null,
      recall: relevant > 0 ? correct / relevant : null,
      byLabel,
    });
  }
  return out;
}

/**
 * The same statistics as `computeHeuristicStats(buildVoteMatrix(...))`, straight from the columns
 * without building the row-major matrix: one pass marks per record how many heuristics voted and
 * whether their labels differ, a second pass counts per heuristic. O(records + votes) with two
 * dense arrays of `nRecords`; columns whose records are in ascending order (as stored) are read
 * sequentially. A column must not hold the same record twice.
 */
export function computeColumnStats(
  nRecords: number,
  nLabels: number,
  columns: ReadonlyArray<{ records: Int32Array; labels: Int32Array }>,
  reference: Int32Array,
): HeuristicStats[] {
  const H = columns.length;
  const L = nLabels;
  // voters per record (saturating at 2: only "more than one" matters) and the first label seen;
  // MIXED marks a record with two different labels
  const voters = new Uint8Array(nRecords);
  const first = new Int32Array(nRecords);
  const MIXED = -2;
  for (const c of columns) {
    if (c.records.length !== c.labels.length) throw new Error('a column needs as many labels as records');
    const { records, labels } = c;
    for (let k = 0; k < records.length; k++) {
      const i = records[k]!;
      const l = labels[k]!;
      const n = voters[i]!;
      if (n === 0) {
        voters[i] = 1;
        first[i] = l;
      } else {
        if (n === 1) voters[i] = 2;
        if (first[i] !== l && first[i] !== MIXED) first[i] = MIXED;
      }
    }
  }
  const referenceCount = new Float64Array(L);
  for (let i = 0; i < nRecords; i++) {
    const ref = reference[i]!;
    if (ref >= 0) referenceCount[ref]!++;
  }
  const out: HeuristicStats[] = [];
  const hitsL = new Float64Array(L);
  const checkedL = new Float64Array(L);
  const correctL = new Float64Array(L);
  for (let h = 0; h < H; h++) {
    const { records, labels } = columns[h]!;
    hitsL.fill(0);
    checkedL.fill(0);
    correctL.fill(0);
    let overlaps = 0;
    let conflicts = 0;
    for (let k = 0; k < records.length; k++) {
      const i = records[k]!;
      const l = labels[k]!;
      hitsL[l]!++;
      if (voters[i]! > 1) {
        overlaps++;
        if (first[i] === MIXED) conflicts++;
      }
      const ref = reference[i]!;
      if (ref >= 0) {
        checkedL[l]!++;
        if (ref === l) correctL[l]!++;
      }
    }
    let hits = 0;
    let checked = 0;
    let correct = 0;
    let relevant = 0;
    const byLabel: LabelStats[] = [];
    for (let l = 0; l < L; l++) {
      const lh = hitsL[l]!;
      const lc = checkedL[l]!;
      const lk = correctL[l]!;
      const rc = referenceCount[l]!;
      hits += lh;
      checked += lc;
      correct += lk;
      if (lh > 0) relevant += rc;
      byLabel.push({ hits: lh, checked: lc, correct: lk, referenceCount: rc, precision: lc > 0 ? lk / lc : null, recall: rc > 0 ? lk / rc : null });
    }
    out.push({
      coverage: nRecords > 0 ? hits / nRecords : 0,
      hits,
      overlaps,
      conflicts,
      checked,
      correct,
      precision: checked > 0 ? correct / checked : null,
      recall: relevant > 0 ? correct / relevant : null,
      byLabel,
    });
  }
  return out;
}

/**
 * A stored column of the label matrix (read model `rm_heuristic_columns`):
 * - `seqs`: the records' positions (`seq`, strictly ascending), format byte first:
 *   0 = varint deltas; 1 = varint of the first position, then a bitmap from it (bit k = position
 *   first + k), whichever is smaller (a bitmap wins from ~1 vote in 8 positions);
 * - `codes`: per vote the index of its label in `labels`, bit-packed with the fewest bits of
 *   1, 2, 4 or 8 that hold `labels.length - 1`.
 */
export interface EncodedColumn {
  seqs: Uint8Array;
  codes: Uint8Array;
  labels: string[];
}

const bitsFor = (nLabels: number): number => (nLabels <= 2 ? 1 : nLabels <= 4 ? 2 : nLabels <= 16 ? 4 : 8);

function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}

/** Encodes a column; `seqs` must ascend strictly. At most 256 distinct labels. */
export function encodeColumn(seqs: ArrayLike<number>, labelIds: ArrayLike<string>): EncodedColumn {
  const n = seqs.length;
  if (labelIds.length !== n) throw new Error('a column needs as many labels as records');
  const deltas = new Uint8Array(n * 8 + 9);
  deltas[0] = 0;
  let at = 1;
  let prev = 0;
  for (let k = 0; k < n; k++) {
    const s = seqs[k]!;
    if (!(Number.isSafeInteger(s) && s > prev)) throw new Error(`column positions must ascend (at ${k}: ${s} after ${prev})`);
    at = writeVarint(deltas, at, s - prev);
    prev = s;
  }
  let positions = deltas.slice(0, at);
  if (n > 0) {
    const first = seqs[0]!;
    const span = seqs[n - 1]! - first + 1;
    const bitmapBytes = Math.ceil(span / 8);
    if (bitmapBytes + 10 < at) {
      const bm = new Uint8Array(1 + 9 + bitmapBytes);
      bm[0] = 1;
      const head = writeVarint(bm, 1, first);
      for (let k = 0; k < n; k++) {
        const off = seqs[k]! - first;
        bm[head + (off >> 3)]! |= 1 << (off & 7);
      }
      positions = bm.slice(0, head + bitmapBytes);
    }
  }
  const dict = new Map<string, number>();
  const labels: string[] = [];
  const codeOf = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const id = labelIds[k]!;
    let c = dict.get(id);
    if (c === undefined) {
      if (labels.length === 256) throw new Error('a column holds at most 256 distinct labels');
      c = labels.length;
      dict.set(id, c);
      labels.push(id);
    }
    codeOf[k] = c;
  }
  const bits = bitsFor(labels.length);
  const perByte = 8 / bits;
  const codes = new Uint8Array(Math.ceil(n / perByte));
  for (let k = 0; k < n; k++) codes[Math.floor(k / perByte)]! |= codeOf[k]! << ((k % perByte) * bits);
  return { seqs: positions, codes, labels };
}

/** Decodes the positions of a column (`count` = number of votes). */
export function decodeColumnSeqs(seqs: Uint8Array, count: number): Float64Array {
  const out = new Float64Array(count);
  if (count === 0) return out;
  let at = 1;
  const varint = (): number => {
    let b = seqs[at++]!;
    let v = b & 0x7f;
    let scale = 0x80;
    while (b & 0x80) {
      b = seqs[at++]!;
      v += (b & 0x7f) * scale;
      scale *= 0x80;
    }
    return v;
  };
  if (seqs[0] === 1) {
    const first = varint();
    let k = 0;
    for (let byte = at; byte < seqs.length && k < count; byte++) {
      let b = seqs[byte]!;
      const base = first + (byte - at) * 8;
      while (b !== 0) {
        const bit = 31 - Math.clz32(b & -b);
        out[k++] = base + bit;
        b &= b - 1;
      }
    }
    if (k !== count) throw new Error(`column bitmap holds ${k} positions, expected ${count}`);
    return out;
  }
  let prev = 0;
  for (let k = 0; k < count; k++) {
    prev += varint();
    out[k] = prev;
  }
  return out;
}

/** Decodes the label codes of a column (indices into its `labels`). */
export function decodeColumnCodes(codes: Uint8Array, count: number, nLabels: number): Uint8Array {
  const bits = bitsFor(nLabels);
  if (bits === 8) return codes.subarray(0, count);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(count);
  for (let k = 0; k < count; k++) out[k] = (codes[Math.floor(k / perByte)]! >> ((k % perByte) * bits)) & mask;
  return out;
}
