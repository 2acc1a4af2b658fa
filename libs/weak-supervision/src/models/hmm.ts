import { numTags, spansToBio, isBegin, tagType, type SpanDoc, type TagScheme } from '../spans.ts';

/**
 * Hidden Markov model over token tags (BIO or IO) whose observations are the tags each LF emits on
 * the token (LF j's own tag, O where LF j has no span). LFs are conditionally independent given the
 * hidden tag; emission matrices theta[j][s][o] are class-conditional confusions. Invalid BIO
 * transitions (O→I-x, B-x/I-x→I-y for y≠x, start→I-x) have probability 0, so decoded sequences are
 * valid IOB2. Fitted by EM (Baum-Welch) with Dirichlet priors; documents with manual spans are
 * clamped to their gold tags.
 */
export interface HmmParams {
  scheme: TagScheme;
  numStates: number;
  numLfs: number;
  /** Observation alphabet size V per LF (tags 0..S-1, plus S = abstain when V = S + 1). */
  numObs: number;
  logStart: Float64Array;
  /** logTrans[s * S + s2] */
  logTrans: Float64Array;
  /** logEmit[(j * S + s) * V + o] */
  logEmit: Float64Array;
  iterations: number;
  logLikelihood: number;
}


/** allowed[s * S + s2] = transition s→s2 is valid; allowedStart[s]. */
export function transitionMask(scheme: TagScheme, numTypes: number): { allowed: Uint8Array; allowedStart: Uint8Array } {
  const S = numTags(scheme, numTypes);
  const allowed = new Uint8Array(S * S);
  const allowedStart = new Uint8Array(S);
  for (let s2 = 0; s2 < S; s2++) {
    const isInside = scheme === 'BIO' && s2 > 0 && !isBegin(scheme, s2);
    allowedStart[s2] = isInside ? 0 : 1;
    for (let s = 0; s < S; s++) {
      let ok = true;
      if (isInside) ok = s > 0 && tagType(scheme, s) === tagType(scheme, s2);
      allowed[s * S + s2] = ok ? 1 : 0;
    }
  }
  return { allowed, allowedStart };
}

/**
 * Per-document observation block obs[j * T + t]: LF j's tag on token t, with WRENCH's rule applied —
 * on a token where some LF tags an entity, an LF that says O is recorded as abstain (= S).
 */
export function docObservations(doc: SpanDoc, numLfs: number, entityTypes: readonly string[], scheme: TagScheme): Int32Array {
  const T = doc.length;
  const S = numTags(scheme, entityTypes.length);
  const obs = new Int32Array(numLfs * T);
  for (let j = 0; j < numLfs; j++) obs.set(spansToBio(doc.lfSpans[j] ?? [], T, entityTypes, scheme), j * T);
  for (let t = 0; t < T; t++) {
    let any = false;
    for (let j = 0; j < numLfs; j++) if (obs[j * T + t]! > 0) any = true;
    if (any) for (let j = 0; j < numLfs; j++) if (obs[j * T + t] === 0) obs[j * T + t] = S;
  }
  return obs;
}

/** Emission probabilities b[t*S + s] (scaled per token so max = 1) from the log emissions. */
function emissions(p: HmmParams, obs: Int32Array, T: number, b: Float64Array): number {
  const S = p.numStates;
  const V = p.numObs;
  const M = p.numLfs;
  let logScale = 0;
  for (let t = 0; t < T; t++) {
    let mx = -Infinity;
    for (let s = 0; s < S; s++) {
      let v = 0;
      for (let j = 0; j < M; j++) v += p.logEmit[(j * S + s) * V + obs[j * T + t]!]!;
      b[t * S + s] = v;
      if (v > mx) mx = v;
    }
    logScale += mx;
    for (let s = 0; s < S; s++) b[t * S + s] = Math.exp(b[t * S + s]! - mx);
  }
  return logScale;
}

export interface ForwardBackward {
  alpha: Float64Array;
  beta: Float64Array;
  /** scale c[t] */
  scale: Float64Array;
  b: Float64Array;
  trans: Float64Array;
  /** log P(obs). */
  logZ: number;
}

export function forwardBackward(p: HmmParams, obs: Int32Array, T: number): ForwardBackward {
  const S = p.numStates;
  const b = new Float64Array(T * S);
  let logZ = emissions(p, obs, T, b);
  const trans = new Float64Array(S * S);
  for (let k = 0; k < S * S; k++) trans[k] = Math.exp(p.logTrans[k]!);
  const alpha = new Float64Array(T * S);
  const beta = new Float64Array(T * S);
  const scale = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let c = 0;
    for (let s = 0; s < S; s++) {
      let v: number;
      if (t === 0) v = Math.exp(p.logStart[s]!);
      else {
        v = 0;
        for (let r = 0; r < S; r++) v += alpha[(t - 1) * S + r]! * trans[r * S + s]!;
      }
      v *= b[t * S + s]!;
      alpha[t * S + s] = v;
      c += v;
    }
    if (!(c > 0)) c = 1e-300;
    scale[t] = c;
    logZ += Math.log(c);
    for (let s = 0; s < S; s++) alpha[t * S + s] = alpha[t * S + s]! / c;
  }
  for (let s = 0; s < S; s++) if (T > 0) beta[(T - 1) * S + s] = 1;
  for (let t = T - 2; t >= 0; t--) {
    const c = scale[t + 1]!;
    for (let s = 0; s < S; s++) {
      let v = 0;
      for (let s2 = 0; s2 < S; s2++) v += trans[s * S + s2]! * b[(t + 1) * S + s2]! * beta[(t + 1) * S + s2]!;
      beta[t * S + s] = v / c;
    }
  }
  return { alpha, beta, scale, b, trans, logZ };
}

/** Token posteriors gamma[t*S+s]. */
export function posteriors(fb: ForwardBackward, T: number, S: number): Float64Array {
  const g = new Float64Array(T * S);
  for (let t = 0; t < T; t++) {
    let z = 0;
    for (let s = 0; s < S; s++) {
      const v = fb.alpha[t * S + s]! * fb.beta[t * S + s]!;
      g[t * S + s] = v;
      z += v;
    }
    if (z > 0) for (let s = 0; s < S; s++) g[t * S + s] = g[t * S + s]! / z;
  }
  return g;
}

export function viterbi(p: HmmParams, obs: Int32Array, T: number): Int32Array {
  const S = p.numStates;
  const V = p.numObs;
  const M = p.numLfs;
  const out = new Int32Array(T);
  if (T === 0) return out;
  const delta = new Float64Array(T * S);
  const back = new Int32Array(T * S);
  for (let t = 0; t < T; t++) {
    for (let s = 0; s < S; s++) {
      let e = 0;
      for (let j = 0; j < M; j++) e += p.logEmit[(j * S + s) * V + obs[j * T + t]!]!;
      if (t === 0) {
        delta[s] = p.logStart[s]! + e;
        continue;
      }
      let best = -Infinity;
      let arg = 0;
      for (let r = 0; r < S; r++) {
        const v = delta[(t - 1) * S + r]! + p.logTrans[r * S + s]!;
        if (v > best) {
          best = v;
          arg = r;
        }
      }
      delta[t * S + s] = best + e;
      back[t * S + s] = arg;
    }
  }
  let best = -Infinity;
  let arg = 0;
  for (let s = 0; s < S; s++) {
    if (delta[(T - 1) * S + s]! > best) {
      best = delta[(T - 1) * S + s]!;
      arg = s;
    }
  }
  out[T - 1] = arg;
  for (let t = T - 1; t > 0; t--) out[t - 1] = back[t * S + out[t]!]!;
  return out;
}

/**
 * Posterior probability that tokens [start, end) are exactly one entity with the decoded tags
 * (first token `tags[start]`, the rest inside tags) and that the entity does not continue at `end`.
 */
export function spanPosterior(fb: ForwardBackward, tags: Int32Array, start: number, end: number, S: number, scheme: TagScheme, T: number): number {
  const first = tags[start]!;
  const inside = scheme === 'BIO' ? first + (isBegin(scheme, first) ? 1 : 0) : first;
  let prob: number;
  if (scheme === 'IO' && start > 0) {
    // left boundary: previous token is not the same I tag
    let v = 0;
    for (let r = 0; r < S; r++) if (r !== first) v += fb.alpha[(start - 1) * S + r]! * fb.trans[r * S + first]!;
    prob = (v * fb.b[start * S + first]!) / fb.scale[start]!;
  } else {
    prob = fb.alpha[start * S + first]!;
  }
  let prev = first;
  for (let t = start + 1; t < end; t++) {
    prob *= (fb.trans[prev * S + inside]! * fb.b[t * S + inside]!) / fb.scale[t]!;
    prev = inside;
  }
  if (end < T) {
    let v = 0;
    for (let k = 0; k < S; k++) if (k !== inside) v += fb.trans[prev * S + k]! * fb.b[end * S + k]! * fb.beta[end * S + k]!;
    prob *= v / fb.scale[end]!;
  } else {
    prob *= fb.beta[(end - 1) * S + prev]!;
  }
  return Math.min(1, Math.max(0, prob));
}

export interface HmmFitInput {
  /** Per document: obs[j * T + t] in 0..V-1. */
  obs: Int32Array[];
  lengths: Int32Array;
  /** Gold tags for clamped documents (undefined = unlabeled). */
  gold: Array<Int32Array | undefined>;
}

/**
 * Baum-Welch refinement of `init` (maxIter rounds, MAP with Dirichlet pseudo-counts `emitPrior`
 * (M × S × V) and `transitionPrior` per allowed transition). Gold documents contribute hard counts.
 */
export function baumWelch(input: HmmFitInput, init: HmmParams, emitPrior: Float64Array, transitionPrior: number, maxIter: number, tol: number, numTypes: number): HmmParams {
  const S = init.numStates;
  const V = init.numObs;
  const M = init.numLfs;
  const { allowed, allowedStart } = transitionMask(init.scheme, numTypes);
  const p: HmmParams = { ...init, logStart: Float64Array.from(init.logStart), logTrans: Float64Array.from(init.logTrans), logEmit: Float64Array.from(init.logEmit) };
  const startC = new Float64Array(S);
  const transC = new Float64Array(S * S);
  const emitC = new Float64Array(M * S * V);
  let prevLl = -Infinity;
  let it = 0;
  let ll = 0;
  for (; it < maxIter; it++) {
    startC.fill(0);
    transC.fill(0);
    emitC.fill(0);
    ll = 0;
    for (let d = 0; d < input.obs.length; d++) {
      const T = input.lengths[d]!;
      if (T === 0) continue;
      const obs = input.obs[d]!;
      const gold = input.gold[d];
      if (gold) {
        addGoldCounts(gold, obs, T, S, V, M, startC, transC, emitC);
        continue;
      }
      const fb = forwardBackward(p, obs, T);
      ll += fb.logZ;
      const g = posteriors(fb, T, S);
      for (let s = 0; s < S; s++) startC[s] = startC[s]! + g[s]!;
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < M; j++) {
          const o = obs[j * T + t]!;
          for (let s = 0; s < S; s++) emitC[(j * S + s) * V + o] = emitC[(j * S + s) * V + o]! + g[t * S + s]!;
        }
        if (t + 1 < T) {
          let z = 0;
          for (let r = 0; r < S; r++) for (let s = 0; s < S; s++) z += fb.alpha[t * S + r]! * fb.trans[r * S + s]! * fb.b[(t + 1) * S + s]! * fb.beta[(t + 1) * S + s]!;
          if (z > 0) {
            for (let r = 0; r < S; r++) {
              for (let s = 0; s < S; s++) {
                transC[r * S + s] = transC[r * S + s]! + (fb.alpha[t * S + r]! * fb.trans[r * S + s]! * fb.b[(t + 1) * S + s]! * fb.beta[(t + 1) * S + s]!) / z;
              }
            }
          }
        }
      }
    }
    setTransitions(p, startC, transC, allowed, allowedStart, transitionPrior);
    for (let j = 0; j < M; j++) {
      for (let s = 0; s < S; s++) {
        const row = (j * S + s) * V;
        let z = 0;
        for (let o = 0; o < V; o++) z += emitC[row + o]! + emitPrior[row + o]!;
        for (let o = 0; o < V; o++) p.logEmit[row + o] = Math.log((emitC[row + o]! + emitPrior[row + o]!) / z);
      }
    }
    if (Number.isFinite(prevLl) && Math.abs(ll - prevLl) <= tol * Math.max(1, Math.abs(ll))) {
      it++;
      break;
    }
    prevLl = ll;
  }
  p.iterations = it;
  p.logLikelihood = ll;
  return p;
}

export function addGoldCounts(gold: Int32Array, obs: Int32Array, T: number, S: number, V: number, M: number, startC: Float64Array, transC: Float64Array, emitC: Float64Array | null): void {
  if (T === 0) return;
  startC[gold[0]!] = startC[gold[0]!]! + 1;
  for (let t = 0; t < T; t++) {
    const s = gold[t]!;
    if (t > 0) transC[gold[t - 1]! * S + s] = transC[gold[t - 1]! * S + s]! + 1;
    if (emitC) {
      for (let j = 0; j < M; j++) {
        const k = (j * S + s) * V + obs[j * T + t]!;
        emitC[k] = emitC[k]! + 1;
      }
    }
  }
}

/** MAP transitions / start from soft counts with pseudo-count `prior` on every allowed entry. */
export function setTransitions(p: HmmParams, startC: Float64Array, transC: Float64Array, allowed: Uint8Array, allowedStart: Uint8Array, prior: number): void {
  const S = p.numStates;
  let z = 0;
  for (let s = 0; s < S; s++) z += allowedStart[s] ? startC[s]! + prior : 0;
  for (let s = 0; s < S; s++) p.logStart[s] = allowedStart[s] && z > 0 ? Math.log((startC[s]! + prior) / z) : -Infinity;
  for (let s = 0; s < S; s++) {
    let zr = 0;
    for (let s2 = 0; s2 < S; s2++) if (allowed[s * S + s2]) zr += transC[s * S + s2]! + prior;
    for (let s2 = 0; s2 < S; s2++) {
      p.logTrans[s * S + s2] = allowed[s * S + s2] && zr > 0 ? Math.log((transC[s * S + s2]! + prior) / zr) : -Infinity;
    }
  }
}
