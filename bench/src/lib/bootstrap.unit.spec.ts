import { describe, expect, it } from 'vitest';
import { bootstrapInterval, pick } from './bootstrap.ts';

describe('bootstrapInterval', () => {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  it('brackets the sample mean and narrows as the sample grows (≈ ±1.96·σ/√n)', () => {
    // a 0/1 metric with p = 0.8: half-width ≈ 1.96·√(0.16/n)
    const make = (n: number) => Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 1));
    const small = make(250);
    const large = make(2500);
    const [lo, hi] = bootstrapInterval(small.length, (s) => mean(pick(small, s)));
    const [lo2, hi2] = bootstrapInterval(large.length, (s) => mean(pick(large, s)));
    expect(lo).toBeLessThan(0.8);
    expect(hi).toBeGreaterThan(0.8);
    expect((hi - lo) / 2).toBeGreaterThan(0.035);
    expect((hi - lo) / 2).toBeLessThan(0.065);
    expect(hi2 - lo2).toBeLessThan((hi - lo) / 2);
  });

  it('is deterministic and degenerate for a constant metric', () => {
    const xs = [3, 1, 4, 1, 5];
    expect(bootstrapInterval(5, (s) => mean(pick(xs, s)))).toEqual(bootstrapInterval(5, (s) => mean(pick(xs, s))));
    expect(bootstrapInterval(4, () => 7)).toEqual([7, 7]);
  });

  it('rejects an empty sample and a bad level', () => {
    expect(() => bootstrapInterval(0, () => 0)).toThrow(/nothing to resample/);
    expect(() => bootstrapInterval(3, () => 0, 100, 1)).toThrow(/level/);
  });
});
