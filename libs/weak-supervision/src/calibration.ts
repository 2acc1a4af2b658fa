/**
 * Calibration maps applied to unnormalized log-posterior scores s (n × K):
 *   p = softmax(a · s + b),  a > 0 (inverse temperature), b = per-class bias (b[0] = 0).
 * For K = 2 this is Platt scaling on the log-odds.
 */
export interface Calibration {
  /** Inverse temperature a. */
  scale: number;
  /** Per-class bias, length K. */
  bias: Float64Array;
  /** Records the map was fitted on (0 = default map). */
  fittedOn: number;
}

export function identityCalibration(K: number): Calibration {
  return { scale: 1, bias: new Float64Array(K), fittedOn: 0 };
}

/** probs[i] = softmax(a · scores[i] + b), written into `out` (may alias scores). */
export function applyCalibration(scores: Float64Array, n: number, K: number, cal: Calibration, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const o = i * K;
    let mx = -Infinity;
    for (let y = 0; y < K; y++) {
      const v = cal.scale * scores[o + y]! + cal.bias[y]!;
      out[o + y] = v;
      if (v > mx) mx = v;
    }
    let z = 0;
    for (let y = 0; y < K; y++) {
      const e = Math.exp(out[o + y]! - mx);
      out[o + y] = e;
      z += e;
    }
    for (let y = 0; y < K; y++) out[o + y] = out[o + y]! / z;
  }
}

/**
 * Fit (a, b) by minimizing the negative log-likelihood of `labels` under softmax(a·s + b) plus a ridge
 * penalty `ridge · ((a - 1)² + Σ b²)` that keeps the map near the identity when labels are few.
 * Gradient descent with backtracking; deterministic.
 */
export function fitCalibration(scores: Float64Array, labels: Int32Array, K: number, ridge = 1): Calibration {
  const n = labels.length;
  if (n === 0 || K < 2) return identityCalibration(K);
  // center scores per row to keep the map shift-invariant and the numbers small
  const s = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let y = 0; y < K; y++) mean += scores[i * K + y]!;
    mean /= K;
    for (let y = 0; y < K; y++) {
      const v = scores[i * K + y]! - mean;
      s[i * K + y] = Number.isFinite(v) ? Math.max(-700, Math.min(700, v)) : 0;
    }
  }
  const P = 1 + K; // a, b[0..K)
  let theta = new Float64Array(P);
  theta[0] = 1;
  const grad = new Float64Array(P);
  const row = new Float64Array(K);
  const objective = (t: Float64Array, g: Float64Array | null): number => {
    const a = t[0]!;
    let f = ridge * ((a - 1) ** 2);
    for (let y = 1; y < K; y++) f += ridge * t[1 + y]! ** 2;
    if (g) {
      g.fill(0);
      g[0] = 2 * ridge * (a - 1);
      for (let y = 1; y < K; y++) g[1 + y] = 2 * ridge * t[1 + y]!;
    }
    for (let i = 0; i < n; i++) {
      const o = i * K;
      let mx = -Infinity;
      for (let y = 0; y < K; y++) {
        const v = a * s[o + y]! + (y === 0 ? 0 : t[1 + y]!);
        row[y] = v;
        if (v > mx) mx = v;
      }
      let z = 0;
      for (let y = 0; y < K; y++) z += Math.exp(row[y]! - mx);
      const lz = mx + Math.log(z);
      const yi = labels[i]!;
      f += lz - row[yi]!;
      if (g) {
        for (let y = 0; y < K; y++) {
          const p = Math.exp(row[y]! - lz) - (y === yi ? 1 : 0);
          g[0] = g[0]! + p * s[o + y]!;
          if (y > 0) g[1 + y] = g[1 + y]! + p;
        }
      }
    }
    return f;
  };
  let f = objective(theta, grad);
  let step = 1 / Math.max(1, n);
  const cand = new Float64Array(P);
  for (let it = 0; it < 500; it++) {
    let gn = 0;
    for (let q = 0; q < P; q++) gn += grad[q]! ** 2;
    if (gn < 1e-12) break;
    let accepted = false;
    for (let bt = 0; bt < 40; bt++) {
      for (let q = 0; q < P; q++) cand[q] = theta[q]! - step * grad[q]!;
      if (cand[0]! < 1e-3) cand[0] = 1e-3;
      const fc = objective(cand, null);
      if (fc <= f - 1e-4 * step * gn) {
        theta = Float64Array.from(cand);
        f = objective(theta, grad);
        step *= 2;
        accepted = true;
        break;
      }
      step /= 2;
    }
    if (!accepted) break;
  }
  const bias = new Float64Array(K);
  for (let y = 1; y < K; y++) bias[y] = theta[1 + y]!;
  return { scale: theta[0]!, bias, fittedOn: n };
}
