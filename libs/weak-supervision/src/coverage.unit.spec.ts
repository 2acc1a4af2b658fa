import { describe, expect, it } from 'vitest';
import { fitEm, fitLabelModel, seededRandom, labelMatrixFromDense, labelMatrixFromRows, type EmConfig, type OursParams } from './index.ts';
import { applyPatterns, fitPatterns } from './models/patterns.ts';
import { unipolarLfs } from './models/ours.ts';

const rng = seededRandom;

/**
 * Class 1 has three rules that fire TOGETHER (one heuristic written three ways) on 40 % of class 1,
 * never on class 0; one class-0 rule fires on 50 % of class 0 and 10 % of class 1. Truth for a record
 * no rule fires on: P(1 | uncovered) = 0.6·0.9 / (0.6·0.9 + 0.5) ≈ 0.519. Naive Bayes over every LF's
 * abstain counts "none of the three fired" three times (0.6³) and calls uncovered records class 0.
 */
function correlatedCoverage(n: number, seed: number): { rows: number[][]; gold: number[] } {
  const r = rng(seed);
  const rows: number[][] = [];
  const gold: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = r() < 0.5 ? 0 : 1;
    gold.push(y);
    const fire1 = y === 1 && r() < 0.4 ? 1 : -1;
    const fire0 = r() < (y === 0 ? 0.5 : 0.1) ? 0 : -1;
    rows.push([fire1, fire1, fire1, fire0]);
  }
  return { rows, gold };
}

const base: EmConfig = { numClasses: 2, modelAbstains: true, priorStrength: 1, priorAccuracy: 0.7, balancePrior: 1, estimateBalance: true, maxIter: 200, tol: 1e-9 };

describe("coverage 'class': one 'some LF voted c' event per class", () => {
  const { rows } = correlatedCoverage(20000, 3);
  const m = labelMatrixFromDense(rows);
  const truth = (0.6 * 0.9) / (0.6 * 0.9 + 0.5);
  const uncovered = labelMatrixFromDense([[-1, -1, -1, -1]]);

  it('does not over-count the abstains of correlated rules (uncovered records)', () => {
    const post = (cfg: EmConfig): number => {
      const p = fitEm(m, cfg, undefined);
      const s = [p.logPrior[0]! + p.base[0]!, p.logPrior[1]! + p.base[1]!];
      return 1 / (1 + Math.exp(s[0]! - s[1]!));
    };
    const lf = post({ ...base, coverage: 'lf' });
    const cls = post({ ...base, coverage: 'class' });
    expect(lf).toBeLessThan(0.4);
    expect(Math.abs(cls - truth)).toBeLessThan(0.05);
    // the product model without manual labels (uncoveredPrior): an uncovered record gets the
    // estimated class balance, not the abstain evidence
    const ours = fitLabelModel('ours', m, { numClasses: 2 });
    const bal = (ours.params as OursParams).classBalance;
    expect(ours.predict(uncovered).probs[1]!).toBeCloseTo(bal[1]!, 10);
    expect(Math.abs(bal[1]! - 0.5)).toBeLessThan(0.1);
    // uncoveredPrior applies to uncovered records only: covered ones still carry the 'no vote for c' terms
    const withPrior = fitEm(m, { ...base, coverage: 'class', uncoveredPrior: true }, undefined);
    expect(withPrior.uncoveredPrior).toBe(true);
    expect(withPrior.base[0]).not.toBe(0);
  });

  it('estimates P(some vote c | y) and keeps every vote an evidence for its class', () => {
    const p = fitEm(m, { ...base, coverage: 'class' }, undefined);
    expect(p.groupRate.length).toBe(4);
    for (const v of p.groupRate) expect(v > 0 && v < 1).toBe(true);
    // class-1 votes: P(some vote 1 | 1) ≈ 0.4, P(some vote 1 | 0) ≈ 0
    expect(p.groupRate[1 * 2 + 1]!).toBeGreaterThan(0.35);
    expect(p.groupRate[1 * 2 + 0]!).toBeLessThan(0.05);
    const covered = fitLabelModel('ours', m, { numClasses: 2 }).predict(labelMatrixFromDense([[1, 1, 1, -1], [-1, -1, -1, 0]]));
    expect(covered.labels[0]).toBe(1);
    expect(covered.labels[1]).toBe(0);
  });

  it('LFs that vote several classes fall back to per-LF abstains', () => {
    expect(unipolarLfs(m)).toBe(true);
    expect(unipolarLfs(labelMatrixFromRows([[[0, 1]], [[0, 0]]], 1))).toBe(false);
    const multi = labelMatrixFromDense(rows.map((r) => [r[0]! >= 0 ? 1 : 0, r[3]!]));
    const p = fitLabelModel('ours', multi, { numClasses: 2 }).params as OursParams;
    expect(p.em.groupDelta.length).toBe(0);
    expect((fitLabelModel('ours', m, { numClasses: 2 }).params as OursParams).em.groupDelta.length).toBe(4);
  });

  it('an LF that votes two classes, K = 3, all-abstain rows, labels no LF votes for: finite, rows sum to 1', () => {
    const rows2: Array<Array<[number, number]>> = [[[0, 0]], [[0, 1], [1, 1]], [], [[1, 0]], [[0, 1]], [], [[0, 0], [1, 1]]];
    const mm = labelMatrixFromRows(rows2, 2);
    for (const manualLabels of [undefined, Int32Array.from([2, -1, 2, -1, 1, -1, 0])]) {
      const p = fitLabelModel('ours', mm, { numClasses: 3, ...(manualLabels ? { manualLabels } : {}) }).predict();
      for (let i = 0; i < mm.numRecords; i++) {
        let s = 0;
        for (let y = 0; y < 3; y++) {
          expect(Number.isFinite(p.probs[i * 3 + y]!)).toBe(true);
          s += p.probs[i * 3 + y]!;
        }
        expect(s).toBeCloseTo(1, 12);
      }
      // the two all-abstain rows share one posterior
      expect(Array.from(p.probs.subarray(6, 9))).toEqual(Array.from(p.probs.subarray(15, 18)));
    }
  });

  it('semi-supervised: the abstain structure is one of the CV-compared variants', () => {
    const { gold } = correlatedCoverage(20000, 3);
    const manual = new Int32Array(m.numRecords).fill(-1);
    for (let i = 0; i < 300; i++) manual[i] = gold[i]!;
    const model = fitLabelModel('ours', m, { numClasses: 2, manualLabels: manual });
    const params = model.params as OursParams;
    // 4 abstain/weight variants × 2 coverages
    expect(params.variant).toBeGreaterThanOrEqual(0);
    expect(params.variant).toBeLessThan(8);
    const p = model.predict(uncovered);
    expect(Math.abs(p.probs[1]! - truth)).toBeLessThan(0.1);
  });
});

describe('per-vote-pattern shrinkage (experimental, off by default)', () => {
  it('pulls a labeled pattern towards its labeled class frequencies when CV prefers it', () => {
    // the model says class 1 with 0.9 for both patterns; the labels say pattern A is class 0
    const rows: Array<Array<[number, number]>> = [];
    const labels: number[] = [];
    for (let i = 0; i < 100; i++) {
      rows.push(i % 2 === 0 ? [[0, 1]] : [[1, 1]]);
      labels.push(i % 2 === 0 ? 0 : 1);
    }
    const m = labelMatrixFromRows(rows, 2);
    const ids = Int32Array.from({ length: 100 }, (_, i) => i);
    const g = new Float64Array(200);
    for (let i = 0; i < 100; i++) (g[2 * i] = 0.1), (g[2 * i + 1] = 0.9);
    const pm = fitPatterns(m, ids, g, Int32Array.from(labels), 2, [Infinity, 10, 1], 5);
    expect(Number.isFinite(pm.strength)).toBe(true);
    const probs = Float64Array.from(g);
    applyPatterns(pm, m, probs);
    expect(probs[0]!).toBeGreaterThan(0.8); // pattern A → class 0
    expect(probs[3]!).toBeGreaterThan(0.9); // pattern B stays class 1
    expect(probs[0]! + probs[1]!).toBeCloseTo(1, 12);
    // unseen pattern: unchanged
    const unseen = labelMatrixFromRows([[[0, 1], [1, 1]]], 2);
    const u = Float64Array.from([0.3, 0.7]);
    applyPatterns(pm, unseen, u);
    expect(Array.from(u)).toEqual([0.3, 0.7]);
    // only Infinity offered → off
    expect(fitPatterns(m, ids, g, Int32Array.from(labels), 2, [Infinity], 5).strength).toBe(Infinity);
  });
});

describe('poolStrength (experimental, off by default): rare one-class LFs borrow their class peers\' rates', () => {
  it("a rule that fires 3 times with no other evidence gets its class's likelihood ratio", () => {
    const r = rng(17);
    const rows: number[][] = [];
    for (let i = 0; i < 4000; i++) {
      const y = r() < 0.5 ? 0 : 1;
      // LFs 0-2 vote class 1 (fire on 40 % of class 1, 2 % of class 0); LF 3 votes class 0; LF 4 is rare
      const row: number[] = [0, 1, 2].map(() => (r() < (y === 1 ? 0.4 : 0.02) ? 1 : -1));
      row.push(r() < (y === 0 ? 0.5 : 0.05) ? 0 : -1);
      row.push(-1);
      rows.push(row);
    }
    for (let i = 0; i < 3; i++) rows.push([-1, -1, -1, -1, 1]);
    const m = labelMatrixFromDense(rows);
    const ratio = (pool: number): number => {
      const p = fitEm(m, { ...base, coverage: 'lf', poolStrength: pool }, undefined);
      // theta[(j*K + y)*(K+1) + l]: P(LF 4 says 1 | y = 1) / P(LF 4 says 1 | y = 0)
      return p.theta[(4 * 2 + 1) * 3 + 1]! / p.theta[(4 * 2 + 0) * 3 + 1]!;
    };
    const alone = ratio(0);
    const pooled = ratio(10);
    expect(pooled).toBeGreaterThan(3 * alone);
    expect(pooled).toBeGreaterThan(5);
    const p = fitEm(m, { ...base, coverage: 'lf', poolStrength: 10 }, undefined);
    for (const v of p.theta) expect(Number.isFinite(v)).toBe(true);
  });
});
