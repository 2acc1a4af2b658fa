import type { LabelMatrix } from './matrix.ts';

/** Output of a label model for a set of records. */
export interface Prediction {
  readonly numClasses: number;
  /** Predicted class per record; -1 only where the model has no defined answer (refinery rule without weighted votes). */
  readonly labels: Int32Array;
  /** Row-major numRecords × numClasses class probabilities; every row sums to 1. */
  readonly probs: Float64Array;
  /** Probability of the predicted class (0 where labels[i] = -1). */
  readonly confidence: Float64Array;
}

export type ModelKind = 'ours' | 'mv' | 'refinery' | 'ds';

export type TieBreak =
  /** Tied class at position `row % numTied` (deterministic, spreads ties over classes like Snorkel's hash-of-row policy). */
  | 'rowModulo'
  /** Lowest class id among the tied classes. */
  | 'lowest';

export interface FitOptions {
  /** Number of classes K (labels are 0 .. K-1). Votes with label >= K throw. */
  numClasses: number;
  /** Per record of the fitted matrix: manual (gold) class or -1. Optional; models that cannot use it ignore it. */
  manualLabels?: ArrayLike<number>;
  /** MV tie-breaking (default 'rowModulo'). */
  tieBreak?: TieBreak;
  /** EM iteration cap (ds / ours). Default 100. */
  maxIter?: number;
  /** EM relative log-likelihood tolerance. Default 1e-7. */
  tol?: number;
  /** ours: calibrate probabilities (default true). */
  calibrate?: boolean;
  /** ours: model "LF abstained" as evidence (default true). */
  modelAbstains?: boolean;
}

export interface FittedLabelModel<P = unknown> {
  readonly kind: ModelKind;
  readonly numClasses: number;
  readonly params: P;
  /** Predict for `matrix` (default: the matrix the model was fitted on). Same LF set required. */
  predict(matrix?: LabelMatrix): Prediction;
}
