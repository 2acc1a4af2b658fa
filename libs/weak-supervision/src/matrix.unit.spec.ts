import { describe, expect, it } from 'vitest';
import { concatRows, coverage, labelMatrixFromDense, labelMatrixFromRows, labelMatrixFromVotes, matrixByteSize, nnz, selectRows } from './index.ts';

describe('label matrices', () => {
  it('builds CSR from a dense array with -1 abstains', () => {
    const m = labelMatrixFromDense([
      [-1, 1, 0],
      [-1, -1, -1],
      [2, -1, 2],
    ]);
    expect(m.numRecords).toBe(3);
    expect(m.numLfs).toBe(3);
    expect(Array.from(m.indptr)).toEqual([0, 2, 2, 4]);
    expect(Array.from(m.lfs)).toEqual([1, 2, 0, 2]);
    expect(Array.from(m.labels)).toEqual([1, 0, 2, 2]);
    expect(nnz(m)).toBe(4);
    expect(coverage(m)).toBeCloseTo(2 / 3);
    expect(matrixByteSize(m)).toBe(4 * 4 + 4 * 4 + 4 * 4);
  });

  it('sparse builders sort votes by LF and reject duplicates / bad indices', () => {
    const m = labelMatrixFromRows([[[2, 1], [0, 0]], []], 3);
    expect(Array.from(m.lfs)).toEqual([0, 2]);
    expect(Array.from(m.labels)).toEqual([0, 1]);
    expect(() => labelMatrixFromRows([[[1, 0], [1, 1]]], 3)).toThrow(/twice/);
    expect(() => labelMatrixFromRows([[[3, 0]]], 3)).toThrow(RangeError);
    const v = labelMatrixFromVotes(2, 2, [{ record: 1, lf: 1, label: 0 }, { record: 0, lf: 0, label: 1 }]);
    expect(Array.from(v.indptr)).toEqual([0, 1, 2]);
    expect(Array.from(v.labels)).toEqual([1, 0]);
  });

  it('selects and concatenates rows', () => {
    const a = labelMatrixFromDense([[0, -1], [-1, 1]]);
    const b = labelMatrixFromDense([[1, 1]]);
    const c = concatRows([a, b]);
    expect(Array.from(c.indptr)).toEqual([0, 1, 2, 4]);
    const s = selectRows(c, [2, 0]);
    expect(Array.from(s.indptr)).toEqual([0, 2, 3]);
    expect(Array.from(s.labels)).toEqual([1, 1, 0]);
  });

  it('handles empty inputs', () => {
    const m = labelMatrixFromDense([]);
    expect(m.numRecords).toBe(0);
    expect(coverage(m)).toBe(0);
  });
});
