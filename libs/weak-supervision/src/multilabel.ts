import type { LabelMatrix } from './matrix.ts';
import { labelMatrixFromCsr } from './matrix.ts';
import { fitLabelModel } from './fit.ts';
import type { FittedLabelModel, ModelKind } from './types.ts';

/**
 * Multi-label votes: per record, per LF that fired, the set of labels it assigned.
 * `rows[i]` = list of `[lf, labels[]]`.
 */
export type MultiLabelRows = ReadonlyArray<ReadonlyArray<readonly [number, readonly number[]]>>;

export interface MultiLabelPrediction {
  /** Per record, the predicted label set (ascending). */
  labels: number[][];
  /** Row-major n × K: P(label c applies to record i). */
  probs: Float64Array;
}

/**
 * Binary matrix for label c: LF j votes 1 on a record if its output includes c; 0 if it fired on the
 * record with other labels and it outputs c somewhere in the data (it "could have" said c); otherwise abstains.
 */
export function binaryMatrixForLabel(rows: MultiLabelRows, numLfs: number, c: number): LabelMatrix {
  const emits = new Uint8Array(numLfs);
  for (const r of rows) for (const [j, ls] of r) if (ls.includes(c)) emits[j] = 1;
  const indptr = new Int32Array(rows.length + 1);
  const lfs: number[] = [];
  const labels: number[] = [];
  rows.forEach((r, i) => {
    const sorted = [...r].sort((a, b) => a[0] - b[0]);
    for (const [j, ls] of sorted) {
      if (ls.includes(c)) {
        lfs.push(j);
        labels.push(1);
      } else if (emits[j] && ls.length > 0) {
        lfs.push(j);
        labels.push(0);
      }
    }
    indptr[i + 1] = lfs.length;
  });
  return labelMatrixFromCsr(rows.length, numLfs, indptr, Int32Array.from(lfs), Int32Array.from(labels));
}

/**
 * Multi-label classification: one binary label model per label (see `binaryMatrixForLabel`); a label is
 * predicted when its probability is ≥ `threshold` (default 0.5). `manualLabels[i]` = the record's gold
 * label set, or null when not labeled.
 */
export function fitMultiLabelModel(
  kind: ModelKind,
  rows: MultiLabelRows,
  options: { numLfs: number; numClasses: number; manualLabels?: ReadonlyArray<readonly number[] | null>; threshold?: number },
): { models: FittedLabelModel[]; predict(): MultiLabelPrediction } {
  const K = options.numClasses;
  const n = rows.length;
  const models: FittedLabelModel[] = [];
  const mats: LabelMatrix[] = [];
  for (let c = 0; c < K; c++) {
    const m = binaryMatrixForLabel(rows, options.numLfs, c);
    mats.push(m);
    const manual = options.manualLabels ? options.manualLabels.map((g) => (g ? (g.includes(c) ? 1 : 0) : -1)) : undefined;
    models.push(fitLabelModel(kind, m, { numClasses: 2, ...(manual ? { manualLabels: manual } : {}) }));
  }
  return {
    models,
    predict(): MultiLabelPrediction {
      const probs = new Float64Array(n * K);
      const labels: number[][] = Array.from({ length: n }, () => []);
      const th = options.threshold ?? 0.5;
      for (let c = 0; c < K; c++) {
        const p = models[c]!.predict(mats[c]);
        for (let i = 0; i < n; i++) {
          // refinery without a weighted vote: probability 0 that the label applies
          const v = p.labels[i]! < 0 ? 0 : p.probs[i * 2 + 1]!;
          probs[i * K + c] = v;
          if (v >= th) labels[i]!.push(c);
        }
      }
      return { labels, probs };
    },
  };
}
