import type { LabelMatrix } from './matrix.ts';
import type { FitOptions, FittedLabelModel, ModelKind } from './types.ts';
import { majorityVote } from './models/mv.ts';
import { refineryVote } from './models/refinery.ts';
import { dawidSkene } from './models/ds.ts';
import { oursModel } from './models/ours.ts';

/** Fit a classification label model of the given kind. 'ours' is the product default. */
export function fitLabelModel(kind: ModelKind, matrix: LabelMatrix, options: FitOptions): FittedLabelModel {
  switch (kind) {
    case 'mv':
      return majorityVote(matrix, options);
    case 'refinery':
      return refineryVote(matrix, options);
    case 'ds':
      return dawidSkene(matrix, options);
    case 'ours':
      return oursModel(matrix, options);
    default:
      throw new RangeError(`unknown label model kind ${String(kind)}`);
  }
}
