import { spanKey, type ScoredSpan, type Span, type SpanDoc } from './spans.ts';
import { selectSpans } from './span-decode.ts';

/**
 * Span-level Dawid-Skene (SPAN_DEFAULTS.spanModel = 'spanDs', the default for unsupervised span fits, with one
 * M-step on the HMM's Viterbi spans — more EM rounds drift to another clustering): the candidates of a document
 * are its distinct LF spans (start, end, type); LF j's observation on a candidate is
 *   0 = proposes exactly this span, 1 = proposes a different span overlapping it, 2 = nothing in range,
 * optionally plus the candidate's length bucket (1, 2, 3, ≥ 4 tokens) as one more categorical column.
 * Hidden: the candidate is a gold entity (z = 1) or not (z = 0); LFs conditionally independent given z;
 * EM with add-`smoothing` pseudo-counts. Decoding: the non-overlapping set maximizing Σ (p − 0.5).
 */
export interface SpanDsParams {
  numLfs: number;
  useLength: boolean;
  /** log P(z = 1), log P(z = 0). */
  logPrior: [number, number];
  /** logTheta[(col * 2 + z) * 4 + v]; col M = the length column (when useLength). */
  logTheta: Float64Array;
  iterations: number;
}

export interface SpanDsCandidates {
  /** Per document: its candidate spans. */
  spans: Span[][];
  /** obs[c * cols + col] over all candidates in document order; cols = M (+ 1 with length). */
  obs: Int32Array;
  /** offsets[d] .. offsets[d + 1]: document d's candidates in `obs`. */
  offsets: Int32Array;
}

const V = 4;

function lengthBucket(n: number): number {
  return n >= 4 ? 3 : n - 1;
}

export function spanDsCandidates(docs: readonly SpanDoc[], numLfs: number, useLength: boolean): SpanDsCandidates {
  const cols = numLfs + (useLength ? 1 : 0);
  const spans: Span[][] = [];
  const obs: number[] = [];
  const offsets = new Int32Array(docs.length + 1);
  let n = 0;
  docs.forEach((d, i) => {
    const seen = new Map<string, Span>();
    for (let j = 0; j < numLfs; j++) {
      for (const s of d.lfSpans[j] ?? []) {
        if (s.end <= s.start) continue;
        const k = spanKey(s);
        if (!seen.has(k)) seen.set(k, { start: s.start, end: s.end, type: s.type });
      }
    }
    const cands = [...seen.values()].sort((a, b) => a.start - b.start || a.end - b.end);
    for (const c of cands) {
      for (let j = 0; j < numLfs; j++) {
        let v = 2;
        for (const s of d.lfSpans[j] ?? []) {
          if (s.start === c.start && s.end === c.end && s.type === c.type) {
            v = 0;
            break;
          }
          if (s.start < c.end && c.start < s.end) v = 1;
        }
        obs.push(v);
      }
      if (useLength) obs.push(lengthBucket(c.end - c.start));
    }
    spans.push(cands);
    n += cands.length;
    offsets[i + 1] = n;
  });
  if (obs.length !== n * cols) throw new Error('span-ds: observation count mismatch');
  return { spans, obs: Int32Array.from(obs), offsets };
}

/** P(z = 1 | obs) for every candidate. */
export function spanDsPosteriors(p: SpanDsParams, c: SpanDsCandidates): Float64Array {
  const cols = p.numLfs + (p.useLength ? 1 : 0);
  const n = c.offsets[c.offsets.length - 1]!;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let l1 = p.logPrior[0];
    let l0 = p.logPrior[1];
    for (let col = 0; col < cols; col++) {
      const v = c.obs[i * cols + col]!;
      l1 += p.logTheta[(col * 2 + 1) * V + v]!;
      l0 += p.logTheta[(col * 2) * V + v]!;
    }
    out[i] = 1 / (1 + Math.exp(l0 - l1));
  }
  return out;
}

export interface SpanDsFitOptions {
  useLength: boolean;
  /** EM rounds after the M-step on `init` (0 = one M-step on the initial posteriors only). */
  iterations: number;
  smoothing: number;
  /** Per candidate: fixed label (gold, 0 / 1) or -1 (latent). */
  clamp?: Int8Array;
  /** Weight of each clamped candidate in the M-step. */
  clampWeight?: number;
}

/** EM from initial posteriors `init` (one per candidate). */
export function fitSpanDs(c: SpanDsCandidates, numLfs: number, init: Float64Array, o: SpanDsFitOptions): SpanDsParams {
  const cols = numLfs + (o.useLength ? 1 : 0);
  const n = c.offsets[c.offsets.length - 1]!;
  const q = Float64Array.from(init);
  const w = new Float64Array(n).fill(1);
  if (o.clamp) {
    for (let i = 0; i < n; i++) {
      if (o.clamp[i]! >= 0) {
        q[i] = o.clamp[i]!;
        w[i] = o.clampWeight ?? 1;
      }
    }
  }
  const p: SpanDsParams = { numLfs, useLength: o.useLength, logPrior: [0, 0], logTheta: new Float64Array(cols * 2 * V), iterations: 0 };
  const counts = new Float64Array(cols * 2 * V);
  for (let it = 0; it <= o.iterations; it++) {
    // M-step
    counts.fill(0);
    let z1 = 0;
    let z0 = 0;
    for (let i = 0; i < n; i++) {
      const a = w[i]! * q[i]!;
      const b = w[i]! * (1 - q[i]!);
      z1 += a;
      z0 += b;
      for (let col = 0; col < cols; col++) {
        const v = c.obs[i * cols + col]!;
        counts[(col * 2 + 1) * V + v] = counts[(col * 2 + 1) * V + v]! + a;
        counts[(col * 2) * V + v] = counts[(col * 2) * V + v]! + b;
      }
    }
    p.logPrior = [Math.log((z1 + 1) / (z1 + z0 + 2)), Math.log((z0 + 1) / (z1 + z0 + 2))];
    for (let col = 0; col < cols; col++) {
      const nv = col < numLfs ? 3 : 4;
      for (let z = 0; z < 2; z++) {
        let s = 0;
        for (let v = 0; v < nv; v++) s += counts[(col * 2 + z) * V + v]! + o.smoothing;
        for (let v = 0; v < V; v++) p.logTheta[(col * 2 + z) * V + v] = v < nv ? Math.log((counts[(col * 2 + z) * V + v]! + o.smoothing) / s) : -Infinity;
      }
    }
    p.iterations = it;
    if (it === o.iterations) break;
    // E-step
    const post = spanDsPosteriors(p, c);
    let delta = 0;
    for (let i = 0; i < n; i++) {
      if (o.clamp && o.clamp[i]! >= 0) continue;
      delta = Math.max(delta, Math.abs(post[i]! - q[i]!));
      q[i] = post[i]!;
    }
    if (delta < 1e-6) break;
  }
  return p;
}

/** Per document: the non-overlapping candidates maximizing Σ (p − 0.5), with p as confidence. */
export function decodeSpanDs(c: SpanDsCandidates, post: Float64Array): ScoredSpan[][] {
  return c.spans.map((cands, d) => {
    const a = c.offsets[d]!;
    return selectSpans(
      cands.map((s, k) => ({ ...s, confidence: post[a + k]! })),
      0.5,
    );
  });
}
