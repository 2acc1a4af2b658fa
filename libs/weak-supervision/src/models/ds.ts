import type { LabelMatrix } from '../matrix.ts';
import type { FitOptions, FittedLabelModel, Prediction } from '../types.ts';
import { checkLabels, checkNumClasses, finishPrediction, normalizeManual, softmaxInPlace } from '../util.ts';
import { allScores, fitEm, type EmParams } from './em.ts';

/**
 * Dawid-Skene EM baseline as in WRENCH: full class-conditional confusion matrix per LF over
 * {abstain, 0..K-1} (abstain is an observed outcome), class balance estimated, initialised from
 * majority vote (uncovered records uniform), no prior beyond a 1e-6 pseudo-count (avoids log 0).
 * Manual labels, when given, are clamped (semi-supervised DS).
 */
export function dawidSkene(matrix: LabelMatrix, options: FitOptions): FittedLabelModel<EmParams> {
  const K = options.numClasses;
  checkNumClasses(K);
  checkLabels(matrix, K);
  const manual = normalizeManual(options.manualLabels, matrix.numRecords, K);
  const params = fitEm(
    matrix,
    {
      numClasses: K,
      modelAbstains: true,
      priorStrength: 1e-6,
      priorAccuracy: 1 / K,
      balancePrior: 1e-6,
      estimateBalance: true,
      maxIter: options.maxIter ?? 100,
      tol: options.tol ?? 1e-7,
    },
    manual,
  );
  return {
    kind: 'ds',
    numClasses: K,
    params,
    predict(m: LabelMatrix = matrix): Prediction {
      checkLabels(m, K);
      if (m.numLfs !== params.numLfs) throw new RangeError('predict: matrix has a different LF count');
      const probs = allScores(params, m);
      for (let i = 0; i < m.numRecords; i++) softmaxInPlace(probs, i * K, K);
      return finishPrediction(probs, m.numRecords, K);
    },
  };
}
