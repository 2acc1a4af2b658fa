import { describe, expect, it } from 'vitest';
import { bioToSpans, spansToBio, tokenMatrixFromSpans } from './index.ts';

const T = ['Disease', 'Gene'];

describe('BIO conversions', () => {
  it('spans → BIO ids (O=0, B-x=2x-1, I-x=2x) and back', () => {
    const spans = [{ start: 1, end: 3, type: 'Disease' }, { start: 3, end: 4, type: 'Gene' }, { start: 5, end: 6, type: 'Unknown' }];
    const tags = spansToBio(spans, 6, T);
    expect(Array.from(tags)).toEqual([0, 1, 2, 3, 0, 0]);
    expect(bioToSpans(tags, T)).toEqual([{ start: 1, end: 3, type: 'Disease' }, { start: 3, end: 4, type: 'Gene' }]);
  });

  it('IO scheme merges adjacent same-type spans', () => {
    const tags = spansToBio([{ start: 0, end: 1, type: 'Gene' }, { start: 1, end: 2, type: 'Gene' }], 3, T, 'IO');
    expect(Array.from(tags)).toEqual([2, 2, 0]);
    expect(bioToSpans(tags, T, 'IO')).toEqual([{ start: 0, end: 2, type: 'Gene' }]);
  });

  it('strict IOB2 drops I-x without a preceding B-x; lenient starts an entity', () => {
    // O I-D I-D B-D I-G
    const tags = [0, 2, 2, 1, 4];
    expect(bioToSpans(tags, T, 'BIO', 'strict')).toEqual([{ start: 3, end: 4, type: 'Disease' }]);
    expect(bioToSpans(tags, T, 'BIO', 'lenient')).toEqual([
      { start: 1, end: 3, type: 'Disease' },
      { start: 3, end: 4, type: 'Disease' },
      { start: 4, end: 5, type: 'Gene' },
    ]);
  });

  it('token matrix turns O into abstain where another LF tags an entity', () => {
    const tm = tokenMatrixFromSpans(
      [{ length: 3, lfSpans: [[{ start: 0, end: 2, type: 'Disease' }], []] }],
      2,
      T,
    );
    // token 0: LF0 B-D, LF1 abstains; token 1: LF0 I-D; token 2: both O
    expect(Array.from(tm.matrix.indptr)).toEqual([0, 1, 2, 4]);
    expect(Array.from(tm.matrix.labels)).toEqual([1, 2, 0, 0]);
    expect(Array.from(tm.entityCovered)).toEqual([1, 1, 0]);
  });
});
