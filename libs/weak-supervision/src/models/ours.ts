import type { LabelMatrix } from '../matrix.ts';
import type { FitOptions, FittedLabelModel, Prediction } from '../types.ts';
import { checkLabels, checkNumClasses, finishPrediction, normalizeManual } from '../util.ts';
import { applyCalibration, identityCalibration, type Calibration } from '../calibration.ts';
import { allScores, fitEm, type EmConfig, type EmParams } from './em.ts';
import { applyResidual, fitResidual, type ResidualModel } from './residual.ts';

export interface OursParams {
  em: EmParams;
  calibration: Calibration;
  /** Semi-supervised correction (undefined without manual labels or with calibrate = false). */
  residual?: ResidualModel;
  /** Estimated class balance P(y). */
  classBalance: Float64Array;
  /** Number of manual labels used. */
  manualCount: number;
  /** Index into OURS_DEFAULTS.semiVariants chosen by cross-validation (-1: unsupervised configuration). */
  variant: number;
}

/** Defaults of the product model (one configuration for all datasets). */
export const OURS_DEFAULTS = {
  modelAbstains: true,
  priorStrength: 1,
  priorAccuracy: 0.7,
  balancePrior: 1,
  monotone: false,
  monotoneRatio: 1,
  abstainWeight: 1,
  abstainWarmup: 0,
  folds: 5,
  /** Semi-supervised: learn a discriminative vote-pattern correction on the manual labels (see residual.ts). */
  residual: true,
  /** Include co-occurring vote pairs as features of the correction. */
  residualPairs: true,
  /** Candidate ridge strengths of the correction, chosen by cross-validation (Infinity = calibration only). */
  residualLambdas: [Infinity, 30, 10, 3, 1, 0.3, 0.1] as number[],
  /**
   * Semi-supervised: EM variants compared by cross-validated log-loss on the manual labels (the best
   * one is used). abstainWeight: see EmConfig; labeledShare ρ: each manual label weighs
   * max(1, ρ · unlabeled / labeled) in the M-step (EM-λ).
   */
  semiVariants: [
    { abstainWeight: 1, labeledShare: 0 },
    { abstainWeight: 0, labeledShare: 0 },
    { abstainWeight: 1, labeledShare: 0.5 },
    { abstainWeight: 0, labeledShare: 0.5 },
  ] as Array<{ abstainWeight: number; labeledShare: number; monotone?: boolean }>,
  /** Experiments: also try each variant with the monotone constraint. */
  semiMonotone: false,
  /** Compare `semiVariants` (false = only the unsupervised configuration). */
  semiSelect: true,
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
    monotone: OURS_DEFAULTS.monotone,
    monotoneRatio: OURS_DEFAULTS.monotoneRatio,
    abstainWeight: OURS_DEFAULTS.abstainWeight,
    abstainWarmup: OURS_DEFAULTS.abstainWarmup,
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
  let manualCount = 0;
  if (manual) for (let i = 0; i < manual.length; i++) if (manual[i]! >= 0) manualCount++;
  let em: EmParams;
  let calibration = identityCalibration(K);
  calibration.scale = OURS_DEFAULTS.unsupervisedScale;
  let residual: ResidualModel | undefined;
  let variant = -1;
  if (manual && manualCount > 0 && (options.calibrate ?? true)) {
    const unlabeled = matrix.numRecords - manualCount;
    let variants = OURS_DEFAULTS.semiSelect ? OURS_DEFAULTS.semiVariants : [{ abstainWeight: cfg.abstainWeight ?? 1, labeledShare: 0 }];
    if (OURS_DEFAULTS.semiMonotone) variants = [...variants, ...variants.map((v) => ({ ...v, monotone: true }))];
    let best: { em: EmParams; residual: ResidualModel; v: number } | undefined;
    for (let v = 0; v < variants.length; v++) {
      const vc: EmConfig = {
        ...cfg,
        abstainWeight: variants[v]!.abstainWeight,
        monotone: variants[v]!.monotone ?? cfg.monotone ?? false,
        labeledWeight: Math.max(1, (variants[v]!.labeledShare * unlabeled) / manualCount),
      };
      const emV = fitEm(matrix, vc, manual);
      const oof = outOfFoldScores(matrix, manual, manualCount, vc, emV);
      const r = fitResidual(matrix, oof.ids, oof.scores, oof.labels, K, {
        ridgeAB: OURS_DEFAULTS.calibrationRidge,
        lambdas: OURS_DEFAULTS.residual ? OURS_DEFAULTS.residualLambdas : [Infinity],
        folds: OURS_DEFAULTS.folds,
        pairs: OURS_DEFAULTS.residualPairs,
      });
      // strictly better only (ties keep the earlier variant); NaN (1 label) keeps the first
      if (!best || r.cvNll < best.residual.cvNll - 1e-9) best = { em: emV, residual: r, v };
    }
    em = best!.em;
    residual = best!.residual;
    variant = best!.v;
    calibration = { scale: residual.scale, bias: residual.bias, fittedOn: manualCount };
  } else em = fitEm(matrix, cfg, manual);
  const classBalance = new Float64Array(K);
  for (let y = 0; y < K; y++) classBalance[y] = Math.exp(em.logPrior[y]!);
  const params: OursParams = { em, calibration, classBalance, manualCount, variant, ...(residual ? { residual } : {}) };
  return {
    kind: 'ours',
    numClasses: K,
    params,
    predict(m: LabelMatrix = matrix): Prediction {
      checkLabels(m, K);
      if (m.numLfs !== em.numLfs) throw new RangeError('predict: matrix has a different LF count');
      const probs = allScores(em, m);
      if (residual) applyResidual(residual, m, probs);
      else applyCalibration(probs, m.numRecords, K, calibration, probs);
      return finishPrediction(probs, m.numRecords, K);
    },
  };
}

/** Generative scores of the labeled records, each from an EM refit with its fold's labels hidden. */
function outOfFoldScores(matrix: LabelMatrix, manual: Int32Array, count: number, cfg: EmConfig, full: EmParams): { ids: Int32Array; scores: Float64Array; labels: Int32Array } {
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
  return { ids: labeledIdx, scores, labels };
}

function scoreRow(p: EmParams, m: LabelMatrix, i: number, out: Float64Array): void {
  const K = p.numClasses;
  for (let y = 0; y < K; y++) out[y] = p.logPrior[y]! + p.base[y]!;
  for (let k = m.indptr[i]!; k < m.indptr[i + 1]!; k++) {
    const off = (m.lfs[k]! * K + m.labels[k]!) * K;
    for (let y = 0; y < K; y++) out[y] = out[y]! + p.delta[off + y]!;
  }
}
