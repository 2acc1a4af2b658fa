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
