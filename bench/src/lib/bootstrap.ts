import { seededRandom } from '@refinery/weak-supervision';
import { percentile } from './stats.ts';

/**
 * Percentile bootstrap interval of a test-split metric: resample the n scored units (records, or
 * documents for entity F1) with replacement and recompute the metric. It shows how far a score can
 * move by the luck of which records ended up in the test split — a gap to a target smaller than the
 * interval's half-width is one or two records, not a modelling result. Seeded: same interval every run.
 */
export function bootstrapInterval(
  n: number,
  metric: (sample: Int32Array) => number,
  resamples = 1000,
  level = 0.95,
  seed = 20261127,
): [number, number] {
  if (n <= 0) throw new RangeError('bootstrapInterval: nothing to resample');
  if (!(resamples >= 1) || !(level > 0 && level < 1)) throw new RangeError('bootstrapInterval: resamples ≥ 1 and 0 < level < 1');
  const rand = seededRandom(seed);
  const values: number[] = [];
  const sample = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) sample[i] = Math.floor(rand() * n);
    values.push(metric(sample));
  }
  const tail = (100 * (1 - level)) / 2;
  return [percentile(values, tail), percentile(values, 100 - tail)];
}

/** `values` picked at the indices of `sample` (a bootstrap resample of a per-unit array). */
export function pick<T>(values: ArrayLike<T>, sample: Int32Array): T[] {
  const out = new Array<T>(sample.length);
  for (let i = 0; i < sample.length; i++) out[i] = values[sample[i]!]!;
  return out;
}
