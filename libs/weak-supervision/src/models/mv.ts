import type { LabelMatrix } from '../matrix.ts';
import type { FitOptions, FittedLabelModel, Prediction, TieBreak } from '../types.ts';
import { checkLabels, checkNumClasses } from '../util.ts';

export interface MajorityVoteParams {
  tieBreak: TieBreak;
}

/**
 * Majority vote (WRENCH `MajorityVoting`): probs = vote counts / total votes; a record without votes
 * gets the uniform distribution. The label is the argmax; ties (including uncovered records) are broken
 * by `tieBreak` ('rowModulo': tied class at position `row % numTied`, as Snorkel's `probs_to_preds`).
 * Manual labels are ignored.
 */
export function majorityVote(matrix: LabelMatrix, options: FitOptions): FittedLabelModel<MajorityVoteParams> {
  const K = options.numClasses;
  checkNumClasses(K);
  checkLabels(matrix, K);
  const params: MajorityVoteParams = { tieBreak: options.tieBreak ?? 'rowModulo' };
  return {
    kind: 'mv',
    numClasses: K,
    params,
    predict(m: LabelMatrix = matrix): Prediction {
      checkLabels(m, K);
      return predictMv(m, K, params.tieBreak);
    },
  };
}

export function predictMv(m: LabelMatrix, K: number, tieBreak: TieBreak): Prediction {
  const n = m.numRecords;
  const probs = new Float64Array(n * K);
  const labels = new Int32Array(n);
  const confidence = new Float64Array(n);
  const ties = new Int32Array(K);
  for (let i = 0; i < n; i++) {
    const o = i * K;
    const s = m.indptr[i]!;
    const e = m.indptr[i + 1]!;
    for (let k = s; k < e; k++) probs[o + m.labels[k]!]! += 1;
    const total = e - s;
    if (total === 0) for (let c = 0; c < K; c++) probs[o + c] = 1 / K;
    else for (let c = 0; c < K; c++) probs[o + c] = probs[o + c]! / total;
    let mx = -1;
    for (let c = 0; c < K; c++) if (probs[o + c]! > mx) mx = probs[o + c]!;
    let nt = 0;
    for (let c = 0; c < K; c++) if (Math.abs(probs[o + c]! - mx) < 1e-5) ties[nt++] = c;
    const lab = tieBreak === 'rowModulo' ? ties[i % nt]! : ties[0]!;
    labels[i] = lab;
    confidence[i] = probs[o + lab]!;
  }
  return { numClasses: K, labels, probs, confidence };
}
