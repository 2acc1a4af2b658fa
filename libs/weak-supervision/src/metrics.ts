import { spanKey, type Span } from './spans.ts';

/** Fraction of records with pred === gold (records with gold < 0 are skipped). 0 when nothing is scored. */
export function accuracy(gold: ArrayLike<number>, pred: ArrayLike<number>): number {
  if (gold.length !== pred.length) throw new RangeError('accuracy: length mismatch');
  let n = 0;
  let ok = 0;
  for (let i = 0; i < gold.length; i++) {
    if (gold[i]! < 0) continue;
    n++;
    if (pred[i] === gold[i]) ok++;
  }
  return n === 0 ? 0 : ok / n;
}

export interface PRF {
  precision: number;
  recall: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
}

function prf(tp: number, fp: number, fn: number): PRF {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, tp, fp, fn };
}

/**
 * Precision / recall / F1 of the `positive` class (default 1). A prediction of -1 (no label) is "not positive".
 * All three are 0 when undefined (no positive predictions / no positive gold), like sklearn's zero_division=0.
 */
export function binaryF1(gold: ArrayLike<number>, pred: ArrayLike<number>, positive = 1): PRF {
  if (gold.length !== pred.length) throw new RangeError('binaryF1: length mismatch');
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < gold.length; i++) {
    const g = gold[i] === positive;
    const p = pred[i] === positive;
    if (g && p) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  return prf(tp, fp, fn);
}

/**
 * Entity-level micro precision / recall / F1 over documents: a predicted span counts only if
 * start, end and type match a gold span exactly (seqeval with IOB2 strict mode when spans come from
 * `bioToSpans(tags, 'strict')`).
 */
export function entityF1(gold: ReadonlyArray<readonly Span[]>, pred: ReadonlyArray<readonly Span[]>): PRF {
  if (gold.length !== pred.length) throw new RangeError('entityF1: document count mismatch');
  let tp = 0;
  let np = 0;
  let ng = 0;
  for (let d = 0; d < gold.length; d++) {
    const g = new Set(gold[d]!.map(spanKey));
    const seen = new Set<string>();
    ng += g.size;
    for (const s of pred[d]!) {
      const key = spanKey(s);
      if (seen.has(key)) continue;
      seen.add(key);
      np++;
      if (g.has(key)) tp++;
    }
  }
  return prf(tp, np - tp, ng - tp);
}

/**
 * Expected calibration error with `bins` (default 10) equal-width bins over the predicted class
 * confidence: Σ_b (|b| / n) · |accuracy(b) - mean confidence(b)|. Bin b holds confidences in
 * (b/B, (b+1)/B], confidence 0 goes into the first bin. Records with gold < 0 are skipped; 0 for no records.
 */
export function expectedCalibrationError(gold: ArrayLike<number>, pred: ArrayLike<number>, confidence: ArrayLike<number>, bins = 10): number {
  const cnt = new Float64Array(bins);
  const acc = new Float64Array(bins);
  const conf = new Float64Array(bins);
  let n = 0;
  for (let i = 0; i < gold.length; i++) {
    if (gold[i]! < 0) continue;
    const c = Math.min(Math.max(confidence[i]!, 0), 1);
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1));
    cnt[b]!++;
    conf[b]! += c;
    if (pred[i] === gold[i]) acc[b]!++;
    n++;
  }
  if (n === 0) return 0;
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (cnt[b] === 0) continue;
    ece += (cnt[b]! / n) * Math.abs(acc[b]! / cnt[b]! - conf[b]! / cnt[b]!);
  }
  return ece;
}
