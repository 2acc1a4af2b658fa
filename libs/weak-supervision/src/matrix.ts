/**
 * Sparse label matrices (CSR-like): per record, the list of (lf, label) votes.
 *
 * `indptr[i] .. indptr[i + 1]` indexes the votes of record `i` in `lfs` / `labels`.
 * Abstains are simply absent. A labeling function (LF) votes at most once per record.
 */
export interface LabelMatrix {
  readonly numRecords: number;
  readonly numLfs: number;
  /** Length numRecords + 1, non-decreasing, indptr[0] = 0. */
  readonly indptr: Int32Array;
  /** LF index of each vote (0 .. numLfs - 1). */
  readonly lfs: Int32Array;
  /** Class id of each vote (>= 0). */
  readonly labels: Int32Array;
}

/** The value used for "abstain" in dense inputs and for "no label" in manual labels / predictions. */
export const ABSTAIN = -1;

/** Number of stored votes. */
export function nnz(m: LabelMatrix): number {
  return m.indptr[m.numRecords] ?? 0;
}

/** Bytes held by the matrix's own typed arrays. */
export function matrixByteSize(m: LabelMatrix): number {
  return m.indptr.byteLength + m.lfs.byteLength + m.labels.byteLength;
}

function checkVote(record: number, lf: number, label: number, numLfs: number): void {
  if (!Number.isInteger(lf) || lf < 0 || lf >= numLfs) {
    throw new RangeError(`record ${record}: lf index ${lf} outside 0..${numLfs - 1}`);
  }
  if (!Number.isInteger(label) || label < 0) {
    throw new RangeError(`record ${record}: label ${label} must be an integer >= 0 (use -1 / omit for abstain)`);
  }
}

/**
 * Build from a dense records × LFs array, `-1` (or any negative value) = abstain.
 * `numLfs` defaults to the length of the first row (0 if there are no rows).
 */
export function labelMatrixFromDense(rows: ArrayLike<ArrayLike<number>>, numLfs?: number): LabelMatrix {
  const n = rows.length;
  const m = numLfs ?? (n > 0 ? (rows[0]?.length ?? 0) : 0);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    if (row.length !== m) throw new RangeError(`row ${i} has ${row.length} entries, expected ${m}`);
    for (let j = 0; j < m; j++) if ((row[j] ?? -1) >= 0) count++;
  }
  const indptr = new Int32Array(n + 1);
  const lfs = new Int32Array(count);
  const labels = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    for (let j = 0; j < m; j++) {
      const v = row[j] ?? -1;
      if (v >= 0) {
        checkVote(i, j, v, m);
        lfs[k] = j;
        labels[k] = v;
        k++;
      }
    }
    indptr[i + 1] = k;
  }
  return { numRecords: n, numLfs: m, indptr, lfs, labels };
}

/** A single vote in coordinate form. */
export interface Vote {
  record: number;
  lf: number;
  label: number;
}

/**
 * Build from per-record vote lists: `rows[i]` is a list of `[lf, label]` pairs.
 * A repeated LF within one record throws (an LF votes at most once per record).
 */
export function labelMatrixFromRows(rows: ReadonlyArray<ReadonlyArray<readonly [number, number]>>, numLfs: number): LabelMatrix {
  const n = rows.length;
  let count = 0;
  for (const r of rows) count += r.length;
  const indptr = new Int32Array(n + 1);
  const lfs = new Int32Array(count);
  const labels = new Int32Array(count);
  const seen = new Int32Array(Math.max(numLfs, 1)).fill(-1);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const start = k;
    for (const [lf, label] of rows[i]!) {
      checkVote(i, lf, label, numLfs);
      if (seen[lf] === i) throw new RangeError(`record ${i}: lf ${lf} votes twice`);
      seen[lf] = i;
      lfs[k] = lf;
      labels[k] = label;
      k++;
    }
    sortSegment(lfs, labels, start, k);
    indptr[i + 1] = k;
  }
  return { numRecords: n, numLfs, indptr, lfs, labels };
}

/** Build from coordinate votes (any order). */
export function labelMatrixFromVotes(numRecords: number, numLfs: number, votes: Iterable<Vote>): LabelMatrix {
  const rows: Array<Array<[number, number]>> = Array.from({ length: numRecords }, () => []);
  for (const v of votes) {
    if (!Number.isInteger(v.record) || v.record < 0 || v.record >= numRecords) {
      throw new RangeError(`vote record ${v.record} outside 0..${numRecords - 1}`);
    }
    rows[v.record]!.push([v.lf, v.label]);
  }
  return labelMatrixFromRows(rows, numLfs);
}

/** Wrap existing CSR arrays (validated, not copied). */
export function labelMatrixFromCsr(numRecords: number, numLfs: number, indptr: Int32Array, lfs: Int32Array, labels: Int32Array): LabelMatrix {
  if (indptr.length !== numRecords + 1 || indptr[0] !== 0) throw new RangeError('indptr must have numRecords + 1 entries starting at 0');
  const total = indptr[numRecords]!;
  if (lfs.length < total || labels.length < total) throw new RangeError('lfs / labels shorter than indptr[numRecords]');
  for (let i = 0; i < numRecords; i++) if (indptr[i + 1]! < indptr[i]!) throw new RangeError('indptr must be non-decreasing');
  for (let k = 0; k < total; k++) {
    const lf = lfs[k]!;
    const lab = labels[k]!;
    if (lf < 0 || lf >= numLfs || lab < 0) throw new RangeError(`vote ${k}: lf ${lf} / label ${lab} out of range`);
  }
  return { numRecords, numLfs, indptr, lfs, labels };
}

function sortSegment(lfs: Int32Array, labels: Int32Array, start: number, end: number): void {
  // insertion sort by lf: vote lists are short
  for (let a = start + 1; a < end; a++) {
    const lf = lfs[a]!;
    const lab = labels[a]!;
    let b = a - 1;
    while (b >= start && lfs[b]! > lf) {
      lfs[b + 1] = lfs[b]!;
      labels[b + 1] = labels[b]!;
      b--;
    }
    lfs[b + 1] = lf;
    labels[b + 1] = lab;
  }
}

/** Rows `indices` of `m`, in that order. */
export function selectRows(m: LabelMatrix, indices: ArrayLike<number>): LabelMatrix {
  const n = indices.length;
  const indptr = new Int32Array(n + 1);
  let count = 0;
  for (let r = 0; r < n; r++) {
    const i = indices[r]!;
    count += m.indptr[i + 1]! - m.indptr[i]!;
    indptr[r + 1] = count;
  }
  const lfs = new Int32Array(count);
  const labels = new Int32Array(count);
  for (let r = 0; r < n; r++) {
    const i = indices[r]!;
    const s = m.indptr[i]!;
    const e = m.indptr[i + 1]!;
    lfs.set(m.lfs.subarray(s, e), indptr[r]!);
    labels.set(m.labels.subarray(s, e), indptr[r]!);
  }
  return { numRecords: n, numLfs: m.numLfs, indptr, lfs, labels };
}

/** Stack matrices with the same LF set vertically. */
export function concatRows(parts: readonly LabelMatrix[]): LabelMatrix {
  const numLfs = parts[0]?.numLfs ?? 0;
  let n = 0;
  let count = 0;
  for (const p of parts) {
    if (p.numLfs !== numLfs) throw new RangeError('concatRows: matrices have different numLfs');
    n += p.numRecords;
    count += nnz(p);
  }
  const indptr = new Int32Array(n + 1);
  const lfs = new Int32Array(count);
  const labels = new Int32Array(count);
  let r = 0;
  let k = 0;
  for (const p of parts) {
    const c = nnz(p);
    lfs.set(p.lfs.subarray(0, c), k);
    labels.set(p.labels.subarray(0, c), k);
    for (let i = 0; i < p.numRecords; i++) indptr[r + i + 1] = k + p.indptr[i + 1]!;
    r += p.numRecords;
    k += c;
  }
  return { numRecords: n, numLfs, indptr, lfs, labels };
}

/** Fraction of records with at least one vote (0 for an empty matrix). */
export function coverage(m: LabelMatrix): number {
  if (m.numRecords === 0) return 0;
  let c = 0;
  for (let i = 0; i < m.numRecords; i++) if (m.indptr[i + 1]! > m.indptr[i]!) c++;
  return c / m.numRecords;
}

/** Largest label id that occurs in the votes, or -1 when there are no votes. */
export function maxLabel(m: LabelMatrix): number {
  let mx = -1;
  const total = nnz(m);
  for (let k = 0; k < total; k++) if (m.labels[k]! > mx) mx = m.labels[k]!;
  return mx;
}
