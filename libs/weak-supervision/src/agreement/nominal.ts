/**
 * Agreement statistics for nominal codes: pairwise percent agreement and Cohen's κ, Fleiss' κ and
 * Krippendorff's α (nominal, missing values allowed).
 *
 * Conventions (also in docs/agreement.md):
 * - Undefined statistics are `null`, never `NaN`: no shared items / no items with ≥ 2 ratings, or
 *   an expected agreement of 1 (every rating in the same single category, so κ and α are 0/0).
 * - Fleiss' κ with unequal numbers of raters per item: items with fewer than 2 ratings are
 *   dropped; P_i uses the item's own n_i, P̄ is the unweighted mean of P_i over the kept items and
 *   p_j is pooled over all ratings of the kept items. With a constant n this is exactly Fleiss (1971).
 */
import { MISSING, type RatingMatrix } from './matrix.ts';

/** Per-item category counts: `counts[i * categories + c]` = number of annotators who gave `c` to `i`. */
export interface CategoryCounts {
  readonly items: number;
  readonly categories: number;
  readonly counts: Int32Array;
}

export interface PairAgreement {
  /** Annotator row indices, `a < b`. */
  readonly a: number;
  readonly b: number;
  /** Items labeled by both. */
  readonly shared: number;
  /** Shared items on which both gave the same code. */
  readonly agreements: number;
  /** `agreements / shared`; `null` when `shared` is 0. */
  readonly percentAgreement: number | null;
  /** Chance agreement Σ_k p_a(k)·p_b(k) from the two annotators' marginals over the shared items; `null` when `shared` is 0. */
  readonly expectedAgreement: number | null;
  /** Cohen's κ over the shared items; `null` when `shared` is 0 or the expected agreement is 1. */
  readonly cohenKappa: number | null;
}

export interface FleissResult {
  /** Fleiss' κ; `null` when no item has ≥ 2 ratings or all kept ratings are one category. */
  readonly kappa: number | null;
  /** Items with ≥ 2 ratings (the ones used). */
  readonly items: number;
  /** Ratings on those items. */
  readonly ratings: number;
  /** P̄, mean observed pairwise agreement per item; `null` when `items` is 0. */
  readonly observedAgreement: number | null;
  /** P̄e = Σ_j p_j²; `null` when `items` is 0. */
  readonly expectedAgreement: number | null;
}

export interface KrippendorffResult {
  /** Krippendorff's α (nominal); `null` when there are no pairable values or only one category occurs. */
  readonly alpha: number | null;
  /** Units with ≥ 2 values (pairable). */
  readonly units: number;
  /** n, the number of pairable values. */
  readonly pairableValues: number;
  /** D_o = Σ_{c≠k} o_ck / n; `null` when n is 0. */
  readonly observedDisagreement: number | null;
  /** D_e = Σ_{c≠k} n_c·n_k / (n(n-1)); `null` when n < 2. */
  readonly expectedDisagreement: number | null;
}

export interface AgreementReport {
  readonly pairs: PairAgreement[];
  readonly fleiss: FleissResult;
  readonly krippendorff: KrippendorffResult;
}

/** Counts per item and category over all annotators (missing ratings skipped). */
export function itemCategoryCounts(m: RatingMatrix): CategoryCounts {
  const { annotators, items, categories: k, codes } = m;
  const counts = new Int32Array(items * k);
  for (let a = 0; a < annotators; a++) {
    const base = a * items;
    for (let i = 0; i < items; i++) {
      const c = codes[base + i]!;
      if (c !== MISSING) counts[i * k + c]!++;
    }
  }
  return { items, categories: k, counts };
}

/** Builds `CategoryCounts` from one row of category counts per item (e.g. Fleiss' table). */
export function categoryCountsFromRows(rows: readonly (readonly number[])[]): CategoryCounts {
  const k = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const counts = new Int32Array(rows.length * k);
  rows.forEach((r, i) =>
    r.forEach((v, c) => {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`invalid count ${v} (item ${i}, category ${c})`);
      counts[i * k + c] = v;
    }),
  );
  return { items: rows.length, categories: k, counts };
}

/**
 * Percent agreement and Cohen's κ for every annotator pair `a < b`, each over the items both
 * labeled. Pairs come in order (0,1), (0,2), …, (1,2), …
 */
export function pairwiseAgreement(m: RatingMatrix): PairAgreement[] {
  const { annotators, items, categories: k, codes } = m;
  const confusion = new Int32Array(k * k);
  const out: PairAgreement[] = [];
  for (let a = 0; a < annotators; a++) {
    const ba = a * items;
    for (let b = a + 1; b < annotators; b++) {
      const bb = b * items;
      confusion.fill(0);
      for (let i = 0; i < items; i++) {
        const x = codes[ba + i]!;
        const y = codes[bb + i]!;
        if (x !== MISSING && y !== MISSING) confusion[x * k + y]!++;
      }
      out.push({ a, b, ...kappaFromFlatConfusion(confusion, k) });
    }
  }
  return out;
}

/** Cohen's κ and percent agreement of a single pair. */
export function cohenKappa(m: RatingMatrix, a: number, b: number): PairAgreement {
  if (!(a >= 0 && a < m.annotators && b >= 0 && b < m.annotators) || a === b) {
    throw new RangeError(`annotators ${a}, ${b} must be two different rows of 0 … ${m.annotators - 1}`);
  }
  const { items, categories: k, codes } = m;
  const confusion = new Int32Array(k * k);
  for (let i = 0; i < items; i++) {
    const x = codes[a * items + i]!;
    const y = codes[b * items + i]!;
    if (x !== MISSING && y !== MISSING) confusion[x * k + y]!++;
  }
  return { a, b, ...kappaFromFlatConfusion(confusion, k) };
}

/**
 * Cohen's κ from a K × K confusion table (`table[x][y]` = items the first rater put in `x` and
 * the second in `y`).
 */
export function cohenKappaFromConfusion(table: readonly (readonly number[])[]): Omit<PairAgreement, 'a' | 'b'> {
  const k = table.length;
  const flat = new Float64Array(k * k);
  table.forEach((row, x) => {
    if (row.length !== k) throw new RangeError(`confusion table must be square (${k} × ${k})`);
    row.forEach((v, y) => {
      if (!(v >= 0)) throw new RangeError(`invalid count ${v}`);
      flat[x * k + y] = v;
    });
  });
  return kappaFromFlatConfusion(flat, k);
}

function kappaFromFlatConfusion(confusion: Int32Array | Float64Array, k: number): Omit<PairAgreement, 'a' | 'b'> {
  let n = 0;
  let agree = 0;
  let chance = 0; // Σ_k rowSum_k · colSum_k
  for (let x = 0; x < k; x++) {
    let row = 0;
    let col = 0;
    for (let y = 0; y < k; y++) {
      row += confusion[x * k + y]!;
      col += confusion[y * k + x]!;
    }
    n += row;
    agree += confusion[x * k + x]!;
    chance += row * col;
  }
  if (n === 0) {
    return { shared: 0, agreements: 0, percentAgreement: null, expectedAgreement: null, cohenKappa: null };
  }
  const n2 = n * n;
  const po = agree / n;
  const pe = chance / n2;
  // pe === 1 exactly iff both raters used one and the same category on every shared item.
  const kappa = chance === n2 ? null : (po - pe) / (1 - pe);
  return { shared: n, agreements: agree, percentAgreement: po, expectedAgreement: pe, cohenKappa: kappa };
}

/**
 * Fleiss' κ. Items with fewer than 2 ratings are excluded. Unequal raters per item: P_i =
 * Σ_j n_ij(n_ij − 1) / (n_i(n_i − 1)) with the item's own n_i, P̄ = unweighted mean of P_i,
 * p_j = Σ_i n_ij / Σ_i n_i over the kept items, κ = (P̄ − P̄e) / (1 − P̄e) with P̄e = Σ_j p_j².
 */
export function fleissKappa(input: RatingMatrix | CategoryCounts): FleissResult {
  const { items, categories: k, counts } = 'counts' in input ? input : itemCategoryCounts(input);
  const totals = new Float64Array(k);
  let kept = 0;
  let ratings = 0;
  let sumP = 0;
  for (let i = 0; i < items; i++) {
    const base = i * k;
    let ni = 0;
    let s = 0;
    for (let c = 0; c < k; c++) {
      const v = counts[base + c]!;
      ni += v;
      s += v * (v - 1);
    }
    if (ni < 2) continue;
    kept++;
    ratings += ni;
    sumP += s / (ni * (ni - 1));
    for (let c = 0; c < k; c++) totals[c]! += counts[base + c]!;
  }
  if (kept === 0) return { kappa: null, items: 0, ratings: 0, observedAgreement: null, expectedAgreement: null };
  const pBar = sumP / kept;
  let pe = 0;
  let used = 0;
  for (let c = 0; c < k; c++) {
    const p = totals[c]! / ratings;
    pe += p * p;
    if (totals[c]! > 0) used++;
  }
  const kappa = used <= 1 ? null : (pBar - pe) / (1 - pe);
  return { kappa, items: kept, ratings, observedAgreement: pBar, expectedAgreement: pe };
}

/**
 * Krippendorff's α for nominal data, missing values allowed (coincidence-matrix formulation,
 * Krippendorff 2011): units with fewer than 2 values are not pairable and dropped; each unit u
 * with m_u values adds n_uc·n_uk / (m_u − 1) to o_ck (c ≠ k) and n_uc(n_uc − 1)/(m_u − 1) to o_cc;
 * α = 1 − (n − 1) · Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k.
 */
export function krippendorffAlpha(input: RatingMatrix | CategoryCounts): KrippendorffResult {
  const { items, categories: k, counts } = 'counts' in input ? input : itemCategoryCounts(input);
  const nc = new Float64Array(k);
  let units = 0;
  let n = 0;
  let disagree = 0; // Σ_{c≠k} o_ck
  for (let i = 0; i < items; i++) {
    const base = i * k;
    let mu = 0;
    let s = 0;
    for (let c = 0; c < k; c++) {
      const v = counts[base + c]!;
      mu += v;
      s += v * (v - 1);
    }
    if (mu < 2) continue;
    units++;
    n += mu;
    disagree += mu - s / (mu - 1);
    for (let c = 0; c < k; c++) nc[c]! += counts[base + c]!;
  }
  if (n === 0) {
    return { alpha: null, units: 0, pairableValues: 0, observedDisagreement: null, expectedDisagreement: null };
  }
  let sumSq = 0;
  for (let c = 0; c < k; c++) sumSq += nc[c]! * nc[c]!;
  const expectedPairs = n * n - sumSq; // Σ_{c≠k} n_c n_k
  return {
    alpha: expectedPairs === 0 ? null : 1 - ((n - 1) * disagree) / expectedPairs,
    units,
    pairableValues: n,
    observedDisagreement: disagree / n,
    expectedDisagreement: expectedPairs / (n * (n - 1)),
  };
}

/** The K × K coincidence matrix o (row-major Float64Array), for inspection; Σ o = n. */
export function coincidenceMatrix(input: RatingMatrix | CategoryCounts): Float64Array {
  const { items, categories: k, counts } = 'counts' in input ? input : itemCategoryCounts(input);
  const o = new Float64Array(k * k);
  for (let i = 0; i < items; i++) {
    const base = i * k;
    let mu = 0;
    for (let c = 0; c < k; c++) mu += counts[base + c]!;
    if (mu < 2) continue;
    for (let c = 0; c < k; c++) {
      const vc = counts[base + c]!;
      if (vc === 0) continue;
      for (let d = 0; d < k; d++) {
        const vd = counts[base + d]!;
        o[c * k + d]! += (c === d ? vc * (vc - 1) : vc * vd) / (mu - 1);
      }
    }
  }
  return o;
}

/** All pairwise Cohen's κ, Fleiss' κ and Krippendorff's α; the per-item counts are built once. */
export function agreementReport(m: RatingMatrix): AgreementReport {
  const counts = itemCategoryCounts(m);
  return { pairs: pairwiseAgreement(m), fleiss: fleissKappa(counts), krippendorff: krippendorffAlpha(counts) };
}
