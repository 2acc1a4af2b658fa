import type { LabelMatrix } from '../matrix.ts';
import type { FitOptions, FittedLabelModel, Prediction } from '../types.ts';
import { checkLabels, checkNumClasses, normalizeManual, sigmoid } from '../util.ts';

export interface RefineryParams {
  /** Per LF: precision on the manually labeled records it voted on; 0 without overlap. */
  weights: Float64Array;
  /** Per LF: number of manually labeled records it voted on. */
  overlap: Int32Array;
}

/**
 * refinery's precision-weighted vote. Weight of an LF = its precision on the manually labeled records
 * it voted on (0 if it voted on none). Score of a class = sum of the weights of the LFs voting for it.
 * Label = argmax score (ties to the lowest id); confidence = sigmoid(top score - second score);
 * the other classes share 1 - confidence equally. A record whose scores are all 0 (no votes, or only
 * votes of weight-0 LFs — always the case without manual labels) gets no label: label -1,
 * confidence 0, uniform probs.
 */
export function refineryVote(matrix: LabelMatrix, options: FitOptions): FittedLabelModel<RefineryParams> {
  const K = options.numClasses;
  checkNumClasses(K);
  checkLabels(matrix, K);
  const manual = normalizeManual(options.manualLabels, matrix.numRecords, K);
  const m = matrix.numLfs;
  const hits = new Float64Array(m);
  const overlap = new Int32Array(m);
  if (manual) {
    for (let i = 0; i < matrix.numRecords; i++) {
      const y = manual[i]!;
      if (y < 0) continue;
      for (let k = matrix.indptr[i]!; k < matrix.indptr[i + 1]!; k++) {
        const j = matrix.lfs[k]!;
        overlap[j]!++;
        if (matrix.labels[k] === y) hits[j]!++;
      }
    }
  }
  const weights = new Float64Array(m);
  for (let j = 0; j < m; j++) weights[j] = overlap[j]! > 0 ? hits[j]! / overlap[j]! : 0;
  const params: RefineryParams = { weights, overlap };
  return {
    kind: 'refinery',
    numClasses: K,
    params,
    predict(mat: LabelMatrix = matrix): Prediction {
      checkLabels(mat, K);
      return predictRefinery(mat, K, weights);
    },
  };
}

export function predictRefinery(m: LabelMatrix, K: number, weights: Float64Array): Prediction {
  const n = m.numRecords;
  const probs = new Float64Array(n * K);
  const labels = new Int32Array(n);
  const confidence = new Float64Array(n);
  const score = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    score.fill(0);
    for (let k = m.indptr[i]!; k < m.indptr[i + 1]!; k++) score[m.labels[k]!]! += weights[m.lfs[k]!]!;
    let best = 0;
    for (let c = 1; c < K; c++) if (score[c]! > score[best]!) best = c;
    const o = i * K;
    if (!(score[best]! > 0)) {
      labels[i] = -1;
      for (let c = 0; c < K; c++) probs[o + c] = 1 / K;
      continue;
    }
    let second = -Infinity;
    for (let c = 0; c < K; c++) if (c !== best && score[c]! > second) second = score[c]!;
    const conf = K === 1 ? 1 : sigmoid(score[best]! - (second === -Infinity ? 0 : second));
    labels[i] = best;
    confidence[i] = conf;
    for (let c = 0; c < K; c++) probs[o + c] = c === best ? conf : (1 - conf) / (K - 1);
  }
  return { numClasses: K, labels, probs, confidence };
}
