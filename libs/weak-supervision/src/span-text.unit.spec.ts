import { describe, expect, it } from 'vitest';
import { applySpanText, type ScoredSpan, type Span } from './index.ts';

const s = (start: number, end: number, type = 'D', confidence = 0.9): ScoredSpan => ({ start, end, type, confidence });

describe("spans 'ours+text' (gazetteer of manual span strings)", () => {
  const tokens = [
    ['Breast', 'cancer', 'and', 'fever', '.'], // labeled: "breast cancer" D; "fever" is no entity here
    ['no', 'fever', 'here', '.'], // labeled: nothing
    ['a', 'breast', 'cancer', 'case', 'with', 'fever'], // unlabeled
    ['colon', 'cancer', 'seen'], // unlabeled
  ];
  const manual: Array<Span[] | null> = [[{ start: 0, end: 2, type: 'D' }], [], null, null];

  it('adds unmatched occurrences of manual entity strings and drops spans the manual labels contradict', () => {
    // the label model found "fever" in doc 2 and nothing in doc 3
    const base: ScoredSpan[][] = [[], [], [s(5, 6)], []];
    const out = applySpanText(tokens, base, manual);
    // "breast cancer": e = 1, n = 1 → 2/3; "fever": e = 0 of n = 2 in labeled docs → no string evidence
    // for 'fever' as an entity, but it is no gazetteer string either (only gold strings are), so kept
    expect(out[2]).toEqual([{ start: 1, end: 3, type: 'D', confidence: 2 / 3 }, s(5, 6)]);
    // "cancer" alone is inside a gold span only (no counter-example) and is no gold string: untouched
    expect(out[3]).toEqual([]);
    // labeled documents keep the label model's prediction
    expect(out[0]).toEqual([]);
  });

  it('drop removes a predicted span whose string the manual labels mark as non-entity', () => {
    const t = [['x', 'pain'], ['pain', 'y'], ['pain', 'z'], ['a', 'pain']];
    // "pain" is gold once (doc 0) and a non-entity twice (docs 1, 2): (1 + 1) / (3 + 2) = 0.4 < 0.5
    const m: Array<Span[] | null> = [[{ start: 1, end: 2, type: 'D' }], [], [], null];
    const base: ScoredSpan[][] = [[], [], [], [s(1, 2)]];
    expect(applySpanText(t, base, m)[3]).toEqual([]);
    expect(applySpanText(t, base, m, { drop: false })[3]).toEqual([s(1, 2)]);
  });

  it('without manual spans (or with empty ones) it returns the label model spans', () => {
    const base: ScoredSpan[][] = [[s(0, 1)], [], [s(1, 3)], []];
    expect(applySpanText(tokens, base, undefined)).toEqual(base);
    expect(applySpanText(tokens, base, [[], [], null, null])).toEqual(base);
    // out-of-range manual spans are ignored, no throw
    expect(applySpanText(tokens, base, [[{ start: 3, end: 99, type: 'D' }], null, null, null])[2]).toEqual(base[2]);
  });
});
