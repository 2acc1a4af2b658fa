import { describe, expect, it } from 'vitest';
import { decodeSpanDs, fitSpanDs, spanDsCandidates, spanDsPosteriors } from './span-ds.ts';
import { entityF1, fitSpanModel, type Span, type SpanDoc } from './index.ts';

const E = (start: number, end: number): Span => ({ start, end, type: 'E' });

describe('span-level Dawid-Skene (span-ds.ts)', () => {
  it('candidates are the distinct LF spans; votes code exact / other overlapping / none; length bucket', () => {
    const docs: SpanDoc[] = [{ length: 10, lfSpans: [[E(0, 2), E(5, 6)], [E(0, 2)], [E(1, 3)]] }];
    const c = spanDsCandidates(docs, 3, true);
    expect(c.spans[0]).toEqual([E(0, 2), E(1, 3), E(5, 6)]);
    // cols = 3 LFs + length
    expect(Array.from(c.obs)).toEqual([
      0, 0, 1, 1, // [0,2): LF0 exact, LF1 exact, LF2 overlapping, length 2
      1, 1, 0, 1, // [1,3)
      0, 2, 2, 0, // [5,6): only LF0, length 1
    ]);
    expect(Array.from(c.offsets)).toEqual([0, 3]);
  });

  it('one M-step on initial labels separates a precise LF from a noisy one; decode is non-overlapping', () => {
    // LF0 proposes the true span in every doc; LF1 proposes a wrong overlapping span and, alone, a wrong one
    const docs: SpanDoc[] = [];
    for (let d = 0; d < 50; d++) docs.push({ length: 10, lfSpans: [[E(2, 4)], [E(3, 5), E(7, 8)]] });
    const c = spanDsCandidates(docs, 2, false);
    const init = new Float64Array(c.offsets[docs.length]!);
    c.spans.forEach((s, d) => s.forEach((x, k) => (init[c.offsets[d]! + k] = x.start === 2 ? 1 : 0)));
    const p = fitSpanDs(c, 2, init, { useLength: false, iterations: 0, smoothing: 1 });
    const post = spanDsPosteriors(p, c);
    const sel = decodeSpanDs(c, post);
    for (const s of sel) expect(s.map(({ start, end }) => [start, end])).toEqual([[2, 4]]);
    for (let i = 0; i < post.length; i++) expect(post[i]).toBeGreaterThanOrEqual(0);
  });

  it('clamped candidates keep their gold label through EM', () => {
    const docs: SpanDoc[] = [];
    for (let d = 0; d < 20; d++) docs.push({ length: 5, lfSpans: [[E(0, 1)], [E(0, 1)]] });
    const c = spanDsCandidates(docs, 2, false);
    const n = c.offsets[docs.length]!;
    // every candidate clamped to "not an entity": the fitted prior must say so despite full LF agreement
    const p = fitSpanDs(c, 2, new Float64Array(n).fill(1), { useLength: false, iterations: 5, smoothing: 1, clamp: new Int8Array(n).fill(0), clampWeight: 3 });
    const post = spanDsPosteriors(p, c);
    for (const v of post) expect(v).toBeLessThan(0.5);
    expect(decodeSpanDs(c, post).every((s) => s.length === 0)).toBe(true);
  });

  it("fitSpanModel('ours') with spanModel 'spanDs' vs 'hmm': same spans when the LFs agree, finite on empty input", () => {
    const docs: SpanDoc[] = [];
    const gold: Span[][] = [];
    for (let d = 0; d < 30; d++) {
      docs.push({ length: 8, lfSpans: [[E(1, 3)], [E(1, 3)], [E(6, 7)]] });
      gold.push([E(1, 3)]);
    }
    const ds = fitSpanModel('ours', docs, { entityTypes: ['E'], span: { spanModel: 'spanDs' } }).predict();
    expect(ds.spans[0]!.some((s) => s.start === 1 && s.end === 3)).toBe(true);
    expect(entityF1(gold, ds.spans).recall).toBe(1);
    for (const conf of ds.tokenConfidence) for (const v of conf) expect(v >= 0 && v <= 1).toBe(true);
    const empty = fitSpanModel('ours', [{ length: 0, lfSpans: [] }, { length: 3, lfSpans: [[]] }], { entityTypes: ['E'], span: { spanModel: 'spanDs' } }).predict();
    expect(empty.spans).toEqual([[], []]);
    expect(Array.from(empty.tags[1]!)).toEqual([0, 0, 0]);
  });
});
