import { lbfgs } from './models/residual.ts';
import { finishPrediction } from './util.ts';
import type { Prediction } from './types.ts';

/**
 * `ours+text` — an END MODEL that reads the record TEXT (not only the LF votes), kept separate from
 * the label model `ours` on purpose: bag-of-words (lower-cased word unigrams + bigrams seen ≥ `minCount`
 * times in the fitted texts) multinomial logistic regression with an L2 ridge, trained on the label
 * model's probabilities as soft targets (manual labels, when given, as one-hot targets). Generalises
 * from the records the LFs cover to similar texts the LFs miss (e.g. records without any vote).
 * Deterministic (L-BFGS from zero).
 */
export interface TextModelOptions {
  numClasses: number;
  /** Per fitted record: manual class or -1 (one-hot target instead of the label model's probs). */
  manualLabels?: ArrayLike<number>;
  /** Ridge on the word weights (sum-of-losses scale). Default 1. */
  ridge?: number;
  /** Minimum document frequency of a feature. Default 2. */
  minCount?: number;
}

export interface FittedTextModel {
  readonly numClasses: number;
  readonly vocabulary: ReadonlyMap<string, number>;
  predict(texts: readonly string[]): Prediction;
}

export function textFeatures(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  const out = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    out.add(words[i]!);
    if (i + 1 < words.length) out.add(`${words[i]} ${words[i + 1]}`);
  }
  if (words.length === 0) out.add('<empty>');
  return [...out];
}

export function fitTextModel(texts: readonly string[], labelProbs: Float64Array, options: TextModelOptions): FittedTextModel {
  const K = options.numClasses;
  const n = texts.length;
  if (labelProbs.length !== n * K) throw new RangeError('fitTextModel: labelProbs must be n × K');
  const ridge = options.ridge ?? 1;
  const minCount = options.minCount ?? 2;
  const feats = texts.map(textFeatures);
  const df = new Map<string, number>();
  for (const f of feats) for (const w of f) df.set(w, (df.get(w) ?? 0) + 1);
  const vocab = new Map<string, number>();
  for (const [w, c] of [...df].sort((a, b) => (a[0] < b[0] ? -1 : 1))) if (c >= minCount) vocab.set(w, vocab.size);
  const D = vocab.size;
  const ptr = new Int32Array(n + 1);
  const idx: number[] = [];
  feats.forEach((f, i) => {
    for (const w of f) {
      const id = vocab.get(w);
      if (id !== undefined) idx.push(id);
    }
    ptr[i + 1] = idx.length;
  });
  const fidx = Int32Array.from(idx);
  const target = Float64Array.from(labelProbs);
  if (options.manualLabels) {
    for (let i = 0; i < n; i++) {
      const y = options.manualLabels[i]!;
      if (y >= 0 && y < K) for (let c = 0; c < K; c++) target[i * K + c] = c === y ? 1 : 0;
    }
  }
  // params: bias K, then W (D × K)
  const z = new Float64Array(K);
  const fg = (t: Float64Array, g: Float64Array): number => {
    g.fill(0);
    let f = 0;
    for (let q = K; q < t.length; q++) {
      f += ridge * t[q]! ** 2;
      g[q] = 2 * ridge * t[q]!;
    }
    for (let i = 0; i < n; i++) {
      let mx = -Infinity;
      for (let y = 0; y < K; y++) {
        let v = t[y]!;
        for (let k = ptr[i]!; k < ptr[i + 1]!; k++) v += t[K + fidx[k]! * K + y]!;
        z[y] = v;
        if (v > mx) mx = v;
      }
      let s = 0;
      for (let y = 0; y < K; y++) s += Math.exp(z[y]! - mx);
      const lz = mx + Math.log(s);
      for (let y = 0; y < K; y++) {
        const py = Math.exp(z[y]! - lz);
        f -= target[i * K + y]! * (z[y]! - lz);
        const d = py - target[i * K + y]!;
        g[y] = g[y]! + d;
        for (let k = ptr[i]!; k < ptr[i + 1]!; k++) g[K + fidx[k]! * K + y] = g[K + fidx[k]! * K + y]! + d;
      }
    }
    return f;
  };
  // lbfgs clamps t[0] >= 1e-3 (residual scale); put a dummy first parameter to keep the bias free
  const t0 = new Float64Array(1 + K + D * K);
  t0[0] = 1;
  const shifted = (t: Float64Array, g: Float64Array): number => {
    const inner = t.subarray(1);
    const gi = g.subarray(1);
    const f = fg(inner, gi);
    g[0] = 0;
    return f;
  };
  const theta = lbfgs(shifted, t0, 300).subarray(1);
  return {
    numClasses: K,
    vocabulary: vocab,
    predict(pt: readonly string[]): Prediction {
      const probs = new Float64Array(pt.length * K);
      pt.forEach((text, i) => {
        const row = z;
        for (let y = 0; y < K; y++) row[y] = theta[y]!;
        for (const w of textFeatures(text)) {
          const id = vocab.get(w);
          if (id === undefined) continue;
          for (let y = 0; y < K; y++) row[y] = row[y]! + theta[K + id * K + y]!;
        }
        let mx = -Infinity;
        for (let y = 0; y < K; y++) if (row[y]! > mx) mx = row[y]!;
        let s = 0;
        for (let y = 0; y < K; y++) s += Math.exp(row[y]! - mx);
        for (let y = 0; y < K; y++) probs[i * K + y] = Math.exp(row[y]! - mx) / s;
      });
      return finishPrediction(probs, pt.length, K);
    },
  };
}
