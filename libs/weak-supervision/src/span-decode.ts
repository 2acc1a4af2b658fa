import type { ScoredSpan, TagScheme } from './spans.ts';
import { posteriors, spanPosterior, type ForwardBackward } from './models/hmm.ts';

/** Candidate spans whose exact posterior is below this are dropped (they cannot win an F1-optimal decode). */
const MIN_SPAN_POSTERIOR = 1e-3;
/** Longest candidate span (tokens); longer entities are only found by the Viterbi decode. */
const MAX_SPAN_LENGTH = 64;

export interface SpanCandidates {
  /** Candidate spans with their exact posterior (same boundaries and type). */
  spans: ScoredSpan[];
  /** Expected number of entities in the document under the model (Σ_t P(an entity starts at t)). */
  expectedEntities: number;
}

/**
 * Every span [a, b) of type x whose exact posterior P(tags[a..b) form exactly one entity of type x)
 * is ≥ MIN_SPAN_POSTERIOR, from one forward-backward pass. A start needs P(begin of x at a) ≥ the
 * threshold and every token inside P(inside x) ≥ it (both are upper bounds of the span posterior).
 */
export function spanCandidates(fb: ForwardBackward, T: number, S: number, scheme: TagScheme, entityTypes: readonly string[]): SpanCandidates {
  const g = posteriors(fb, T, S);
  const out: ScoredSpan[] = [];
  let expected = 0;
  const tags = new Int32Array(T);
  for (let x = 0; x < entityTypes.length; x++) {
    const first = scheme === 'BIO' ? 2 * x + 1 : x + 1;
    const inside = scheme === 'BIO' ? 2 * x + 2 : x + 1;
    for (let a = 0; a < T; a++) {
      // P(entity of type x starts at a): B-x (BIO), or I-x not preceded by I-x (IO)
      let pStart: number;
      if (scheme === 'BIO') pStart = g[a * S + first]!;
      else if (a === 0) pStart = g[first]!;
      else {
        let v = 0;
        for (let r = 0; r < S; r++) if (r !== first) v += fb.alpha[(a - 1) * S + r]! * fb.trans[r * S + first]!;
        pStart = Math.min(1, (v * fb.b[a * S + first]! * fb.beta[a * S + first]!) / fb.scale[a]!);
      }
      if (!(pStart > 0)) continue;
      expected += pStart;
      if (pStart < MIN_SPAN_POSTERIOR) continue;
      tags[a] = first;
      for (let b = a + 1; b <= T && b - a <= MAX_SPAN_LENGTH; b++) {
        if (b > a + 1) {
          if (g[(b - 1) * S + inside]! < MIN_SPAN_POSTERIOR) break;
          tags[b - 1] = inside;
        }
        const p = spanPosterior(fb, tags, a, b, S, scheme, T);
        if (p >= MIN_SPAN_POSTERIOR) out.push({ start: a, end: b, type: entityTypes[x]!, confidence: p });
      }
    }
  }
  return { spans: out, expectedEntities: expected };
}

/**
 * Non-overlapping subset of `cands` maximizing Σ (confidence − tau) (weighted interval scheduling,
 * O(n log n)); only spans with confidence > tau can be chosen. Sorted by start.
 */
export function selectSpans(cands: readonly ScoredSpan[], tau: number): ScoredSpan[] {
  const c = cands.filter((s) => s.confidence > tau).sort((p, q) => p.end - q.end || p.start - q.start);
  const n = c.length;
  if (n === 0) return [];
  const best = new Float64Array(n + 1);
  const take = new Uint8Array(n + 1);
  const prevOf = new Int32Array(n + 1);
  for (let i = 1; i <= n; i++) {
    const s = c[i - 1]!;
    // last span (1-based index) ending at or before s.start
    let lo = 0;
    let hi = i - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (c[mid - 1]!.end <= s.start) lo = mid;
      else hi = mid - 1;
    }
    prevOf[i] = lo;
    const withIt = best[lo]! + (s.confidence - tau);
    if (withIt > best[i - 1]!) {
      best[i] = withIt;
      take[i] = 1;
    } else best[i] = best[i - 1]!;
  }
  const out: ScoredSpan[] = [];
  for (let i = n; i > 0; ) {
    if (take[i]) {
      out.push(c[i - 1]!);
      i = prevOf[i]!;
    } else i--;
  }
  return out.reverse();
}

/**
 * Expected-F1 decoding over a set of documents: choose tau = F/2 (the F1-optimal posterior threshold
 * for a target F1 F, Lipton et al. 2014) where F is the model's own expected F1 of the selection,
 * E[F1] ≈ 2 Σ_sel p / (|sel| + E[#entities]), iterated to a fixed point. No free parameter.
 */
export function expectedF1Decode(docs: readonly SpanCandidates[], maxIter = 20): { spans: ScoredSpan[][]; tau: number; expectedF1: number } {
  let expectedEntities = 0;
  for (const d of docs) expectedEntities += d.expectedEntities;
  let tau = 0.5;
  let sel: ScoredSpan[][] = [];
  let f = 0;
  for (let it = 0; it < maxIter; it++) {
    sel = docs.map((d) => selectSpans(d.spans, tau));
    let tp = 0;
    let np = 0;
    for (const d of sel) {
      np += d.length;
      for (const s of d) tp += s.confidence;
    }
    const denom = np + expectedEntities;
    f = denom > 0 ? (2 * tp) / denom : 0;
    const next = f / 2;
    if (Math.abs(next - tau) < 1e-6) break;
    tau = next;
  }
  return { spans: sel, tau, expectedF1: f };
}

/** Tag ids of a set of non-overlapping spans (BIO: B then I; IO: I). */
export function spansToTagIds(spans: readonly ScoredSpan[], T: number, scheme: TagScheme, entityTypes: readonly string[]): Int32Array {
  const tags = new Int32Array(T);
  for (const s of spans) {
    const x = entityTypes.indexOf(s.type);
    if (x < 0) continue;
    for (let t = s.start; t < s.end; t++) tags[t] = scheme === 'BIO' ? (t === s.start ? 2 * x + 1 : 2 * x + 2) : x + 1;
  }
  return tags;
}
