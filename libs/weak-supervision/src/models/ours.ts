import type { LabelMatrix } from '../matrix.ts';
import type { FitOptions, FittedLabelModel, Prediction } from '../types.ts';
import { checkLabels, checkNumClasses, finishPrediction, normalizeManual } from '../util.ts';
import { applyCalibration, fitCalibration, identityCalibration, type Calibration } from '../calibration.ts';
import { allScores, fitEm, type EmConfig, type EmParams } from './em.ts';

export interface OursParams {
  em: EmParams;
  calibration: Calibration;
  /** Estimated class balance P(y). */
  classBalance: Float64Array;
  /** Number of manual labels used. */
  manualCount: number;
}

/** Defaults of the product model (one configuration for all datasets). */
export const OURS_DEFAULTS = {
  modelAbstains: true,
  priorStrength: 1,
  priorAccuracy: 0.7,
  balancePrior: 1,
  folds: 5,
  calibrationRidge: 1,
  /** Inverse temperature used when there are no manual labels to fit calibration on. */
  unsupervisedScale: 1,
};

export function emConfigFor(options: FitOptions): EmConfig {
  return {
    numClasses: options.numClasses,
    modelAbstains: options.modelAbstains ?? OURS_DEFAULTS.modelAbstains,
    priorStrength: OURS_DEFAULTS.priorStrength,
    priorAccuracy: OURS_DEFAULTS.priorAccuracy,
    balancePrior: OURS_DEFAULTS.balancePrior,
    estimateBalance: true,
    maxIter: options.maxIter ?? 100,
    tol: options.tol ?? 1e-7,
  };
}

/**
 * The default label model. Semi-supervised Dawid-Skene EM:
 *  - class-conditional LF confusion matrices with a Dirichlet prior (mean accuracy 0.7, strength 1);
 *  - "LF abstained" is modelled as an outcome (so uncovered records get prior × P(all abstain | y));
 *  - class balance estimated with a Dirichlet(1) prior;
 *  - manual labels initialise the parameters and are clamped in every E-step;
 *  - final calibration softmax(a·s + b): fitted on out-of-fold scores of the manually labeled records
 *    (K-fold cross-fitting, ridge towards identity); without manual labels the identity map.
 */
export function oursModel(matrix: LabelMatrix, options: FitOptions): FittedLabelModel<OursParams> {
  const K = options.numClasses;
  checkNumClasses(K);
  checkLabels(matrix, K);
  const manual = normalizeManual(options.manualLabels, matrix.numRecords, K);
  const cfg = emConfigFor(options);
  const em = fitEm(matrix, cfg, manual);
  let calibration = identityCalibration(K);
  calibration.scale = OURS_DEFAULTS.unsupervisedScale;
  let manualCount = 0;
  if (manual) for (let i = 0; i < manual.length; i++) if (manual[i]! >= 0) manualCount++;
  if (manual && manualCount > 0 && (options.calibrate ?? true)) {
    calibration = crossFitCalibration(matrix, manual, manualCount, cfg, em);
  }
  const classBalance = new Float64Array(K);
  for (let y = 0; y < K; y++) classBalance[y] = Math.exp(em.logPrior[y]!);
  const params: OursParams = { em, calibration, classBalance, manualCount };
  return {
    kind: 'ours',
    numClasses: K,
    params,
    predict(m: LabelMatrix = matrix): Prediction {
      checkLabels(m, K);
      if (m.numLfs !== em.numLfs) throw new RangeError('predict: matrix has a different LF count');
      const probs = allScores(em, m);
      applyCalibration(probs, m.numRecords, K, calibration, probs);
      return finishPrediction(probs, m.numRecords, K);
    },
  };
}

function crossFitCalibration(matrix: LabelMatrix, manual: Int32Array, count: number, cfg: EmConfig, full: EmParams): Calibration {
  const K = cfg.numClasses;
  const folds = Math.min(OURS_DEFAULTS.folds, count);
  const labeledIdx = new Int32Array(count);
  let c = 0;
  for (let i = 0; i < manual.length; i++) if (manual[i]! >= 0) labeledIdx[c++] = i;
  const scores = new Float64Array(count * K);
  const labels = new Int32Array(count);
  const row = new Float64Array(K);
  const held = new Int32Array(manual);
  for (let f = 0; f < folds; f++) {
    held.set(manual);
    for (let r = f; r < count; r += folds) held[labeledIdx[r]!] = -1;
    const p = folds > 1 ? fitEm(matrix, { ...cfg, maxIter: Math.min(cfg.maxIter, 50) }, held, full) : full;
    for (let r = f; r < count; r += folds) {
      const i = labeledIdx[r]!;
      scoreRow(p, matrix, i, row);
      scores.set(row, r * K);
      labels[r] = manual[i]!;
    }
  }
  return fitCalibration(scores, labels, K, OURS_DEFAULTS.calibrationRidge);
}

function scoreRow(p: EmParams, m: LabelMatrix, i: number, out: Float64Array): void {
  const K = p.numClasses;
  for (let y = 0; y < K; y++) out[y] = p.logPrior[y]! + p.base[y]!;
  for (let k = m.indptr[i]!; k < m.indptr[i + 1]!; k++) {
    const off = (m.lfs[k]! * K + m.labels[k]!) * K;
    for (let y = 0; y < K; y++) out[y] = out[y]! + p.delta[off + y]!;
  }
}
