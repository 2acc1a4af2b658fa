import { describe, expect, it } from 'vitest';
import { binaryMatrixForLabel, fitMultiLabelModel, type MultiLabelRows } from './index.ts';

describe('multi-label', () => {
  it('binary matrix: 1 if the LF output contains c, 0 if it fired without c but can emit c', () => {
    const rows: MultiLabelRows = [[[0, [0, 1]], [1, [2]]], [[0, [1]]], []];
    const m0 = binaryMatrixForLabel(rows, 2, 0);
    expect(Array.from(m0.indptr)).toEqual([0, 1, 2, 2]);
    expect(Array.from(m0.labels)).toEqual([1, 0]);
    const m2 = binaryMatrixForLabel(rows, 2, 2);
    expect(Array.from(m2.lfs)).toEqual([1]);
  });

  it('recovers label sets on a synthetic task', () => {
    // true sets: {0} for i%3==0, {0,1} for i%3==1, {1} for i%3==2; two reliable LFs and one noisy
    const rows: Array<Array<[number, number[]]>> = [];
    const truth: number[][] = [];
    for (let i = 0; i < 300; i++) {
      const t = i % 3 === 0 ? [0] : i % 3 === 1 ? [0, 1] : [1];
      truth.push(t);
      rows.push([[0, t], [1, t], [2, i % 5 === 0 ? [0] : t]]);
    }
    const p = fitMultiLabelModel('ours', rows, { numLfs: 3, numClasses: 2 }).predict();
    let ok = 0;
    for (let i = 0; i < 300; i++) if (JSON.stringify(p.labels[i]) === JSON.stringify(truth[i])) ok++;
    expect(ok).toBeGreaterThan(290);
    for (const v of p.probs) expect(Number.isFinite(v)).toBe(true);
  });
});
