import { describe, expect, it } from 'vitest';
import { OURS_DEFAULTS, accuracy, fitEm, seededRandom, fitLabelModel, labelMatrixFromDense, labelMatrixFromRows, type LabelMatrix, type OursParams } from './index.ts';
import { applyResidual, fitResidual } from './models/residual.ts';

const rng = seededRandom;

/**
 * Correlated LFs: LF 0..2 are three copies of ONE noisy heuristic (acc 0.65, always fire together),
 * LF 3 is an independent accurate one (acc 0.85). Naive Bayes counts the copies three times, so on
 * conflict rows it follows the copies; the truth favours LF 3.
 */
function correlated(n: number, seed: number): { m: LabelMatrix; gold: Int32Array } {
  const r = rng(seed);
  const gold = new Int32Array(n);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const y = r() < 0.5 ? 0 : 1;
    gold[i] = y;
    const a = r() < 0.8 ? (r() < 0.65 ? y : 1 - y) : -1;
    const b = r() < 0.8 ? (r() < 0.85 ? y : 1 - y) : -1;
    rows.push([a, a, a, b]);
  }
  return { m: labelMatrixFromDense(rows), gold };
}

function conflictRows(m: LabelMatrix): number[] {
  const out: number[] = [];
  for (let i = 0; i < m.numRecords; i++) {
    const s = m.indptr[i]!;
    const e = m.indptr[i + 1]!;
    let has3 = -1;
    let copy = -1;
    for (let k = s; k < e; k++) {
      if (m.lfs[k] === 3) has3 = m.labels[k]!;
      else copy = m.labels[k]!;
    }
    if (has3 >= 0 && copy >= 0 && has3 !== copy) out.push(i);
  }
  return out;
}

describe("semi-supervised 'ours': vote-pattern correction learned from manual labels", () => {
  const { m, gold } = correlated(3000, 21);
  const conflicts = conflictRows(m);

  it('unsupervised naive Bayes double-counts copies; manual labels fix the conflict rows', () => {
    expect(conflicts.length).toBeGreaterThan(200);
    const unsup = fitLabelModel('ours', m, { numClasses: 2 }).predict();
    const manual = new Int32Array(m.numRecords).fill(-1);
    for (let i = 0; i < 400; i++) manual[i] = gold[i]!;
    const model = fitLabelModel('ours', m, { numClasses: 2, manualLabels: manual });
    const semi = model.predict();
    const held = conflicts.filter((i) => i >= 400);
    const g = held.map((i) => gold[i]!);
    const aU = accuracy(g, held.map((i) => unsup.labels[i]!));
    const aS = accuracy(g, held.map((i) => semi.labels[i]!));
    // truth on conflict rows: LF 3 right with odds 0.85·0.35 : 0.15·0.65 ≈ 75 %
    expect(aU).toBeLessThan(0.5);
    expect(aS).toBeGreaterThan(0.65);
    const params = model.params as OursParams;
    expect(params.residual).toBeDefined();
    expect(Number.isFinite(params.residual!.lambda)).toBe(true);
    expect(params.variant).toBeGreaterThanOrEqual(0);
    // overall held-out accuracy does not get worse
    const rest = Array.from({ length: m.numRecords - 400 }, (_, k) => k + 400);
    expect(accuracy(rest.map((i) => gold[i]!), rest.map((i) => semi.labels[i]!))).toBeGreaterThan(accuracy(rest.map((i) => gold[i]!), rest.map((i) => unsup.labels[i]!)));
  });

  it('is deterministic and well-formed', () => {
    const manual = new Int32Array(m.numRecords).fill(-1);
    for (let i = 0; i < 200; i++) manual[i] = gold[i]!;
    const a = fitLabelModel('ours', m, { numClasses: 2, manualLabels: manual }).predict();
    const b = fitLabelModel('ours', m, { numClasses: 2, manualLabels: manual }).predict();
    expect(Array.from(a.probs)).toEqual(Array.from(b.probs));
    for (let i = 0; i < m.numRecords; i++) {
      expect(Number.isFinite(a.probs[2 * i]!)).toBe(true);
      expect(a.probs[2 * i]! + a.probs[2 * i + 1]!).toBeCloseTo(1, 12);
    }
  });

  it('one or two manual labels, or all of one class: defined, finite results', () => {
    for (const manualRows of [[[0, 1]], [[0, 1], [1, 0]], [[0, 1], [1, 1], [2, 1], [3, 1], [4, 1], [5, 1]]]) {
      const manual = new Int32Array(m.numRecords).fill(-1);
      for (const [i, y] of manualRows) manual[i!] = y!;
      const p = fitLabelModel('ours', m, { numClasses: 2, manualLabels: manual }).predict();
      for (let i = 0; i < p.probs.length; i++) expect(Number.isFinite(p.probs[i]!)).toBe(true);
      for (let i = 0; i < p.confidence.length; i++) expect(p.confidence[i]!).toBeGreaterThanOrEqual(0.5);
    }
  });
});

describe('fitResidual', () => {
  it('λ = ∞ only: no feature terms, a Platt map', () => {
    const m = labelMatrixFromRows([[[0, 1]], [[0, 0]], [], [[0, 1]]], 1);
    const scores = Float64Array.from([0, 1, 0, -1, 0, 0, 0, 1]);
    const r = fitResidual(m, Int32Array.from([0, 1, 2, 3]), scores, Int32Array.from([1, 0, 0, 1]), 2, { ridgeAB: 1, lambdas: [Infinity], folds: 2, pairs: true });
    expect(r.beta.length).toBe(0);
    expect(r.lambda).toBe(Infinity);
    expect(r.scale).toBeGreaterThan(1);
  });

  it('learns that a vote pattern means the opposite of what the generative scores say', () => {
    // pattern A (LF0 and LF1 say 1) and pattern B (LF0 alone says 1) get the same generative scores
    // (class 1); the labels say A is class 0 and B class 1 — only the vote features can tell them apart
    const rows: Array<Array<[number, number]>> = [];
    const labels: number[] = [];
    const sc: number[] = [];
    for (let i = 0; i < 200; i++) {
      if (i % 2 === 0) {
        rows.push([[0, 1], [1, 1]]);
        labels.push(i % 20 === 0 ? 1 : 0);
      } else {
        rows.push([[0, 1]]);
        labels.push(i % 20 === 1 ? 0 : 1);
      }
      sc.push(0, 2);
    }
    const m = labelMatrixFromRows(rows, 2);
    const ids = Int32Array.from({ length: 200 }, (_, i) => i);
    const r = fitResidual(m, ids, Float64Array.from(sc), Int32Array.from(labels), 2, { ridgeAB: 1, lambdas: [Infinity, 10, 1, 0.1], folds: 5, pairs: true });
    expect(Number.isFinite(r.lambda)).toBe(true);
    const probs = Float64Array.from(sc);
    applyResidual(r, m, probs);
    expect(probs[0 * 2]!).toBeGreaterThan(0.7); // pattern A → class 0
    expect(probs[1 * 2 + 1]!).toBeGreaterThan(0.7); // pattern B → class 1
    // calibration alone (λ = ∞) cannot separate them
    const cal = fitResidual(m, ids, Float64Array.from(sc), Int32Array.from(labels), 2, { ridgeAB: 1, lambdas: [Infinity], folds: 5, pairs: true });
    const pc = Float64Array.from(sc);
    applyResidual(cal, m, pc);
    expect(pc[0]).toBeCloseTo(pc[2]!, 12);
    // unseen feature (no vote at all) falls back to a · s + b
    const unseen = labelMatrixFromRows([[]], 2);
    const u = Float64Array.from([0, 3]);
    applyResidual(r, unseen, u);
    expect(u[0]! + u[1]!).toBeCloseTo(1, 12);
  });
});

describe('EM options', () => {
  const r = rng(5);
  const rows: number[][] = [];
  const gold: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const y = r() < 0.5 ? 0 : 1;
    gold.push(y);
    rows.push([r() < 0.7 ? (r() < 0.9 ? y : 1 - y) : -1, r() < 0.7 ? (r() < 0.8 ? y : 1 - y) : -1, r() < 0.3 ? 1 : -1]);
  }
  const m = labelMatrixFromDense(rows);
  const base = { numClasses: 2, modelAbstains: true, priorStrength: 1, priorAccuracy: 0.7, balancePrior: 1, estimateBalance: true, maxIter: 100, tol: 1e-7 };

  it('monotone: a vote for l is never evidence against l', () => {
    for (const ratio of [1, 2]) {
      const p = fitEm(m, { ...base, monotone: true, monotoneRatio: ratio }, undefined);
      for (let j = 0; j < 3; j++) {
        for (let l = 0; l < 2; l++) {
          const own = p.theta[(j * 2 + l) * 3 + l]!;
          const other = p.theta[(j * 2 + (1 - l)) * 3 + l]!;
          expect(own).toBeGreaterThanOrEqual(ratio * other - 1e-9);
        }
        for (let y = 0; y < 2; y++) {
          let s = 0;
          for (let o = 0; o < 3; o++) s += p.theta[(j * 2 + y) * 3 + o]!;
          expect(s).toBeCloseTo(1, 9);
        }
      }
    }
  });

  it('labeledWeight pulls the confusions towards the labeled records', () => {
    // labeled records say LF 2 (which always votes 1) fires only on class 1
    const manual = new Int32Array(2000).fill(-1);
    for (let i = 0; i < 100; i++) {
      const fires = m.indptr[i + 1]! > m.indptr[i]! && m.lfs[m.indptr[i + 1]! - 1] === 2;
      manual[i] = fires ? 1 : gold[i]!;
    }
    const lo = fitEm(m, { ...base, labeledWeight: 1 }, manual);
    const hi = fitEm(m, { ...base, labeledWeight: 50 }, manual);
    const fire0 = (p: typeof lo): number => p.theta[(2 * 2 + 0) * 3 + 1]!;
    expect(fire0(hi)).toBeLessThan(fire0(lo));
    expect(fire0(hi)).toBeLessThan(0.1);
  });

  it('abstainWeight 0: uncovered records get the class balance only', () => {
    const p = fitEm(m, { ...base, abstainWeight: 0 }, undefined);
    expect(Array.from(p.base)).toEqual([0, 0]);
  });
});

describe('semi-supervised out-of-fold refits on a sample of the unlabeled records', () => {
  it('give nearly the same predictions as refits on every record', () => {
    // 20k records, 12 LFs of accuracy 0.55–0.9, 300 manual labels; sample lowered to 5000 (≈ 1 in 4,
    // like the default 200k of 1M records)
    const n = 20000;
    const r = rng(31);
    const gold = new Int32Array(n);
    const rows: number[][] = [];
    for (let i = 0; i < n; i++) {
      const y = r() < 0.4 ? 0 : 1;
      gold[i] = y;
      rows.push(Array.from({ length: 12 }, (_, j) => (r() < 0.3 ? (r() < 0.55 + 0.03 * j ? y : 1 - y) : -1)));
    }
    const m = labelMatrixFromDense(rows);
    const manual = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i += 67) manual[i] = gold[i]!;
    const fit = () => fitLabelModel('ours', m, { numClasses: 2, manualLabels: manual });
    const exact = fit();
    const saved = OURS_DEFAULTS.oofUnlabeledSample;
    OURS_DEFAULTS.oofUnlabeledSample = 5000;
    let sampled;
    try {
      sampled = fit();
    } finally {
      OURS_DEFAULTS.oofUnlabeledSample = saved;
    }
    const pa = exact.predict();
    const pb = sampled.predict();
    let same = 0;
    let maxDiff = 0;
    for (let i = 0; i < n; i++) {
      if (pa.labels[i] === pb.labels[i]) same++;
      maxDiff = Math.max(maxDiff, Math.abs(pa.probs[2 * i + 1]! - pb.probs[2 * i + 1]!));
    }
    // an approximation: labels near the boundary may move (here 2 %, by ≤ 0.05 in probability)
    expect(same / n).toBeGreaterThan(0.95);
    expect(maxDiff).toBeLessThan(0.1);
    expect(maxDiff).toBeGreaterThan(0); // the sampled refits did run (identical fits would give 0)
    expect(Math.abs(accuracy(gold, pa.labels) - accuracy(gold, pb.labels))).toBeLessThan(0.005);
  });
});
