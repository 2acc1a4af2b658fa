import { afterEach, describe, expect, it } from 'vitest';
import { fitEm, fitLabelModel, labelMatrixFromDense, seededRandom, OURS_DEFAULTS, type EmConfig, type LabelMatrix, type OursParams } from './index.ts';
import { perLfRates, allScores } from './models/em.ts';
import { applyResidual, fitResidual } from './models/residual.ts';
import { stackWeights } from './models/ours.ts';

/** Session-5 experiments of the semi-supervised path (switches in OURS_DEFAULTS; see bench/results/ws-2026-11-27.md). */

const saved = structuredClone({ ...OURS_DEFAULTS });
afterEach(() => Object.assign(OURS_DEFAULTS, structuredClone(saved)));

/** One-class keyword-like rules: LF 0–2 vote 1 (accuracies 0.9 / 0.8 / 0.6), LF 3–4 vote 0. */
function rules(n: number, seed: number): { m: LabelMatrix; gold: Int32Array } {
  const r = seededRandom(seed);
  const gold = new Int32Array(n);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const y = r() < 0.45 ? 1 : 0;
    gold[i] = y;
    rows.push([
      r() < (y === 1 ? 0.5 : 0.05) ? 1 : -1,
      r() < (y === 1 ? 0.3 : 0.07) ? 1 : -1,
      r() < (y === 1 ? 0.2 : 0.12) ? 1 : -1,
      r() < (y === 0 ? 0.4 : 0.05) ? 0 : -1,
      r() < (y === 0 ? 0.3 : 0.1) ? 0 : -1,
    ]);
  }
  return { m: labelMatrixFromDense(rows), gold };
}

describe('stackWeights', () => {
  it('gives all weight to a candidate that is better on every record', () => {
    const n = 50;
    const good = new Float64Array(2 * n);
    const flat = new Float64Array(2 * n).fill(0.5);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) (labels[i] = i % 2), (good[2 * i + (i % 2)] = 0.9), (good[2 * i + 1 - (i % 2)] = 0.1);
    const w = stackWeights([flat, good], labels, 2);
    expect(w[0]).toBe(0);
    expect(w[1]).toBeCloseTo(1, 12);
  });

  it('splits the weight between complementary candidates', () => {
    // A is right (0.9) on the first half and wrong (0.1) on the second, B the opposite: optimum w = ½
    const n = 40;
    const a = new Float64Array(2 * n);
    const b = new Float64Array(2 * n);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const pa = i < n / 2 ? 0.9 : 0.1;
      a[2 * i + 1] = pa;
      a[2 * i] = 1 - pa;
      b[2 * i + 1] = 1 - pa;
      b[2 * i] = pa;
      labels[i] = 1;
    }
    const w = stackWeights([a, b], labels, 2);
    expect(w[0]).toBeCloseTo(0.5, 6);
    expect(w[1]).toBeCloseTo(0.5, 6);
    // asymmetric: A right on 3/4 of the records → w_A = (3/4 · 0.9 − 1/4 · 0.1 − ...) solves the score equation
    const labels2 = Int32Array.from({ length: n }, (_, i) => (i < (3 * n) / 4 ? 1 : 0));
    const w2 = stackWeights([a, b], labels2, 2);
    // d/dw Σ log(w·pA + (1−w)·pB) = 0 checked numerically
    const ll = (x: number): number => {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.log(x * a[2 * i + labels2[i]!]! + (1 - x) * b[2 * i + labels2[i]!]!);
      return s;
    };
    expect(ll(w2[0]!)).toBeGreaterThanOrEqual(ll(w2[0]! + 0.01));
    expect(ll(w2[0]!)).toBeGreaterThanOrEqual(ll(w2[0]! - 0.01));
    expect(w2[0]! + w2[1]!).toBeCloseTo(1, 12);
  });
});

describe('fitResidual: one-standard-error rule for λ', () => {
  it('a weak feature on 120 labels: plain CV takes a finite λ, the rule a stronger ridge', () => {
    // LF 0 fires on 65 % of class 1 and 35 % of class 0; LF 1–3 are noise
    const r = seededRandom(1);
    const n = 120;
    const rows: number[][] = [];
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const y = r() < 0.5 ? 1 : 0;
      labels[i] = y;
      rows.push([r() < (y ? 0.65 : 0.35) ? 1 : -1, r() < 0.5 ? 0 : -1, r() < 0.5 ? 1 : -1, r() < 0.5 ? 1 : -1]);
    }
    const m = labelMatrixFromDense(rows);
    const ids = Int32Array.from({ length: n }, (_, i) => i);
    const scores = new Float64Array(2 * n);
    const opt = { ridgeAB: 1, lambdas: [Infinity, 30, 10, 3, 1, 0.3, 0.1], folds: 5, pairs: true };
    const plain = fitResidual(m, ids, scores, labels, 2, opt);
    const se = fitResidual(m, ids, scores, labels, 2, { ...opt, oneSe: true });
    expect(plain.lambda).toBe(10);
    expect(se.lambda).toBe(30);
    expect(se.cvNll).toBeGreaterThan(plain.cvNll);
  });

  it('informative features: a finite λ, never less regularised than the plain CV choice', () => {
    const { m, gold } = rules(300, 11);
    const ids = Int32Array.from({ length: 300 }, (_, i) => i);
    const scores = new Float64Array(600); // flat generative scores: only the features can tell
    const opt = { ridgeAB: 1, lambdas: [Infinity, 30, 10, 3, 1, 0.3, 0.1], folds: 5, pairs: true };
    const plain = fitResidual(m, ids, scores, gold, 2, opt);
    const se = fitResidual(m, ids, scores, gold, 2, { ...opt, oneSe: true });
    expect(Number.isFinite(se.lambda)).toBe(true);
    expect(se.lambda).toBeGreaterThanOrEqual(plain.lambda);
    expect(se.cvNll).toBeGreaterThanOrEqual(plain.cvNll);
    // the reported CV log-loss is the chosen λ's own
    expect(fitResidual(m, ids, scores, gold, 2, { ...opt, lambdas: [se.lambda] }).cvNll).toBeCloseTo(se.cvNll, 10);
  });
});

describe('EmConfig.priorRates (per-LF prior centred on a label-free estimate)', () => {
  const { m, gold } = rules(3000, 7);
  const cfg: EmConfig = { numClasses: 2, modelAbstains: true, priorStrength: 1, priorAccuracy: 0.7, balancePrior: 1, estimateBalance: true, maxIter: 100, tol: 1e-9 };

  it("perLfRates of a 'class' fit: P(j says l | y) = P(some vote l | y) · P(j says l | some vote l, y), rows sum to 1", () => {
    const p = fitEm(m, { ...cfg, coverage: 'class' }, undefined);
    const r = perLfRates(p);
    for (let j = 0; j < 5; j++) {
      for (let y = 0; y < 2; y++) {
        const row = (j * 2 + y) * 3;
        expect(r[row]! + r[row + 1]! + r[row + 2]!).toBeCloseTo(1, 9);
        const l = j < 3 ? 1 : 0;
        expect(r[row + l]).toBeCloseTo(p.groupRate[l * 2 + y]! * p.theta[row + l]!, 6);
      }
    }
    // per-LF fit: its own theta
    const q = fitEm(m, cfg, undefined);
    const rq = perLfRates(q);
    for (let k = 0; k < rq.length; k++) expect(rq[k]).toBeCloseTo(Math.max(1e-6, q.theta[k]!), 6);
  });

  it('a strong prior holds the rates at the given estimate; a weak one lets the labels speak', () => {
    const manual = new Int32Array(m.numRecords).fill(-1);
    for (let i = 0; i < 200; i++) manual[i] = gold[i]!;
    // a deliberately wrong prior: every LF fires on 20 % of each class
    const prior = new Float64Array(5 * 2 * 3);
    for (let j = 0; j < 5; j++) for (let y = 0; y < 2; y++) prior.set(j < 3 ? [0, 0.2, 0.8] : [0.2, 0, 0.8], (j * 2 + y) * 3);
    const strong = fitEm(m, { ...cfg, priorRates: prior, priorRatesStrength: 1e7 }, manual);
    for (let k = 0; k < prior.length; k++) expect(Math.abs(strong.theta[k]! - prior[k]!)).toBeLessThan(2e-3);
    const weak = fitEm(m, { ...cfg, priorRates: prior, priorRatesStrength: 1 }, manual);
    // LF 0 fires on ≈ 50 % of class 1 and ≈ 5 % of class 0
    expect(weak.theta[(0 * 2 + 1) * 3 + 1]!).toBeGreaterThan(0.4);
    expect(weak.theta[(0 * 2 + 0) * 3 + 1]!).toBeLessThan(0.1);
  });

  it("semi 'class' EM started from the label-free fit reaches the same fixed point as a cold start", () => {
    const manual = new Int32Array(m.numRecords).fill(-1);
    for (let i = 0; i < 200; i++) manual[i] = gold[i]!;
    const c: EmConfig = { ...cfg, coverage: 'class', maxIter: 500, tol: 1e-12 };
    const cold = fitEm(m, c, manual);
    const warm = fitEm(m, c, manual, fitEm(m, c, undefined));
    for (let k = 0; k < cold.delta.length; k++) expect(warm.delta[k]).toBeCloseTo(cold.delta[k]!, 3);
  });
});

describe("oursModel: semi-supervised switches", () => {
  const { m, gold } = rules(2000, 9);
  const manual = new Int32Array(m.numRecords).fill(-1);
  for (let i = 0; i < 150; i++) manual[i] = gold[i]!;

  it('semiStack: the prediction is the weighted average of the members, weights on the simplex', () => {
    OURS_DEFAULTS.semiStack = true;
    OURS_DEFAULTS.semiUnsupervised = true;
    const model = fitLabelModel('ours', m, { numClasses: 2, manualLabels: manual });
    const params = model.params as OursParams;
    expect(params.stack).toBeDefined();
    const stack = params.stack!;
    expect(stack.length).toBeGreaterThan(0);
    expect(stack.reduce((s, x) => s + x.weight, 0)).toBeCloseTo(1, 12);
    for (const x of stack) expect(x.weight).toBeGreaterThan(0);
    const pred = model.predict();
    const mix = new Float64Array(m.numRecords * 2);
    for (const x of stack) {
      const p = allScores(x.em, m);
      applyResidual(x.residual, m, p);
      for (let q = 0; q < p.length; q++) mix[q] = mix[q]! + x.weight * p[q]!;
    }
    for (let q = 0; q < mix.length; q++) expect(pred.probs[q]).toBeCloseTo(mix[q]!, 12);
    for (let i = 0; i < m.numRecords; i++) expect(pred.probs[2 * i]! + pred.probs[2 * i + 1]!).toBeCloseTo(1, 12);
    // sanity: accurate on the records without a manual label
    expect(pred.labels.filter((y, i) => i >= 150 && y === gold[i]).length / (m.numRecords - 150)).toBeGreaterThan(0.7);
  });

  it('semiPriorStrengths adds per-LF variants with the label-free prior (CV picks among all)', () => {
    OURS_DEFAULTS.semiPriorStrengths = [10, 1000];
    const params = fitLabelModel('ours', m, { numClasses: 2, manualLabels: manual }).params as OursParams;
    expect(params.variant).toBeGreaterThanOrEqual(0);
    expect(params.variant).toBeLessThan(4 + 2 * 4);
    OURS_DEFAULTS.semiPriorStrengths = [];
    const off = fitLabelModel('ours', m, { numClasses: 2, manualLabels: manual }).params as OursParams;
    expect(off.variant).toBeLessThan(4);
  });
});
