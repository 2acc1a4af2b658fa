import { describe, expect, it } from 'vitest';
import { accuracy, binaryF1, entityF1, expectedCalibrationError } from './index.ts';

describe('metrics', () => {
  it('accuracy skips unlabeled gold and counts -1 predictions as wrong', () => {
    expect(accuracy([0, 1, 1, -1], [0, 0, 1, 1])).toBeCloseTo(2 / 3);
    expect(accuracy([1, 1], [-1, 1])).toBe(0.5);
    expect(accuracy([], [])).toBe(0);
  });

  it('binary F1 of the positive class (hand computed)', () => {
    // tp = 2 (i=0,3), fp = 1 (i=1), fn = 1 (i=2)
    const r = binaryF1([1, 0, 1, 1, 0], [1, 1, 0, 1, 0]);
    expect(r.tp).toBe(2);
    expect(r.fp).toBe(1);
    expect(r.fn).toBe(1);
    expect(r.precision).toBeCloseTo(2 / 3);
    expect(r.recall).toBeCloseTo(2 / 3);
    expect(r.f1).toBeCloseTo(2 / 3);
    expect(binaryF1([0, 0], [0, 0]).f1).toBe(0);
  });

  it('entity F1 needs exact boundaries and type', () => {
    const gold = [[{ start: 0, end: 2, type: 'D' }, { start: 4, end: 5, type: 'D' }], [{ start: 1, end: 3, type: 'D' }]];
    const pred = [[{ start: 0, end: 2, type: 'D' }, { start: 4, end: 6, type: 'D' }], [{ start: 1, end: 3, type: 'X' }]];
    const r = entityF1(gold, pred);
    expect(r.tp).toBe(1);
    expect(r.precision).toBeCloseTo(1 / 3);
    expect(r.recall).toBeCloseTo(1 / 3);
    expect(r.f1).toBeCloseTo(1 / 3);
  });

  it('ECE with 10 equal-width bins (hand computed)', () => {
    // bin (0.9,1]: conf 0.95, 0.95 → acc 1/2 → |0.5-0.95| * 2/4
    // bin (0.6,0.7]: conf 0.65, 0.65 → acc 1 → |1-0.65| * 2/4
    const gold = [1, 0, 1, 1];
    const pred = [1, 1, 1, 1];
    const conf = [0.95, 0.95, 0.65, 0.65];
    expect(expectedCalibrationError(gold, pred, conf)).toBeCloseTo(0.5 * 0.45 + 0.5 * 0.35);
    // confidence exactly 0.7 falls into (0.6, 0.7]
    expect(expectedCalibrationError([1], [1], [0.7])).toBeCloseTo(0.3);
    expect(expectedCalibrationError([], [], [])).toBe(0);
  });
});
