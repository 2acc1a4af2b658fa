import { describe, expect, it } from 'vitest';
import {
  MISSING,
  agreementReport,
  categoryCountsFromRows,
  coincidenceMatrix,
  cohenKappa,
  cohenKappaFromConfusion,
  emptyRatingMatrix,
  exactSpanMatches,
  fleissKappa,
  krippendorffAlpha,
  overlapSpanMatches,
  pairwiseAgreement,
  pairwiseSpanAgreement,
  ratingMatrix,
  ratingMatrixFromRows,
  ratingMatrixFromTriples,
  spanAgreement,
  type AgreementSpan,
  type RatingTriple,
} from './index.ts';
import * as lib from '../index.ts';

const _ = null;

/** Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers × 12 units, values 1–5, missing allowed. */
const KRIPP_2011 = [
  [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
  [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
];

/** Fleiss (1971) as on Wikipedia's "Fleiss' kappa": 10 subjects × 5 categories, 14 raters each. */
const FLEISS_WIKI = [
  [0, 0, 0, 0, 14],
  [0, 2, 6, 4, 2],
  [0, 0, 3, 5, 6],
  [0, 3, 9, 2, 0],
  [2, 2, 8, 1, 1],
  [7, 7, 0, 0, 0],
  [3, 2, 6, 3, 0],
  [2, 5, 3, 2, 2],
  [6, 5, 2, 1, 0],
  [0, 2, 2, 3, 7],
];

/** Two raters, 50 items from a 2 × 2 table [[yes-yes, yes-no], [no-yes, no-no]]. */
function fromTable(t: [[number, number], [number, number]]) {
  const a: number[] = [];
  const b: number[] = [];
  for (let x = 0; x < 2; x++) {
    for (let y = 0; y < 2; y++) {
      for (let r = 0; r < t[x]![y]!; r++) {
        a.push(x);
        b.push(y);
      }
    }
  }
  return ratingMatrixFromRows([a, b]);
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomMatrix(seed: number, annotators: number, items: number, k: number, missing: number) {
  const r = rng(seed);
  const codes = new Int32Array(annotators * items);
  for (let x = 0; x < codes.length; x++) codes[x] = r() < missing ? MISSING : Math.floor(r() * k);
  return ratingMatrix(codes, annotators, items, k);
}

describe('Krippendorff alpha (nominal)', () => {
  it('reproduces Krippendorff (2011) reliability data with missing values: alpha = 0.743', () => {
    const m = ratingMatrixFromRows(KRIPP_2011.map((r) => r.map((v) => (v === null ? null : v - 1))));
    const r = krippendorffAlpha(m);
    expect(r.alpha).not.toBeNull();
    expect(r.alpha!).toBeCloseTo(0.743, 3);
    // unit 12 has a single value and is not pairable: 11 units, 40 pairable values
    expect(r.units).toBe(11);
    expect(r.pairableValues).toBe(40);
    // coincidence matrix: sums to n, symmetric, and the paper's marginals n_c = 9, 13, 10, 5, 3
    const o = coincidenceMatrix(m);
    expect(o.reduce((s, v) => s + v, 0)).toBeCloseTo(40, 9);
    const nc = [0, 1, 2, 3, 4].map((c) => [0, 1, 2, 3, 4].reduce((s, d) => s + o[c * 5 + d]!, 0));
    expect(nc.map((v) => Math.round(v * 1e9) / 1e9)).toEqual([9, 13, 10, 5, 3]);
  });

  it('reproduces Krippendorff (2011) binary example (2 observers × 10 units): alpha = 0.095', () => {
    const m = ratingMatrixFromRows([
      [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
      [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
    ]);
    expect(krippendorffAlpha(m).alpha!).toBeCloseTo(0.095, 3);
  });

  it('agrees with 1 - D_o/D_e computed from the coincidence matrix on random data', () => {
    const k = 4;
    const m = randomMatrix(7, 6, 300, k, 0.35);
    const o = coincidenceMatrix(m);
    const nc = new Float64Array(k);
    let n = 0;
    let off = 0;
    for (let c = 0; c < k; c++) {
      for (let d = 0; d < k; d++) {
        nc[c]! += o[c * k + d]!;
        n += o[c * k + d]!;
        if (c !== d) off += o[c * k + d]!;
      }
    }
    let offE = 0;
    for (let c = 0; c < k; c++) for (let d = 0; d < k; d++) if (c !== d) offE += nc[c]! * nc[d]!;
    const expected = 1 - off / n / (offE / (n * (n - 1)));
    expect(krippendorffAlpha(m).alpha!).toBeCloseTo(expected, 9);
  });
});

describe("Fleiss' kappa", () => {
  it("reproduces Wikipedia's Fleiss (1971) example: kappa = 0.210", () => {
    const r = fleissKappa(categoryCountsFromRows(FLEISS_WIKI));
    expect(r.kappa!).toBeCloseTo(0.21, 3);
    expect(r.observedAgreement!).toBeCloseTo(0.378, 3);
    expect(r.expectedAgreement!).toBeCloseTo(0.213, 3);
    expect(r.items).toBe(10);
    expect(r.ratings).toBe(140);
  });

  it('gives the same value from a rating matrix built from the same counts', () => {
    // 14 raters; rater r gives subject i the category of the r-th rating in the subject's row
    const rows: number[][] = Array.from({ length: 14 }, () => []);
    FLEISS_WIKI.forEach((counts) => {
      let r = 0;
      counts.forEach((n, c) => {
        for (let t = 0; t < n; t++) rows[r++]!.push(c);
      });
    });
    expect(fleissKappa(ratingMatrixFromRows(rows)).kappa!).toBeCloseTo(0.21, 3);
  });

  it('drops items with fewer than 2 ratings and uses each item’s own n_i', () => {
    // item 0: 3 raters all agree (P=1); item 1: 2 raters disagree (P=0); item 2: one rating (dropped)
    const m = ratingMatrixFromRows([
      [0, 0, 1],
      [0, 1, _],
      [0, _, _],
    ]);
    const r = fleissKappa(m);
    expect(r.items).toBe(2);
    expect(r.ratings).toBe(5);
    // P̄ = (1 + 0)/2 = 0.5; p = (4/5, 1/5); P̄e = 0.68; kappa = (0.5 - 0.68)/0.32 = -0.5625
    expect(r.observedAgreement!).toBeCloseTo(0.5, 9);
    expect(r.expectedAgreement!).toBeCloseTo(0.68, 9);
    expect(r.kappa!).toBeCloseTo(-0.5625, 6);
  });
});

describe("Cohen's kappa and percent agreement", () => {
  it("reproduces Wikipedia's 2 × 2 example (50 items): kappa = 0.4", () => {
    const m = fromTable([
      [20, 5],
      [10, 15],
    ]);
    const [p] = pairwiseAgreement(m);
    expect(p!.shared).toBe(50);
    expect(p!.percentAgreement!).toBeCloseTo(0.7, 3);
    expect(p!.expectedAgreement!).toBeCloseTo(0.5, 3);
    expect(p!.cohenKappa!).toBeCloseTo(0.4, 3);
    expect(cohenKappaFromConfusion([
      [20, 5],
      [10, 15],
    ]).cohenKappa!).toBeCloseTo(0.4, 3);
  });

  it("reproduces Wikipedia's equal-agreement examples: 0.1304 and 0.2593", () => {
    expect(cohenKappa(fromTable([[45, 15], [25, 15]]), 0, 1).cohenKappa!).toBeCloseTo(0.1304, 3);
    expect(cohenKappa(fromTable([[25, 35], [5, 35]]), 0, 1).cohenKappa!).toBeCloseTo(0.2593, 3);
  });

  it('uses only items both annotators labeled, for every pair in order', () => {
    const m = ratingMatrixFromRows([
      [0, 1, 1, _, 0],
      [0, 1, 0, 1, _],
      [_, _, _, 1, 1],
    ]);
    const pairs = pairwiseAgreement(m);
    expect(pairs.map((p) => [p.a, p.b, p.shared, p.agreements])).toEqual([
      [0, 1, 3, 2],
      [0, 2, 1, 0],
      [1, 2, 1, 1],
    ]);
    // pair (0,1): po = 2/3, A marginals (1/3, 2/3), B (2/3, 1/3): pe = 4/9, kappa = (2/3 - 4/9)/(5/9) = 0.4
    expect(pairs[0]!.cohenKappa!).toBeCloseTo(0.4, 9);
    // pair (1,2): one shared item, both "1": pe = 1, kappa undefined -> null; agreement 1
    expect(pairs[2]!.percentAgreement).toBe(1);
    expect(pairs[2]!.cohenKappa).toBeNull();
    // pair (0,2): one shared item, different single categories: pe = 0, kappa = 0
    expect(pairs[1]!.cohenKappa).toBe(0);
  });

  it('matches cohenKappaFromConfusion on random data with missing values', () => {
    const m = randomMatrix(3, 3, 500, 3, 0.2);
    for (const p of pairwiseAgreement(m)) {
      const t = [0, 1, 2].map(() => [0, 0, 0]);
      for (let i = 0; i < m.items; i++) {
        const x = m.codes[p.a * m.items + i]!;
        const y = m.codes[p.b * m.items + i]!;
        if (x >= 0 && y >= 0) t[x]![y]!++;
      }
      expect(p.cohenKappa!).toBeCloseTo(cohenKappaFromConfusion(t).cohenKappa!, 12);
    }
  });
});

describe('edge cases', () => {
  it('one annotator: no pairs, Fleiss and alpha null', () => {
    const r = agreementReport(ratingMatrixFromRows([[0, 1, 2, 1]]));
    expect(r.pairs).toEqual([]);
    expect(r.fleiss.kappa).toBeNull();
    expect(r.fleiss.items).toBe(0);
    expect(r.krippendorff.alpha).toBeNull();
    expect(r.krippendorff.pairableValues).toBe(0);
  });

  it('all missing: everything null, no NaN', () => {
    const r = agreementReport(emptyRatingMatrix(3, 10, 4));
    expect(r.pairs).toHaveLength(3);
    for (const p of r.pairs) {
      expect(p).toMatchObject({ shared: 0, agreements: 0, percentAgreement: null, expectedAgreement: null, cohenKappa: null });
    }
    expect(r.fleiss).toEqual({ kappa: null, items: 0, ratings: 0, observedAgreement: null, expectedAgreement: null });
    expect(r.krippendorff.alpha).toBeNull();
    expect(JSON.stringify(r)).not.toContain('NaN');
  });

  it('zero items', () => {
    const r = agreementReport(emptyRatingMatrix(2, 0, 0));
    expect(r.pairs[0]!.cohenKappa).toBeNull();
    expect(r.fleiss.kappa).toBeNull();
    expect(r.krippendorff.alpha).toBeNull();
  });

  it('perfect agreement over several categories: 1 everywhere', () => {
    const r = agreementReport(
      ratingMatrixFromRows([
        [0, 1, 2, 1, _],
        [0, 1, 2, 1, 2],
        [0, _, 2, 1, 2],
      ]),
    );
    for (const p of r.pairs) {
      expect(p.percentAgreement).toBe(1);
      expect(p.cohenKappa!).toBeCloseTo(1, 12);
    }
    expect(r.fleiss.kappa!).toBeCloseTo(1, 12);
    expect(r.krippendorff.alpha!).toBeCloseTo(1, 12);
  });

  it('a single category used by everyone: agreement 1, kappa / alpha null (0/0)', () => {
    const r = agreementReport(
      ratingMatrixFromRows(
        [
          [0, 0, 0, _],
          [0, 0, _, 0],
          [0, 0, 0, 0],
        ],
        3,
      ),
    );
    for (const p of r.pairs) {
      expect(p.percentAgreement).toBe(1);
      expect(p.expectedAgreement).toBe(1);
      expect(p.cohenKappa).toBeNull();
    }
    expect(r.fleiss.kappa).toBeNull();
    expect(r.fleiss.observedAgreement).toBe(1);
    expect(r.krippendorff.alpha).toBeNull();
    expect(r.krippendorff.observedDisagreement).toBe(0);
  });

  it('systematic disagreement gives negative values', () => {
    const r = agreementReport(
      ratingMatrixFromRows([
        [0, 1, 0, 1],
        [1, 0, 1, 0],
      ]),
    );
    expect(r.pairs[0]!.cohenKappa!).toBeCloseTo(-1, 12);
    expect(r.krippendorff.alpha!).toBeLessThan(0);
    expect(r.fleiss.kappa!).toBeCloseTo(-1, 12);
  });
});

describe('building the matrix', () => {
  it('from triples, with first-appearance ids and codes', () => {
    const triples: RatingTriple[] = [
      { item: 'r1', annotator: 'ann', label: 'pos' },
      { item: 'r1', annotator: 'bob', label: 'neg' },
      { item: 'r2', annotator: 'bob', label: 'pos' },
      { item: 'r3', annotator: 'cid', label: 'neu' },
    ];
    const m = ratingMatrixFromTriples(triples);
    expect(m.itemIds).toEqual(['r1', 'r2', 'r3']);
    expect(m.annotatorIds).toEqual(['ann', 'bob', 'cid']);
    expect(m.labels).toEqual(['pos', 'neg', 'neu']);
    expect(m.categories).toBe(3);
    expect([...m.codes]).toEqual([0, -1, -1, 1, 0, -1, -1, -1, 2]);
  });

  it('from triples with fixed orders; unknown ids and conflicting duplicates throw', () => {
    const m = ratingMatrixFromTriples([{ item: 2, annotator: 'x', label: 'b' }], {
      itemIds: [1, 2],
      annotatorIds: ['y', 'x'],
      labels: ['a', 'b', 'c'],
    });
    expect([...m.codes]).toEqual([-1, -1, -1, 1]);
    expect(m.categories).toBe(3);
    expect(() => ratingMatrixFromTriples([{ item: 3, annotator: 'x', label: 'a' }], { itemIds: [1, 2] })).toThrow(/unknown item/);
    const dup = [
      { item: 1, annotator: 'x', label: 'a' },
      { item: 1, annotator: 'x', label: 'b' },
    ];
    expect(() => ratingMatrixFromTriples(dup)).toThrow(/twice/);
    expect([...ratingMatrixFromTriples(dup, { duplicates: 'last' }).codes]).toEqual([1]);
    // the same label twice is fine
    expect([...ratingMatrixFromTriples([dup[0]!, dup[0]!]).codes]).toEqual([0]);
  });

  it('validates codes', () => {
    expect(() => ratingMatrix(new Int32Array([0, -2]), 1, 2)).toThrow(/invalid code/);
    expect(() => ratingMatrix(new Int32Array([0, 3]), 1, 2, 3)).toThrow(/out of range/);
    expect(() => ratingMatrix(new Int32Array(3), 1, 2)).toThrow(/length/);
    expect(ratingMatrix(new Int32Array([0, 3]), 1, 2).categories).toBe(4);
  });

  it('is exported from the package index', () => {
    expect(lib.krippendorffAlpha).toBe(krippendorffAlpha);
    expect(lib.spanAgreement).toBe(spanAgreement);
  });
});

describe('span agreement', () => {
  const s = (start: number, end: number, label: string): AgreementSpan => ({ start, end, label });

  it('exact matches need the same start, end and label, one-to-one', () => {
    expect(exactSpanMatches([s(0, 3, 'P'), s(5, 8, 'O')], [s(0, 3, 'P'), s(5, 8, 'P'), s(5, 9, 'O')])).toBe(1);
    expect(exactSpanMatches([s(0, 3, 'P'), s(0, 3, 'P')], [s(0, 3, 'P')])).toBe(1);
  });

  it('overlap matches: same label, overlapping (half-open), greedy one-to-one by largest overlap', () => {
    // touching spans [0,3) and [3,5) do not overlap
    expect(overlapSpanMatches([s(0, 3, 'P')], [s(3, 5, 'P')])).toBe(0);
    expect(overlapSpanMatches([s(0, 3, 'P')], [s(2, 5, 'O')])).toBe(0);
    // A [0,10) overlaps B [0,2) (2) and B [1,9) (8): the larger one wins; A [8,12) then takes nothing
    // because [0,2) does not overlap it and [1,9) is used
    expect(overlapSpanMatches([s(0, 10, 'P'), s(8, 12, 'P')], [s(0, 2, 'P'), s(1, 9, 'P')])).toBe(1);
    // one long span against two short ones: one-to-one, so one match
    expect(overlapSpanMatches([s(0, 10, 'P')], [s(0, 4, 'P'), s(5, 9, 'P')])).toBe(1);
    // greedy largest-overlap picks the pairing that matches both
    expect(overlapSpanMatches([s(0, 4, 'P'), s(3, 9, 'P')], [s(0, 5, 'P'), s(4, 9, 'P')])).toBe(2);
  });

  it('aggregates micro over items annotated by both', () => {
    const a = [[s(0, 3, 'P'), s(5, 8, 'O')], [], [s(1, 2, 'P')], undefined];
    const b = [[s(0, 3, 'P'), s(5, 7, 'O')], [s(0, 1, 'P')], undefined, [s(1, 2, 'P')]];
    const r = spanAgreement(a, b);
    expect(r.items).toBe(2);
    expect(r.exact).toMatchObject({ matched: 1, spansA: 2, spansB: 3 });
    expect(r.exact.f1!).toBeCloseTo(0.4, 9);
    expect(r.exact.precision!).toBeCloseTo(1 / 3, 9);
    expect(r.exact.recall!).toBeCloseTo(0.5, 9);
    expect(r.overlap).toMatchObject({ matched: 2 });
    expect(r.overlap.f1!).toBeCloseTo(0.8, 9);
  });

  it('no spans at all: F1 null; identical annotations: F1 1', () => {
    expect(spanAgreement([[], []], [[], []]).exact.f1).toBeNull();
    expect(spanAgreement([undefined], [[s(0, 1, 'P')]]).items).toBe(0);
    const same = [[s(0, 3, 'P'), s(4, 6, 'O')], [s(2, 9, 'P')]];
    const r = spanAgreement(same, same);
    expect(r.exact.f1).toBe(1);
    expect(r.overlap.f1).toBe(1);
  });

  it('pairwise over annotators, and rejects invalid spans', () => {
    const pairs = pairwiseSpanAgreement([[[s(0, 2, 'P')]], [[s(0, 2, 'P')]], [[s(1, 2, 'P')]]]);
    expect(pairs.map((p) => [p.a, p.b, p.exact.f1, p.overlap.f1])).toEqual([
      [0, 1, 1, 1],
      [0, 2, 0, 1],
      [1, 2, 0, 1],
    ]);
    expect(() => spanAgreement([[s(3, 1, 'P')]], [[]])).toThrow(/invalid span/);
  });
});
