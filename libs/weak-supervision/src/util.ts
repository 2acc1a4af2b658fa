import type { LabelMatrix } from './matrix.ts';
import { nnz } from './matrix.ts';
import type { Prediction } from './types.ts';

export function checkNumClasses(numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`numClasses must be an integer >= 1, got ${numClasses}`);
}

export function checkLabels(m: LabelMatrix, numClasses: number): void {
  const total = nnz(m);
  for (let k = 0; k < total; k++) {
    const l = m.labels[k]!;
    if (l >= numClasses) throw new RangeError(`vote ${k} has label ${l} >= numClasses ${numClasses}`);
  }
}

/** Manual labels as an Int32Array (-1 = none); out-of-range values throw. */
export function normalizeManual(manual: ArrayLike<number> | undefined, n: number, numClasses: number): Int32Array | undefined {
  if (manual === undefined) return undefined;
  if (manual.length !== n) throw new RangeError(`manualLabels has ${manual.length} entries, matrix has ${n} records`);
  const out = new Int32Array(n);
  let any = false;
  for (let i = 0; i < n; i++) {
    const v = manual[i]!;
    if (v === -1 || v === undefined || Number.isNaN(v)) {
      out[i] = -1;
      continue;
    }
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) throw new RangeError(`manualLabels[${i}] = ${v} outside 0..${numClasses - 1}`);
    out[i] = v;
    any = true;
  }
  return any ? out : undefined;
}

/** Numerically stable in-place softmax of `row[0..k)`; returns log-sum-exp. */
export function softmaxInPlace(row: Float64Array, offset: number, k: number): number {
  let mx = -Infinity;
  for (let c = 0; c < k; c++) if (row[offset + c]! > mx) mx = row[offset + c]!;
  if (mx === -Infinity) {
    for (let c = 0; c < k; c++) row[offset + c] = 1 / k;
    return -Infinity;
  }
  let s = 0;
  for (let c = 0; c < k; c++) {
    const e = Math.exp(row[offset + c]! - mx);
    row[offset + c] = e;
    s += e;
  }
  for (let c = 0; c < k; c++) row[offset + c] = row[offset + c]! / s;
  return mx + Math.log(s);
}

/** Argmax with ties to the lowest class id. */
export function argmaxRow(probs: Float64Array, offset: number, k: number): number {
  let best = 0;
  let bv = -Infinity;
  for (let c = 0; c < k; c++) {
    const v = probs[offset + c]!;
    if (v > bv) {
      bv = v;
      best = c;
    }
  }
  return best;
}

/** Fill labels / confidence from probs (argmax, ties to lowest id). */
export function finishPrediction(probs: Float64Array, numRecords: number, numClasses: number): Prediction {
  const labels = new Int32Array(numRecords);
  const confidence = new Float64Array(numRecords);
  for (let i = 0; i < numRecords; i++) {
    const c = argmaxRow(probs, i * numClasses, numClasses);
    labels[i] = c;
    confidence[i] = probs[i * numClasses + c]!;
  }
  return { numClasses, labels, probs, confidence };
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}
