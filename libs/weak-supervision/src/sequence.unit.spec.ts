import { describe, expect, it } from 'vitest';
import { bioToSpans, seededRandom, entityF1, fitSpanModel, type ModelKind, type Span, type SpanDoc } from './index.ts';

const rng = seededRandom;

/**
 * Documents with 1–3 token entities. LF0: finds 70 % of entities with exact boundaries.
 * LF1: finds 60 % but cuts multi-token entities to their first token half the time.
 * LF2: noisy — tags random single tokens (false positives) and 30 % of entities.
 */
function synthDocs(nDocs: number, seed: number): { docs: SpanDoc[]; gold: Span[][] } {
  const r = rng(seed);
  const docs: SpanDoc[] = [];
  const gold: Span[][] = [];
  for (let d = 0; d < nDocs; d++) {
    const T = 30;
    const g: Span[] = [];
    let t = 0;
    while (t < T) {
      if (r() < 0.12) {
        const len = 1 + Math.floor(r() * 3);
        if (t + len <= T) g.push({ start: t, end: t + len, type: 'E' });
        t += len + 1;
      } else t++;
    }
    const lf0: Span[] = [];
    const lf1: Span[] = [];
    const lf2: Span[] = [];
    for (const s of g) {
      if (r() < 0.7) lf0.push(s);
      if (r() < 0.6) lf1.push(r() < 0.5 ? s : { ...s, end: s.start + 1 });
      if (r() < 0.3) lf2.push(s);
    }
    for (let k = 0; k < T; k++) {
      if (r() < 0.15 && !g.some((s) => s.start <= k && k < s.end) && !lf2.some((s) => s.start <= k && k < s.end)) lf2.push({ start: k, end: k + 1, type: 'E' });
    }
    lf2.sort((a, b) => a.start - b.start);
    docs.push({ length: T, lfSpans: [lf0, lf1, lf2] });
    gold.push(g);
  }
  return { docs, gold };
}

describe('span label models', () => {
  const { docs, gold } = synthDocs(400, 17);
  const types = ['E'];

  it('ours beats token-level majority vote and outputs valid IOB2 with span confidences', () => {
    const mv = fitSpanModel('mv', docs, { entityTypes: types }).predict();
    const ours = fitSpanModel('ours', docs, { entityTypes: types }).predict();
    const fMv = entityF1(gold, mv.spans).f1;
    const fOurs = entityF1(gold, ours.spans).f1;
    expect(fOurs).toBeGreaterThanOrEqual(fMv - 0.01);
    expect(fOurs).toBeGreaterThan(0.5);
    for (let d = 0; d < docs.length; d++) {
      const tags = ours.tags[d]!;
      // valid IOB2: I-E (2) only after B-E (1) or I-E
      for (let t = 0; t < tags.length; t++) if (tags[t] === 2) expect(t > 0 && tags[t - 1]! > 0).toBe(true);
      expect(bioToSpans(tags, types).length).toBe(ours.spans[d]!.length);
      for (const s of ours.spans[d]!) {
        expect(s.confidence).toBeGreaterThan(0);
        expect(s.confidence).toBeLessThanOrEqual(1);
      }
    }
  });

  it('manual spans are used (semi-supervised) and predictions are deterministic', () => {
    const manualSpans = docs.map((_, i) => (i < 50 ? gold[i]! : null));
    const a = fitSpanModel('ours', docs, { entityTypes: types, manualSpans }).predict();
    const b = fitSpanModel('ours', docs, { entityTypes: types, manualSpans }).predict();
    expect(a.spans).toEqual(b.spans);
    const unsup = fitSpanModel('ours', docs, { entityTypes: types }).predict();
    expect(entityF1(gold.slice(50), a.spans.slice(50)).f1).toBeGreaterThanOrEqual(entityF1(gold.slice(50), unsup.spans.slice(50)).f1 - 0.01);
    expect(entityF1(gold.slice(50), a.spans.slice(50)).f1).toBeGreaterThan(0.5);
  });

  it('IO label space reassembles maximal runs', () => {
    const p = fitSpanModel('ours', docs, { entityTypes: types, scheme: 'IO' }).predict();
    for (const tags of p.tags) for (const t of tags) expect(t === 0 || t === 1).toBe(true);
    expect(entityF1(gold, p.spans).f1).toBeGreaterThan(0.4);
  });

  it('edge cases: no LFs, documents without tokens, all-O documents', () => {
    const empty: SpanDoc[] = [{ length: 0, lfSpans: [] }, { length: 4, lfSpans: [] }];
    for (const k of ['ours', 'mv', 'ds', 'refinery'] as ModelKind[]) {
      const p = fitSpanModel(k, empty, { entityTypes: types }).predict();
      expect(p.spans).toEqual([[], []]);
      expect(Array.from(p.tags[1]!)).toEqual([0, 0, 0, 0]);
      for (const c of p.tokenConfidence[1]!) expect(Number.isNaN(c)).toBe(false);
    }
    const allO: SpanDoc[] = [{ length: 3, lfSpans: [[], []] }];
    const p = fitSpanModel('ours', allO, { entityTypes: types, manualSpans: [[{ start: 0, end: 1, type: 'E' }]] }).predict();
    expect(p.tags.length).toBe(1);
    for (const c of p.tokenConfidence[0]!) expect(Number.isFinite(c)).toBe(true);
  });
});

describe("span model 'ours': gold tokens weigh more than unlabeled ones (EM-λ)", () => {
  // LF0 tags the true entity (tokens 5–6) in every document; LF1 tags token 2 in every document and is
  // ALWAYS wrong there, but it agrees with itself everywhere, so without labels it looks like a good
  // LF. 20 of 400 documents carry gold spans.
  const docs: SpanDoc[] = [];
  const gold: Span[][] = [];
  for (let d = 0; d < 400; d++) {
    docs.push({ length: 10, lfSpans: [[{ start: 5, end: 7, type: 'X' }], [{ start: 2, end: 3, type: 'X' }]] });
    gold.push([{ start: 5, end: 7, type: 'X' }]);
  }
  const manualSpans = docs.map((_, d) => (d < 20 ? gold[d]! : null));

  it('the heavily weighted gold tokens override the unlabeled majority', () => {
    const heavy = fitSpanModel('ours', docs, { entityTypes: ['X'], manualSpans }).predict(docs.slice(20));
    expect(entityF1(gold.slice(20), heavy.spans).f1).toBe(1);
    const light = fitSpanModel('ours', docs, { entityTypes: ['X'], manualSpans, span: { labeledShare: 0 } }).predict(docs.slice(20));
    expect(entityF1(gold.slice(20), light.spans).precision).toBeLessThan(1);
  });
});
