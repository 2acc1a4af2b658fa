import { describe, expect, it } from 'vitest';
import {
  accuracy,
  expectedCalibrationError,
  fitCalibration,
  fitLabelModel,
  labelMatrixFromDense,
  labelMatrixFromRows,
  type LabelMatrix,
  type ModelKind,
  type Prediction,
  seededRandom,
} from './index.ts';

const rng = seededRandom;

/** n records, K classes; LF j fires with prob cov[j] and is right with prob acc[j]. */
function synth(n: number, K: number, acc: number[], cov: number[], seed = 7, balance?: number[]): { m: LabelMatrix; gold: Int32Array } {
  const r = rng(seed);
  const gold = new Int32Array(n);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    let y = 0;
    if (balance) {
      let u = r();
      while (y < K - 1 && u >= balance[y]!) u -= balance[y++]!;
    } else y = Math.floor(r() * K);
    gold[i] = y;
    rows.push(acc.map((a, j) => (r() < cov[j]! ? (r() < a ? y : (y + 1 + Math.floor(r() * (K - 1))) % K) : -1)));
  }
  return { m: labelMatrixFromDense(rows), gold };
}

function expectWellFormed(p: Prediction, n: number, K: number): void {
  expect(p.labels.length).toBe(n);
  expect(p.probs.length).toBe(n * K);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < K; c++) {
      const v = p.probs[i * K + c]!;
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      s += v;
    }
    expect(s).toBeCloseTo(1, 9);
    expect(Number.isFinite(p.confidence[i]!)).toBe(true);
  }
}

const ALL: ModelKind[] = ['ours', 'mv', 'refinery', 'ds'];

describe('classification label models on synthetic data', () => {
  // 2 accurate LFs and 3 weak ones: MV is dragged down by the weak majority, EM learns whom to trust
  const acc = [0.95, 0.9, 0.55, 0.5, 0.5];
  const cov = [0.6, 0.6, 0.9, 0.9, 0.9];
  const { m, gold } = synth(3000, 3, acc, cov);

  it('ours beats majority vote and learns LF accuracies', () => {
    const mv = fitLabelModel('mv', m, { numClasses: 3 }).predict();
    const ours = fitLabelModel('ours', m, { numClasses: 3 });
    const p = ours.predict();
    expectWellFormed(p, m.numRecords, 3);
    const aMv = accuracy(gold, mv.labels);
    const aOurs = accuracy(gold, p.labels);
    expect(aOurs).toBeGreaterThan(aMv + 0.05);
    expect(aOurs).toBeGreaterThan(0.85);
    const theta = (ours.params as { em: { theta: Float64Array } }).em.theta;
    // P(LF votes y | y) for LF 0 vs LF 3, class 0 (row layout (j*K + y)*(K+1) + l)
    const K1 = 4;
    const good = theta[(0 * 3 + 0) * K1 + 0]! / (1 - theta[(0 * 3 + 0) * K1 + 3]!);
    const weak = theta[(3 * 3 + 0) * K1 + 0]! / (1 - theta[(3 * 3 + 0) * K1 + 3]!);
    expect(good).toBeGreaterThan(0.9);
    expect(weak).toBeLessThan(0.65);
  });

  it('estimates an unbalanced class balance', () => {
    const s = synth(4000, 2, [0.85, 0.8, 0.75], [0.7, 0.7, 0.7], 11, [0.8, 0.2]);
    const ours = fitLabelModel('ours', s.m, { numClasses: 2 });
    const bal = (ours.params as { classBalance: Float64Array }).classBalance;
    expect(bal[0]!).toBeGreaterThan(0.72);
    expect(bal[0]!).toBeLessThan(0.88);
  });

  it('semi-supervised: manual labels make the calibrated model sharper and calibrated', () => {
    const manual = new Int32Array(m.numRecords).fill(-1);
    for (let i = 0; i < 300; i++) manual[i] = gold[i]!;
    const semi = fitLabelModel('ours', m, { numClasses: 3, manualLabels: manual });
    const p = semi.predict();
    expectWellFormed(p, m.numRecords, 3);
    const cal = (semi.params as { calibration: { fittedOn: number } }).calibration;
    expect(cal.fittedOn).toBe(300);
    const idx = Array.from({ length: m.numRecords - 300 }, (_, k) => k + 300);
    const g = idx.map((i) => gold[i]!);
    const lab = idx.map((i) => p.labels[i]!);
    const conf = idx.map((i) => p.confidence[i]!);
    expect(accuracy(g, lab)).toBeGreaterThan(0.85);
    expect(expectedCalibrationError(g, lab, conf)).toBeLessThan(0.05);
  });

  it('all models are deterministic', () => {
    for (const k of ALL) {
      const a = fitLabelModel(k, m, { numClasses: 3 }).predict();
      const b = fitLabelModel(k, m, { numClasses: 3 }).predict();
      expect(Array.from(a.probs)).toEqual(Array.from(b.probs));
    }
  });
});

describe('baseline rules', () => {
  it('MV: vote shares, uniform for uncovered, row-modulo or lowest tie-break', () => {
    const m = labelMatrixFromDense([
      [0, 1, -1],
      [0, 1, -1],
      [-1, -1, -1],
      [1, 1, 0],
    ]);
    const p = fitLabelModel('mv', m, { numClasses: 2 }).predict();
    expect(Array.from(p.labels)).toEqual([0, 1, 0, 1]);
    expect(p.probs[4]).toBe(0.5);
    expect(p.probs[7]! * 3).toBeCloseTo(2);
    const low = fitLabelModel('mv', m, { numClasses: 2, tieBreak: 'lowest' }).predict();
    expect(Array.from(low.labels)).toEqual([0, 0, 0, 1]);
  });

  it('refinery: precision weights from manual labels; no weight → no label', () => {
    const m = labelMatrixFromDense([
      [1, 0],
      [1, 0],
      [1, 1],
      [0, -1],
      [-1, 1],
    ]);
    const unsup = fitLabelModel('refinery', m, { numClasses: 2 }).predict();
    expect(Array.from(unsup.labels)).toEqual([-1, -1, -1, -1, -1]);
    expect(Array.from(unsup.confidence)).toEqual([0, 0, 0, 0, 0]);
    const manual = [1, 1, 1, -1, -1];
    const model = fitLabelModel('refinery', m, { numClasses: 2, manualLabels: manual });
    const w = (model.params as { weights: Float64Array }).weights;
    expect(Array.from(w)).toEqual([1, 1 / 3]);
    const p = model.predict();
    expect(Array.from(p.labels)).toEqual([1, 1, 1, 0, 1]);
    expect(p.confidence[0]).toBeCloseTo(1 / (1 + Math.exp(-(1 - 1 / 3))));
  });
});

describe('edge cases: defined results, never NaN', () => {
  it('no votes at all (no LFs, or all abstain): class balance, lowest id', () => {
    for (const m of [labelMatrixFromDense([[], [], []], 0), labelMatrixFromDense([[-1, -1], [-1, -1], [-1, -1]])]) {
      for (const k of ALL) {
        const p = fitLabelModel(k, m, { numClasses: 3 }).predict();
        expectWellFormed(p, 3, 3);
        if (k !== 'refinery') expect(p.probs[0]).toBeCloseTo(1 / 3);
        if (k === 'ours' || k === 'ds') expect(Array.from(p.labels)).toEqual([0, 0, 0]);
      }
      // with manual labels the class balance comes from them
      const p = fitLabelModel('ours', m, { numClasses: 3, manualLabels: [2, 2, -1] }).predict();
      expectWellFormed(p, 3, 3);
      expect(p.labels[2]).toBe(2);
    }
  });

  it('a single heuristic', () => {
    const s = synth(500, 2, [0.9], [0.5], 3);
    for (const k of ALL) {
      const p = fitLabelModel(k, s.m, { numClasses: 2, manualLabels: Array.from(s.gold.slice(0, 50)).concat(new Array(450).fill(-1)) }).predict();
      expectWellFormed(p, 500, 2);
    }
    const p = fitLabelModel('ours', s.m, { numClasses: 2 }).predict();
    // where the LF voted, ours follows it
    for (let i = 0; i < 500; i++) if (s.m.indptr[i + 1]! > s.m.indptr[i]!) expect(p.labels[i]).toBe(s.m.labels[s.m.indptr[i]!]);
  });

  it('labels that no heuristic produces stay possible but unlikely', () => {
    const s = synth(400, 2, [0.9, 0.8], [0.8, 0.8], 5);
    const p = fitLabelModel('ours', s.m, { numClasses: 4 }).predict();
    expectWellFormed(p, 400, 4);
    for (let i = 0; i < 400; i++) {
      expect(p.labels[i]).toBeLessThan(2);
      expect(p.probs[i * 4 + 3]!).toBeLessThan(0.2);
    }
  });

  it('manual labels for a label no heuristic votes for', () => {
    // LFs only ever vote 0/1; manual labels say the uncovered records are class 2
    const rows: Array<Array<[number, number]>> = [];
    const manual: number[] = [];
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 2) rows.push([]);
      else rows.push([[0, i % 3], [1, i % 3]]);
      manual.push(i < 60 ? (i % 3 === 2 ? 2 : i % 3) : -1);
    }
    const m = labelMatrixFromRows(rows, 2);
    for (const k of ALL) expectWellFormed(fitLabelModel(k, m, { numClasses: 3, manualLabels: manual }).predict(), 300, 3);
    const p = fitLabelModel('ours', m, { numClasses: 3, manualLabels: manual }).predict();
    expect(p.labels[299]).toBe(2); // uncovered record → class 2 learned from manual labels
    expect(p.labels[297]).toBe(0);
  });

  it('all-abstain records all get the same documented posterior', () => {
    const s = synth(600, 2, [0.9, 0.85], [0.5, 0.5], 9);
    const model = fitLabelModel('ours', s.m, { numClasses: 2 });
    const p = model.predict();
    const uncovered = [];
    for (let i = 0; i < 600; i++) if (s.m.indptr[i + 1] === s.m.indptr[i]) uncovered.push(i);
    expect(uncovered.length).toBeGreaterThan(50);
    const first = p.probs[uncovered[0]! * 2]!;
    for (const i of uncovered) expect(p.probs[i * 2]).toBeCloseTo(first, 12);
    // rule: softmax(log prior + Σ_j log P(abstain_j | y)), then calibration (identity without labels)
    const em = (model.params as { em: { logPrior: Float64Array; base: Float64Array } }).em;
    const a = em.logPrior[0]! + em.base[0]!;
    const b = em.logPrior[1]! + em.base[1]!;
    expect(first).toBeCloseTo(1 / (1 + Math.exp(b - a)), 10);
  });

  it('zero records and a single class', () => {
    const empty = labelMatrixFromDense([], 3);
    for (const k of ALL) expect(fitLabelModel(k, empty, { numClasses: 2 }).predict().labels.length).toBe(0);
    const one = labelMatrixFromDense([[0, -1], [-1, -1]]);
    for (const k of ALL) {
      const p = fitLabelModel(k, one, { numClasses: 1 }).predict();
      if (k !== 'refinery') expect(Array.from(p.probs)).toEqual([1, 1]);
    }
  });

  it('rejects votes outside numClasses and malformed manual labels', () => {
    const m = labelMatrixFromDense([[0, 3]]);
    expect(() => fitLabelModel('ours', m, { numClasses: 2 })).toThrow(RangeError);
    expect(() => fitLabelModel('ours', labelMatrixFromDense([[0]]), { numClasses: 2, manualLabels: [5] })).toThrow(RangeError);
  });
});

describe('calibration', () => {
  it('recovers a known temperature and bias (Platt scaling)', () => {
    const r = rng(3);
    const n = 4000;
    const scores = new Float64Array(n * 2);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const s = (r() - 0.5) * 12;
      scores[i * 2 + 1] = s;
      const p1 = 1 / (1 + Math.exp(-(0.5 * s + 0.8)));
      labels[i] = r() < p1 ? 1 : 0;
    }
    const cal = fitCalibration(scores, labels, 2, 1);
    expect(cal.scale).toBeGreaterThan(0.4);
    expect(cal.scale).toBeLessThan(0.6);
    expect(cal.bias[1]!).toBeGreaterThan(0.6);
    expect(cal.bias[1]!).toBeLessThan(1.0);
  });
});
