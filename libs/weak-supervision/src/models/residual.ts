import type { LabelMatrix } from '../matrix.ts';

/**
 * Discriminative correction of a generative label model, learned from manual labels.
 *
 *   z_y(i) = a · s_y(i) + b_y + Σ_{f ∈ F(i)} β_{f,y},   p(y | i) = softmax(z(i))
 *
 * s(i) = the generative model's log-posterior scores (an offset: what the EM learned from all records),
 * F(i) = vote-pattern features of record i: one indicator per vote (LF j said l), one per co-occurring
 * pair of votes (LF dependencies / conflicts the naive-Bayes model double-counts or misjudges), and one
 * for "no LF voted". (a, b) are ridge-penalised towards (1, 0) with strength `ridgeAB`, β towards 0
 * with strength `lambda` (λ = ∞ → plain Platt / temperature calibration). λ is chosen by K-fold
 * cross-validation on the labeled records (held-out log-loss). Deterministic (full-batch L-BFGS).
 */
export interface ResidualModel {
  numClasses: number;
  scale: number;
  bias: Float64Array;
  /** feature key → row index into `beta` (row-major D × K). */
  index: Map<number, number>;
  beta: Float64Array;
  /** Ridge on β that was chosen (Infinity = no feature terms). */
  lambda: number;
  pairs: boolean;
  /** Mean held-out log-loss per labeled record of the chosen λ (NaN with < 2 labeled records). */
  cvNll: number;
}

const UNCOVERED_KEY = -1;

/** Feature keys of record i (votes, vote pairs, uncovered). */
export function recordFeatureKeys(m: LabelMatrix, i: number, K: number, pairs: boolean, out: number[]): void {
  out.length = 0;
  const s = m.indptr[i]!;
  const e = m.indptr[i + 1]!;
  if (s === e) {
    out.push(UNCOVERED_KEY);
    return;
  }
  const V = m.numLfs * K;
  for (let k = s; k < e; k++) {
    const a = m.lfs[k]! * K + m.labels[k]!;
    out.push(a);
    if (!pairs) continue;
    for (let k2 = k + 1; k2 < e; k2++) {
      const b = m.lfs[k2]! * K + m.labels[k2]!;
      out.push(V + (a < b ? a * V + b : b * V + a));
    }
  }
}

interface Problem {
  n: number;
  K: number;
  /** centered scores n × K */
  s: Float64Array;
  labels: Int32Array;
  /** CSR of feature rows */
  fptr: Int32Array;
  fidx: Int32Array;
  D: number;
}

/** Center the scores per row and clip (the map is shift-invariant per row). */
function centered(scores: Float64Array, n: number, K: number): Float64Array {
  const s = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    let fin = 0;
    for (let y = 0; y < K; y++) if (Number.isFinite(scores[i * K + y]!)) (mean += scores[i * K + y]!), fin++;
    mean = fin > 0 ? mean / fin : 0;
    for (let y = 0; y < K; y++) {
      const v = scores[i * K + y]! - mean;
      s[i * K + y] = Number.isFinite(v) ? Math.max(-50, Math.min(50, v)) : v > 0 ? 50 : -50;
    }
  }
  return s;
}

/** objective value and gradient for parameters t = [a, b_0..b_{K-1}, β (D×K)] on the rows `rows`. */
function objective(p: Problem, rows: Int32Array, t: Float64Array, g: Float64Array, ridgeAB: number, lambda: number, useBeta: boolean): number {
  const K = p.K;
  g.fill(0);
  const a = t[0]!;
  let f = ridgeAB * (a - 1) ** 2;
  g[0] = 2 * ridgeAB * (a - 1);
  for (let y = 0; y < K; y++) {
    f += ridgeAB * t[1 + y]! ** 2;
    g[1 + y] = 2 * ridgeAB * t[1 + y]!;
  }
  const off = 1 + K;
  if (useBeta) {
    for (let q = off; q < t.length; q++) {
      f += lambda * t[q]! ** 2;
      g[q] = 2 * lambda * t[q]!;
    }
  }
  const z = new Float64Array(K);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    let mx = -Infinity;
    for (let y = 0; y < K; y++) {
      let v = a * p.s[i * K + y]! + t[1 + y]!;
      if (useBeta) for (let k = p.fptr[i]!; k < p.fptr[i + 1]!; k++) v += t[off + p.fidx[k]! * K + y]!;
      z[y] = v;
      if (v > mx) mx = v;
    }
    let zs = 0;
    for (let y = 0; y < K; y++) zs += Math.exp(z[y]! - mx);
    const lz = mx + Math.log(zs);
    const yi = p.labels[i]!;
    f += lz - z[yi]!;
    for (let y = 0; y < K; y++) {
      const d = Math.exp(z[y]! - lz) - (y === yi ? 1 : 0);
      g[0] = g[0]! + d * p.s[i * K + y]!;
      g[1 + y] = g[1 + y]! + d;
      if (useBeta) for (let k = p.fptr[i]!; k < p.fptr[i + 1]!; k++) g[off + p.fidx[k]! * K + y] = g[off + p.fidx[k]! * K + y]! + d;
    }
  }
  return f;
}

/** Minimal deterministic L-BFGS with Armijo backtracking. */
export function lbfgs(fg: (t: Float64Array, g: Float64Array) => number, t0: Float64Array, maxIter = 200, mem = 8): Float64Array {
  const P = t0.length;
  let t = Float64Array.from(t0);
  let g = new Float64Array(P);
  let f = fg(t, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(P);
  const alpha = new Array<number>(mem);
  const tn = new Float64Array(P);
  const gn = new Float64Array(P);
  for (let it = 0; it < maxIter; it++) {
    let gnorm = 0;
    for (let q = 0; q < P; q++) gnorm += g[q]! ** 2;
    if (gnorm < 1e-10) break;
    // two-loop recursion
    for (let q = 0; q < P; q++) d[q] = -g[q]!;
    for (let h = S.length - 1; h >= 0; h--) {
      let dot = 0;
      for (let q = 0; q < P; q++) dot += S[h]![q]! * d[q]!;
      alpha[h] = rho[h]! * dot;
      for (let q = 0; q < P; q++) d[q] = d[q]! - alpha[h]! * Y[h]![q]!;
    }
    if (S.length > 0) {
      const h = S.length - 1;
      let yy = 0;
      let sy = 0;
      for (let q = 0; q < P; q++) (yy += Y[h]![q]! ** 2), (sy += S[h]![q]! * Y[h]![q]!);
      const gamma = sy / yy;
      for (let q = 0; q < P; q++) d[q] = d[q]! * gamma;
    } else {
      const sc = 1 / Math.sqrt(gnorm);
      for (let q = 0; q < P; q++) d[q] = d[q]! * Math.min(1, sc);
    }
    for (let h = 0; h < S.length; h++) {
      let dot = 0;
      for (let q = 0; q < P; q++) dot += Y[h]![q]! * d[q]!;
      const beta = rho[h]! * dot;
      for (let q = 0; q < P; q++) d[q] = d[q]! + S[h]![q]! * (alpha[h]! - beta);
    }
    let gd = 0;
    for (let q = 0; q < P; q++) gd += g[q]! * d[q]!;
    if (!(gd < 0)) {
      // not a descent direction: restart with steepest descent
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let q = 0; q < P; q++) d[q] = -g[q]! / Math.sqrt(gnorm);
      gd = -Math.sqrt(gnorm);
    }
    let step = 1;
    let fn = Infinity;
    for (let bt = 0; bt < 40; bt++) {
      for (let q = 0; q < P; q++) tn[q] = t[q]! + step * d[q]!;
      if (tn[0]! < 1e-3) tn[0] = 1e-3;
      fn = fg(tn, gn);
      if (fn <= f + 1e-4 * step * gd) break;
      step /= 2;
    }
    if (!(fn < f)) break;
    const sv = new Float64Array(P);
    const yv = new Float64Array(P);
    let sy = 0;
    for (let q = 0; q < P; q++) {
      sv[q] = tn[q]! - t[q]!;
      yv[q] = gn[q]! - g[q]!;
      sy += sv[q]! * yv[q]!;
    }
    const rel = (f - fn) / Math.max(1, Math.abs(f));
    t = Float64Array.from(tn);
    g = Float64Array.from(gn);
    f = fn;
    if (sy > 1e-12) {
      S.push(sv);
      Y.push(yv);
      rho.push(1 / sy);
      if (S.length > mem) S.shift(), Y.shift(), rho.shift();
    }
    if (rel < 1e-10) break;
  }
  return t;
}

function fitOn(p: Problem, rows: Int32Array, ridgeAB: number, lambda: number): Float64Array {
  const useBeta = Number.isFinite(lambda);
  const P = 1 + p.K + (useBeta ? p.D * p.K : 0);
  const t0 = new Float64Array(P);
  t0[0] = 1;
  return lbfgs((t, g) => objective(p, rows, t, g, ridgeAB, lambda, useBeta), t0);
}

/** Sum of the held-out log-losses of `rows`; with `perRow`, each row's loss is also written at its index. */
function heldOutNll(p: Problem, rows: Int32Array, t: Float64Array, lambda: number, perRow?: Float64Array): number {
  const useBeta = Number.isFinite(lambda);
  const K = p.K;
  const off = 1 + K;
  const z = new Float64Array(K);
  let nll = 0;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    let mx = -Infinity;
    for (let y = 0; y < K; y++) {
      let v = t[0]! * p.s[i * K + y]! + t[1 + y]!;
      if (useBeta) for (let k = p.fptr[i]!; k < p.fptr[i + 1]!; k++) v += t[off + p.fidx[k]! * K + y]!;
      z[y] = v;
      if (v > mx) mx = v;
    }
    let zs = 0;
    for (let y = 0; y < K; y++) zs += Math.exp(z[y]! - mx);
    const l = mx + Math.log(zs) - z[p.labels[i]!]!;
    if (perRow) perRow[i] = l;
    nll += l;
  }
  return nll;
}

export interface ResidualOptions {
  ridgeAB: number;
  /** Candidate ridge strengths for β (Infinity = calibration only). */
  lambdas: readonly number[];
  folds: number;
  pairs: boolean;
  /**
   * One-standard-error rule: take the first (most regularised) candidate whose CV log-loss is within
   * one standard error (over labeled records) of the best one, instead of the best (default false).
   */
  oneSe?: boolean;
}

/**
 * Fit the residual model on labeled records: `scores` (n × K, out-of-fold generative scores of the
 * labeled records), `recordIds` (their row in `m`), `labels`.
 */
export function fitResidual(m: LabelMatrix, recordIds: Int32Array, scores: Float64Array, labels: Int32Array, K: number, opt: ResidualOptions): ResidualModel {
  const n = recordIds.length;
  const index = new Map<number, number>();
  const keys: number[] = [];
  const fptr = new Int32Array(n + 1);
  const fl: number[] = [];
  for (let r = 0; r < n; r++) {
    recordFeatureKeys(m, recordIds[r]!, K, opt.pairs, keys);
    for (const key of keys) {
      let id = index.get(key);
      if (id === undefined) index.set(key, (id = index.size));
      fl.push(id);
    }
    fptr[r + 1] = fl.length;
  }
  const p: Problem = { n, K, s: centered(scores, n, K), labels, fptr, fidx: Int32Array.from(fl), D: index.size };
  const all = Int32Array.from({ length: n }, (_, i) => i);
  let lambda = Infinity;
  const cands = opt.lambdas.length > 0 ? opt.lambdas : [Infinity];
  const folds = Math.min(opt.folds, n);
  let cvNll = NaN;
  if (folds >= 2) {
    let best = Infinity;
    let bestRows = new Float64Array(n);
    const cv: number[] = [];
    for (const lam of cands) {
      let nll = 0;
      const rowsNll = new Float64Array(n);
      for (let f = 0; f < folds; f++) {
        const tr = all.filter((i) => i % folds !== f);
        const te = all.filter((i) => i % folds === f);
        nll += heldOutNll(p, te, fitOn(p, tr, opt.ridgeAB, lam), lam, rowsNll);
      }
      cv.push(nll);
      // strictly better only: ties keep the earlier (more regularised, listed first) candidate
      if (nll < best - 1e-9) {
        best = nll;
        lambda = lam;
        bestRows = rowsNll;
      }
    }
    cvNll = best / n;
    if (opt.oneSe && n > 1) {
      const mean = best / n;
      let ss = 0;
      for (let i = 0; i < n; i++) ss += (bestRows[i]! - mean) ** 2;
      const se = Math.sqrt(ss / (n - 1) / n);
      const c = cv.findIndex((v) => v / n <= mean + se);
      lambda = cands[c]!;
      cvNll = cv[c]! / n;
    }
  } else lambda = cands[0]!;
  const t = fitOn(p, all, opt.ridgeAB, lambda);
  const bias = new Float64Array(K);
  for (let y = 0; y < K; y++) bias[y] = t[1 + y]!;
  const beta = Number.isFinite(lambda) ? t.slice(1 + K) : new Float64Array(0);
  return { numClasses: K, scale: t[0]!, bias, index: Number.isFinite(lambda) ? index : new Map(), beta, lambda, pairs: opt.pairs, cvNll };
}

/** probs (n × K, in place over `scores`) = softmax(a·s + b + Σ β) for the records of `m`. */
export function applyResidual(r: ResidualModel, m: LabelMatrix, scores: Float64Array): void {
  const K = r.numClasses;
  const keys: number[] = [];
  const z = new Float64Array(K);
  const useBeta = r.beta.length > 0;
  for (let i = 0; i < m.numRecords; i++) {
    const o = i * K;
    let mean = 0;
    let fin = 0;
    for (let y = 0; y < K; y++) if (Number.isFinite(scores[o + y]!)) (mean += scores[o + y]!), fin++;
    mean = fin > 0 ? mean / fin : 0;
    for (let y = 0; y < K; y++) {
      const v = scores[o + y]! - mean;
      z[y] = r.scale * (Number.isFinite(v) ? Math.max(-50, Math.min(50, v)) : v > 0 ? 50 : -50) + r.bias[y]!;
    }
    if (useBeta) {
      recordFeatureKeys(m, i, K, r.pairs, keys);
      for (const key of keys) {
        const id = r.index.get(key);
        if (id === undefined) continue;
        for (let y = 0; y < K; y++) z[y] = z[y]! + r.beta[id * K + y]!;
      }
    }
    let mx = -Infinity;
    for (let y = 0; y < K; y++) if (z[y]! > mx) mx = z[y]!;
    let zs = 0;
    for (let y = 0; y < K; y++) {
      const e = Math.exp(z[y]! - mx);
      scores[o + y] = e;
      zs += e;
    }
    for (let y = 0; y < K; y++) scores[o + y] = scores[o + y]! / zs;
  }
}
