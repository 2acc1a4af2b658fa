/**
 * Span agreement between annotators: exact-match and overlap F1, aggregated over items (micro).
 *
 * Spans are half-open `[start, end)`. Two spans overlap iff `a.start < b.end && b.start < a.end`
 * (so touching spans do not overlap; a zero-length span overlaps nothing).
 */

export interface AgreementSpan {
  start: number;
  /** Exclusive. */
  end: number;
  label: string | number;
}

export interface SpanAgreementCounts {
  /** Matched pairs (one-to-one). */
  readonly matched: number;
  /** Spans of the first / second annotator on the compared items. */
  readonly spansA: number;
  readonly spansB: number;
  /** 2·matched / (spansA + spansB) (= F1 taking either side as reference); `null` when both are 0. */
  readonly f1: number | null;
  /** matched / spansB (A as reference); `null` when spansB is 0. */
  readonly precision: number | null;
  /** matched / spansA; `null` when spansA is 0. */
  readonly recall: number | null;
}

export interface SpanAgreement {
  /** Items compared (annotated by both). */
  readonly items: number;
  /** Same start, end and label; duplicates are matched one-to-one. */
  readonly exact: SpanAgreementCounts;
  /** Same label and overlapping, one-to-one greedy matching (largest overlap first). */
  readonly overlap: SpanAgreementCounts;
}

export interface PairSpanAgreement extends SpanAgreement {
  readonly a: number;
  readonly b: number;
}

/** Per item: one-to-one exact matches (multiset intersection of (start, end, label)). */
export function exactSpanMatches(a: readonly AgreementSpan[], b: readonly AgreementSpan[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const bag = new Map<string, number>();
  for (const s of b) {
    const key = spanKey(s);
    bag.set(key, (bag.get(key) ?? 0) + 1);
  }
  let matched = 0;
  for (const s of a) {
    const key = spanKey(s);
    const left = bag.get(key) ?? 0;
    if (left > 0) {
      matched++;
      bag.set(key, left - 1);
    }
  }
  return matched;
}

/**
 * Per item: one-to-one greedy overlap matching. Candidate pairs (same label, overlapping) are
 * taken by decreasing overlap length, ties by earlier start of A, then of B, then input order; a
 * pair is accepted when neither span is matched yet. Symmetric in A and B except for tie order.
 */
export function overlapSpanMatches(a: readonly AgreementSpan[], b: readonly AgreementSpan[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const cand: [number, number, number][] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    for (let j = 0; j < b.length; j++) {
      const y = b[j]!;
      if (x.label !== y.label) continue;
      const len = Math.min(x.end, y.end) - Math.max(x.start, y.start);
      if (len > 0) cand.push([len, i, j]);
    }
  }
  if (cand.length === 0) return 0;
  cand.sort((p, q) => q[0] - p[0] || a[p[1]]!.start - a[q[1]]!.start || b[p[2]]!.start - b[q[2]]!.start || p[1] - q[1] || p[2] - q[2]);
  const usedA = new Uint8Array(a.length);
  const usedB = new Uint8Array(b.length);
  let matched = 0;
  for (const [, i, j] of cand) {
    if (usedA[i] || usedB[j]) continue;
    usedA[i] = 1;
    usedB[j] = 1;
    matched++;
  }
  return matched;
}

/**
 * Exact and overlap agreement of two annotators. `a[i]` / `b[i]` are their spans on item `i`;
 * `undefined` / `null` means "did not annotate this item" and skips the item, while `[]` means
 * "annotated, no spans" and counts. Arrays of different lengths: missing entries are `undefined`.
 */
export function spanAgreement(
  a: readonly (readonly AgreementSpan[] | null | undefined)[],
  b: readonly (readonly AgreementSpan[] | null | undefined)[],
): SpanAgreement {
  let items = 0;
  let exact = 0;
  let overlap = 0;
  let na = 0;
  let nb = 0;
  const len = Math.max(a.length, b.length);
  for (let i = 0; i < len; i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y) continue;
    for (const s of x) checkSpan(s);
    for (const s of y) checkSpan(s);
    items++;
    na += x.length;
    nb += y.length;
    exact += exactSpanMatches(x, y);
    overlap += overlapSpanMatches(x, y);
  }
  return { items, exact: counts(exact, na, nb), overlap: counts(overlap, na, nb) };
}

/**
 * `spanAgreement` for every annotator pair `a < b`; `annotations[a][i]` are annotator `a`'s spans
 * on item `i` (`undefined`/`null` = not annotated).
 */
export function pairwiseSpanAgreement(
  annotations: readonly (readonly (readonly AgreementSpan[] | null | undefined)[])[],
): PairSpanAgreement[] {
  const out: PairSpanAgreement[] = [];
  for (let a = 0; a < annotations.length; a++) {
    for (let b = a + 1; b < annotations.length; b++) {
      out.push({ a, b, ...spanAgreement(annotations[a]!, annotations[b]!) });
    }
  }
  return out;
}

function counts(matched: number, spansA: number, spansB: number): SpanAgreementCounts {
  return {
    matched,
    spansA,
    spansB,
    f1: spansA + spansB === 0 ? null : (2 * matched) / (spansA + spansB),
    precision: spansB === 0 ? null : matched / spansB,
    recall: spansA === 0 ? null : matched / spansA,
  };
}

function spanKey(s: AgreementSpan): string {
  return `${s.start}\u0000${s.end}\u0000${typeof s.label}\u0000${s.label}`;
}

function checkSpan(s: AgreementSpan): void {
  if (!Number.isFinite(s.start) || !Number.isFinite(s.end) || s.end < s.start) {
    throw new RangeError(`invalid span [${s.start}, ${s.end})`);
  }
}
