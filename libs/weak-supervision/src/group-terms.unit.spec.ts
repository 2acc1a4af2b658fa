import { describe, expect, it } from 'vitest';
import { fitEm, labelMatrixFromDense, seededRandom, type EmConfig } from './index.ts';
import { allScores, groupTable, recordScores } from './models/em.ts';

/** One-class rules: LF j votes class j mod K on 30 % of that class's records and 5 % of the others. */
function oneClassRules(n: number, K: number, M: number, seed: number): number[][] {
  const r = seededRandom(seed);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const y = Math.floor(r() * K);
    rows.push(Array.from({ length: M }, (_, j) => (r() < (j % K === y ? 0.3 : 0.05) ? j % K : -1)));
  }
  return rows;
}

const cfg = (K: number): EmConfig => ({ numClasses: K, modelAbstains: true, priorStrength: 1, priorAccuracy: 0.7, balancePrior: 1, estimateBalance: true, coverage: 'class', maxIter: 50, tol: 1e-9 });

describe("coverage 'class': group terms by voted-class set", () => {
  it('the table holds, per set of classes, the sum of their group terms', () => {
    const K = 4;
    const gd = Float64Array.from({ length: K * K }, (_, i) => Math.sin(i + 1));
    const t = groupTable(gd, K);
    expect(t.length).toBe(16 * K);
    for (let mask = 0; mask < 16; mask++)
      for (let y = 0; y < K; y++) {
        let sum = 0;
        for (let c = 0; c < K; c++) if (mask & (1 << c)) sum += gd[c * K + y]!;
        expect(t[mask * K + y]).toBeCloseTo(sum, 12);
      }
  });

  it('fast scores (one table lookup per record) equal the per-class scores for every record', () => {
    const K = 5;
    const m = labelMatrixFromDense(oneClassRules(3000, K, 15, 7));
    const p = fitEm(m, cfg(K), undefined);
    expect(p.groupDelta.length).toBe(K * K);
    const fast = allScores(p, m);
    const one = new Float64Array(K);
    for (let i = 0; i < m.numRecords; i++) {
      recordScores(p, m, i, one);
      for (let y = 0; y < K; y++) expect(fast[i * K + y]).toBeCloseTo(one[y]!, 9);
    }
  });

  it('more classes than the table covers (K = 12) use the per-class path: finite, and the rules recover the classes', () => {
    const K = 12;
    const rows = oneClassRules(6000, K, 24, 11);
    const m = labelMatrixFromDense(rows);
    const p = fitEm(m, cfg(K), undefined);
    const s = allScores(p, m);
    expect(s.every(Number.isFinite)).toBe(true);
    // a record whose only votes are for class c is scored c
    const one = new Float64Array(K);
    for (let c = 0; c < K; c++) {
      const only = labelMatrixFromDense([Array.from({ length: 24 }, (_, j) => (j === c ? c : -1))]);
      recordScores(p, only, 0, one);
      expect(one.indexOf(Math.max(...one))).toBe(c);
    }
  });
});

describe("coverage 'class' with withinGroupAbstains (zero-truncated voter sets; experiment, off)", () => {
  it('on rules that fire independently given the class it matches the per-LF model it nests; without it EM ends far worse', () => {
    // 50 one-class rules, 4 × as likely on their own class (the speed benchmark's one-class shape)
    const K = 5;
    const n = 20000;
    const r = seededRandom(5);
    const gold: number[] = [];
    const rows: number[][] = [];
    for (let i = 0; i < n; i++) {
      const y = Math.floor(r() * K);
      gold.push(y);
      rows.push(Array.from({ length: 50 }, (_, j) => (r() < (j % K === y ? 0.25 : 0.0625) ? j % K : -1)));
    }
    const m = labelMatrixFromDense(rows);
    const accuracyOf = (c: EmConfig) => {
      const s = allScores(fitEm(m, { ...c, maxIter: 300 }, undefined), m);
      let ok = 0;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let y = 1; y < K; y++) if (s[i * K + y]! > s[i * K + best]!) best = y;
        if (best === gold[i]) ok++;
      }
      return ok / n;
    };
    const lf = accuracyOf({ ...cfg(K), coverage: 'lf' });
    const proper = accuracyOf({ ...cfg(K), withinGroupAbstains: true });
    const improper = accuracyOf(cfg(K));
    expect(lf).toBeGreaterThan(0.7);
    expect(Math.abs(proper - lf)).toBeLessThan(0.01);
    // run to its fixed point, the default 'class' model (only the fired LFs scored) is far off here
    expect(improper).toBeLessThan(lf - 0.2);
  });
});
