import { describe, expect, it } from 'vitest';
import { entityF1, fitSpanModel, type ScoredSpan, type Span, type SpanDoc } from './index.ts';
import { expectedF1Decode, selectSpans, spansToTagIds } from './span-decode.ts';

const sp = (start: number, end: number, confidence: number, type = 'E'): ScoredSpan => ({ start, end, type, confidence });

describe('span decoding by expected F1', () => {
  it('selectSpans picks the non-overlapping set with the largest Σ (p − tau)', () => {
    const cands = [sp(0, 3, 0.9), sp(0, 1, 0.7), sp(2, 4, 0.8), sp(5, 6, 0.3)];
    // tau 0.4: [0,3) → 0.5; [0,1)+[2,4) → 0.3 + 0.4 = 0.7 (best); [5,6) below tau
    expect(selectSpans(cands, 0.4).map((s) => [s.start, s.end])).toEqual([[0, 1], [2, 4]]);
    // tau 0.65: [0,3) → 0.25; [0,1)+[2,4) → 0.05 + 0.15 = 0.2
    expect(selectSpans(cands, 0.65).map((s) => [s.start, s.end])).toEqual([[0, 3]]);
    expect(selectSpans(cands, 0.95)).toEqual([]);
    expect(selectSpans([], 0.1)).toEqual([]);
  });

  it('tau is the fixed point F/2 of the expected F1 of its own selection', () => {
    const docs = [
      { spans: [sp(0, 1, 0.95), sp(3, 4, 0.45), sp(6, 8, 0.2)], expectedEntities: 1.6 },
      { spans: [sp(1, 2, 0.9)], expectedEntities: 0.9 },
    ];
    const r = expectedF1Decode(docs);
    // selection {0.95, 0.45, 0.9} at tau < 0.45: E[F1] = 2 · 2.3 / (3 + 2.5) = 0.836, tau = 0.418
    expect(r.expectedF1).toBeCloseTo((2 * 2.3) / 5.5, 6);
    expect(r.tau).toBeCloseTo(r.expectedF1 / 2, 5);
    expect(r.spans.map((d) => d.length)).toEqual([2, 1]);
    // nothing to choose: defined result, no NaN
    const none = expectedF1Decode([{ spans: [], expectedEntities: 0 }]);
    expect(none.spans).toEqual([[]]);
    expect(Number.isFinite(none.tau)).toBe(true);
  });

  it('spansToTagIds writes BIO and IO ids and ignores unknown types', () => {
    expect(Array.from(spansToTagIds([sp(1, 3, 1, 'B'), sp(4, 5, 1, 'Z')], 6, 'BIO', ['A', 'B']))).toEqual([0, 3, 4, 0, 0, 0]);
    expect(Array.from(spansToTagIds([sp(1, 3, 1, 'B')], 4, 'IO', ['A', 'B']))).toEqual([0, 2, 2, 0]);
  });
});

describe("span model 'ours' with decode 'expectedF1'", () => {
  // two types; LF0 finds A entities exactly, LF1 finds B entities but also tags a wrong token in half the docs
  const docs: SpanDoc[] = [];
  const gold: Span[][] = [];
  for (let d = 0; d < 200; d++) {
    const g: Span[] = [{ start: 1, end: 3, type: 'A' }, { start: 5, end: 6, type: 'B' }];
    const lf1: Span[] = [{ start: 5, end: 6, type: 'B' }];
    if (d % 2 === 0) lf1.push({ start: 8, end: 9, type: 'B' });
    docs.push({ length: 10, lfSpans: [[{ start: 1, end: 3, type: 'A' }], lf1] });
    gold.push(g);
  }

  for (const scheme of ['BIO', 'IO'] as const) {
    it(`multi-type ${scheme}: valid non-overlapping spans, tags agree with spans, confidences in (0, 1]`, () => {
      const p = fitSpanModel('ours', docs, { entityTypes: ['A', 'B'], scheme, span: { decode: 'expectedF1' } }).predict();
      const v = fitSpanModel('ours', docs, { entityTypes: ['A', 'B'], scheme }).predict();
      expect(entityF1(gold, p.spans).f1).toBeGreaterThanOrEqual(entityF1(gold, v.spans).f1 - 0.05);
      for (let d = 0; d < docs.length; d++) {
        const s = p.spans[d]!;
        for (let k = 1; k < s.length; k++) expect(s[k]!.start).toBeGreaterThanOrEqual(s[k - 1]!.end);
        for (const x of s) {
          expect(x.confidence).toBeGreaterThan(0);
          expect(x.confidence).toBeLessThanOrEqual(1);
        }
        expect(Array.from(p.tags[d]!)).toEqual(Array.from(spansToTagIds(s, 10, scheme, ['A', 'B'])));
        for (const c of p.tokenConfidence[d]!) expect(Number.isFinite(c)).toBe(true);
      }
    });
  }

  it('bad input keeps a defined result: no LFs, empty and all-abstain documents, one LF, manual spans of a type no LF produces', () => {
    const cases: Array<{ docs: SpanDoc[]; manual?: Array<Span[] | null> }> = [
      { docs: [{ length: 0, lfSpans: [] }, { length: 4, lfSpans: [] }] },
      { docs: [{ length: 3, lfSpans: [[]] }, { length: 2, lfSpans: [[{ start: 0, end: 1, type: 'A' }]] }] },
      { docs: [{ length: 3, lfSpans: [[], []] }, { length: 3, lfSpans: [[{ start: 1, end: 2, type: 'A' }], []] }], manual: [[{ start: 0, end: 2, type: 'B' }], null] },
    ];
    for (const c of cases) {
      const p = fitSpanModel('ours', c.docs, { entityTypes: ['A', 'B'], span: { decode: 'expectedF1' }, ...(c.manual ? { manualSpans: c.manual } : {}) }).predict();
      expect(p.spans.length).toBe(c.docs.length);
      for (const conf of p.tokenConfidence) for (const x of conf) expect(Number.isFinite(x)).toBe(true);
      for (const s of p.spans.flat()) expect(Number.isFinite(s.confidence)).toBe(true);
    }
  });
});
