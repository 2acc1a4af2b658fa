import type { LabelMatrix } from '../matrix.ts';

/**
 * Empirical-Bayes shrinkage per vote pattern, learned from manual labels.
 *
 * Records with the same votes (the same set of (LF, label) pairs, or no vote at all) are
 * indistinguishable for a label model. When manual labels cover a pattern, its class frequencies among
 * the labeled records are direct evidence for P(y | pattern). The model's probabilities g (from the
 * generative model + correction) act as a Dirichlet prior mean with strength s:
 *
 *   p(y | i) = (c_{pattern(i), y} + s · g_y(i)) / (n_{pattern(i)} + s)
 *
 * c / n = labeled counts of the record's pattern. Unlabeled patterns keep g. s is chosen by
 * cross-validation on the manual labels (s = ∞ switches the step off). This is what the labeled data
 * can say about correlated LFs and about uncovered records (pattern "no vote") that no per-LF model
 * expresses: e.g. how often records no rule catches are of each class.
 */
export interface PatternModel {
  numClasses: number;
  /** Dirichlet strength s of the model's probabilities (Infinity = off). */
  strength: number;
  /** pattern hash → row into `counts` (row-major P × K) */
  index: Map<number, number>;
  counts: Float64Array;
  totals: Float64Array;
  /** Mean held-out log-loss per labeled record of the chosen s (NaN when not cross-validated). */
  cvNll: number;
}

/**
 * 52-bit hash of record i's vote list (two 32-bit FNV-1a streams; lists are LF-sorted per record).
 * "No vote" hashes to a fixed value. Collisions among the few thousand labeled patterns are negligible.
 */
export function patternHash(m: LabelMatrix, i: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let k = m.indptr[i]!; k < m.indptr[i + 1]!; k++) {
    const v = (m.lfs[k]! * 65599 + m.labels[k]! + 1) | 0;
    h1 = Math.imul(h1 ^ v, 0x01000193);
    h2 = Math.imul(h2 ^ (v * 31 + 7), 0x01000193) ^ (h2 >>> 15);
  }
  return (h1 >>> 0) * 1048576 + ((h2 >>> 0) & 0xfffff);
}

function countPatterns(hashes: Float64Array, labels: Int32Array, rows: ArrayLike<number>, K: number): { index: Map<number, number>; counts: number[]; totals: number[] } {
  const index = new Map<number, number>();
  const counts: number[] = [];
  const totals: number[] = [];
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    let id = index.get(hashes[i]!);
    if (id === undefined) {
      index.set(hashes[i]!, (id = index.size));
      for (let y = 0; y < K; y++) counts.push(0);
      totals.push(0);
    }
    counts[id * K + labels[i]!]!++;
    totals[id]!++;
  }
  return { index, counts, totals };
}

/**
 * Choose s by K-fold CV: `oofProbs` (n × K) are the model's probabilities of the labeled records, each
 * computed WITHOUT that record's label (out of fold); counts come from the other folds. Candidates in
 * `strengths` (Infinity = off); ties keep the earlier candidate, so list Infinity first.
 */
export function fitPatterns(m: LabelMatrix, recordIds: Int32Array, oofProbs: Float64Array, labels: Int32Array, K: number, strengths: readonly number[], folds: number): PatternModel {
  const n = recordIds.length;
  const hashes = new Float64Array(n);
  for (let r = 0; r < n; r++) hashes[r] = patternHash(m, recordIds[r]!);
  const F = Math.min(folds, n);
  let strength = Infinity;
  let cvNll = NaN;
  if (F >= 2 && strengths.length > 0) {
    const nll = new Float64Array(strengths.length);
    for (let f = 0; f < F; f++) {
      const train: number[] = [];
      for (let r = 0; r < n; r++) if (r % F !== f) train.push(r);
      const c = countPatterns(hashes, labels, train, K);
      for (let r = f; r < n; r += F) {
        const id = c.index.get(hashes[r]!);
        const g = Math.min(Math.max(oofProbs[r * K + labels[r]!]!, 1e-12), 1);
        for (let q = 0; q < strengths.length; q++) {
          const s = strengths[q]!;
          let p = g;
          if (id !== undefined && Number.isFinite(s)) p = (c.counts[id * K + labels[r]!]! + s * g) / (c.totals[id]! + s);
          nll[q] = nll[q]! - Math.log(Math.max(p, 1e-12));
        }
      }
    }
    let best = Infinity;
    for (let q = 0; q < strengths.length; q++) {
      if (nll[q]! < best - 1e-9) {
        best = nll[q]!;
        strength = strengths[q]!;
      }
    }
    cvNll = best / n;
  }
  const all = Int32Array.from({ length: n }, (_, r) => r);
  const c = countPatterns(hashes, labels, all, K);
  return {
    numClasses: K,
    strength,
    index: Number.isFinite(strength) ? c.index : new Map(),
    counts: Float64Array.from(c.counts),
    totals: Float64Array.from(c.totals),
    cvNll,
  };
}

/** probs (n × K, rows summing to 1) of the records of `m`, updated in place. */
export function applyPatterns(pm: PatternModel, m: LabelMatrix, probs: Float64Array): void {
  if (!Number.isFinite(pm.strength) || pm.index.size === 0) return;
  const K = pm.numClasses;
  const s = pm.strength;
  for (let i = 0; i < m.numRecords; i++) {
    const id = pm.index.get(patternHash(m, i));
    if (id === undefined) continue;
    const den = pm.totals[id]! + s;
    for (let y = 0; y < K; y++) probs[i * K + y] = (pm.counts[id * K + y]! + s * probs[i * K + y]!) / den;
  }
}
