import type { LabelMatrix } from '../matrix.ts';
import { nnz } from '../matrix.ts';

/**
 * Class-conditional confusion model ("Dawid-Skene") fitted by EM on a sparse label matrix.
 *
 *   P(y) = prior[y]
 *   P(LF j says l | y) = theta[j][y][l],  l in 0..K-1, plus l = K for "abstain" when `modelAbstains`
 *
 * LFs are conditionally independent given y. With `modelAbstains = false`, abstains are missing data
 * (classic Dawid-Skene) and a record without votes gets posterior = prior. With `modelAbstains = true`,
 * "LF j did not fire" is evidence too, so an uncovered record gets prior × Π_j P(abstain_j | y).
 *
 * Manually labeled records have their posterior clamped to the one-hot manual label in every E-step.
 */
export interface EmConfig {
  numClasses: number;
  modelAbstains: boolean;
  /** Dirichlet pseudo-count strength per (LF, class) row. */
  priorStrength: number;
  /** Prior mean accuracy P(l = y | y, LF votes) used to shape the Dirichlet prior. */
  priorAccuracy: number;
  /** Dirichlet pseudo-count per class for the class balance. */
  balancePrior: number;
  /** Estimate the class balance (true) or keep it uniform (false). */
  estimateBalance: boolean;
  /**
   * "LFs are better than random": P(LF says l | y = l) >= P(LF says l | y) for every y. Violations are
   * projected in each M-step by pooling the offending classes' rates for outcome l (default false).
   */
  monotone?: boolean;
  /** Minimum likelihood ratio P(says l | l) / P(says l | y) enforced by `monotone` (default 1). */
  monotoneRatio?: number;
  /**
   * Weight w of the abstain evidence in the scores (tempered likelihood): log P(abstain_j | y) enters
   * as w · log P(abstain_j | y). 1 = full naive-Bayes evidence, 0 = abstains are missing data at
   * scoring time (their rates are still estimated). Default 1.
   */
  abstainWeight?: number;
  /** Weight of each manually labeled (clamped) record in the M-step counts (default 1). */
  labeledWeight?: number;
  /** EM iterations run with abstain weight 0 before switching to `abstainWeight` (default 0). */
  abstainWarmup?: number;
  /**
   * How "did not fire" is modelled when `modelAbstains` (default 'lf'):
   *  - 'lf': per LF, P(abstain_j | y) (naive Bayes over every LF);
   *  - 'class': per voted class c, one event "some LF voted c" with P(some vote c | y), and per vote
   *    P(LF j says l | some vote l, y). LFs that vote the same class are strongly correlated (they fire
   *    on the same records); counting each one's abstain separately over-counts "no spam rule fired"
   *    as evidence. With 'class', `abstainWeight` w scales the "no vote for c" terms.
   */
  coverage?: 'lf' | 'class';
  /**
   * Records without any vote get the class balance only (no abstain evidence). Without manual labels,
   * how often a class goes uncaught by every LF is not identifiable from the votes: EM only sees its own
   * assignments and tends to drive it to ~0, which makes uncovered records confidently the other class.
   */
  uncoveredPrior?: boolean;
  /**
   * Per-LF model, one-class LFs: S_v pseudo-votes per LF distributed over the true classes like the
   * pooled votes of all LFs voting the same class (hierarchical shrinkage: an LF with few votes looks
   * like its class's LFs, one with many votes keeps its own rates). 0 = off (default).
   */
  poolStrength?: number;
  /**
   * coverage 'class': also count, on a record where some LF voted c, the LFs of class c that did NOT
   * fire (each fires independently given y with rate r_jcy, the set conditioned on being non-empty — a
   * zero-truncated product of Bernoullis). This makes the model a proper likelihood (EM then raises it
   * every iteration) and nests the per-LF model: with P(some vote c | y) = 1 − Π_j (1 − r_jcy) it is
   * naive Bayes over every LF. Without it, only the LFs that fired are scored (not a distribution over
   * the set of voters).
   */
  withinGroupAbstains?: boolean;
  /**
   * Per-LF model with abstains: Dirichlet prior of each (LF j, class y) row centred on these outcome
   * rates (theta layout, (j·K + y)·(K+1) + l, l = K abstain; e.g. a label-free fit's estimate) with
   * strength `priorRatesStrength`, instead of the generic prior (mean accuracy `priorAccuracy`).
   */
  priorRates?: Float64Array;
  priorRatesStrength?: number;
  maxIter: number;
  tol: number;
}

export interface EmParams {
  numClasses: number;
  numLfs: number;
  modelAbstains: boolean;
  /** log P(y), length K. */
  logPrior: Float64Array;
  /** delta[(j*K + l)*K + y] = log theta[j][y][l] - log theta[j][y][abstain] (or log theta[j][y][l] without abstain modeling). */
  delta: Float64Array;
  /** base[y] = Σ_j log theta[j][y][abstain] (0 without abstain modeling). */
  base: Float64Array;
  /** theta[(j*K + y)*(K+1) + l], l = K is abstain (0 without abstain modeling). coverage 'class': P(j says l | some vote l, y), abstain slot 0. */
  theta: Float64Array;
  /**
   * coverage 'class': groupDelta[c*K + y] = log P(some vote c | y) − w · log P(no vote c | y), added once
   * per record for each distinct class voted; base[y] then holds w · Σ_c log P(no vote c | y).
   * Empty (length 0) for coverage 'lf'.
   */
  groupDelta: Float64Array;
  /** coverage 'class': P(some vote c | y) at [c*K + y]; empty otherwise. */
  groupRate: Float64Array;
  /** Records without votes are scored logPrior only (EmConfig.uncoveredPrior). */
  uncoveredPrior: boolean;
  iterations: number;
  logLikelihood: number;
}

/** Unnormalized log posterior of record i into out[0..K). */
export function recordScores(p: EmParams, m: LabelMatrix, i: number, out: Float64Array): void {
  const K = p.numClasses;
  const bare = p.uncoveredPrior && m.indptr[i] === m.indptr[i + 1];
  for (let y = 0; y < K; y++) out[y] = p.logPrior[y]! + (bare ? 0 : p.base[y]!);
  for (let k = m.indptr[i]!; k < m.indptr[i + 1]!; k++) {
    const off = (m.lfs[k]! * K + m.labels[k]!) * K;
    for (let y = 0; y < K; y++) out[y] = out[y]! + p.delta[off + y]!;
  }
  if (p.groupDelta.length > 0) addGroupTerms(p.groupDelta, m, i, K, out, 0, new Int32Array(K));
}

/**
 * Adds groupDelta[c] once for every distinct class c voted on record i (coverage 'class').
 * `stamp` (length K, never holding i + 1 for another record) marks the classes already added.
 */
function addGroupTerms(gd: Float64Array, m: LabelMatrix, i: number, K: number, out: Float64Array, o: number, stamp: Int32Array): void {
  const e = m.indptr[i + 1]!;
  const tag = i + 1;
  for (let k = m.indptr[i]!; k < e; k++) {
    const l = m.labels[k]!;
    if (stamp[l] === tag) continue;
    stamp[l] = tag;
    const off = l * K;
    for (let y = 0; y < K; y++) out[o + y] = out[o + y]! + gd[off + y]!;
  }
}

/** Adds `w` × q[y] (or w to class y0 when q is null) to acc[c*K + y] once per distinct class c voted on record i. */
function countGroups(acc: Float64Array, m: LabelMatrix, i: number, K: number, q: Float64Array | null, y0: number, w: number, stamp: Int32Array): void {
  const e = m.indptr[i + 1]!;
  const tag = -(i + 1);
  for (let k = m.indptr[i]!; k < e; k++) {
    const l = m.labels[k]!;
    if (stamp[l] === tag) continue;
    stamp[l] = tag;
    if (q) for (let y = 0; y < K; y++) acc[l * K + y] = acc[l * K + y]! + w * q[y]!;
    else acc[l * K + y0] = acc[l * K + y0]! + w;
  }
}

/** All records' unnormalized log posteriors, row-major n × K. */
export function allScores(p: EmParams, m: LabelMatrix, out?: Float64Array): Float64Array {
  const K = p.numClasses;
  const n = m.numRecords;
  const s = out ?? new Float64Array(n * K);
  const { logPrior, base, delta, groupDelta } = p;
  const groups = groupDelta.length > 0;
  const table = groups && K <= MASK_MAX_K ? groupTable(groupDelta, K) : null;
  const stamp = new Int32Array(K);
  const { indptr, lfs, labels } = m;
  for (let i = 0; i < n; i++) {
    const o = i * K;
    const e = indptr[i + 1]!;
    const bare = p.uncoveredPrior && indptr[i] === e;
    for (let y = 0; y < K; y++) s[o + y] = logPrior[y]! + (bare ? 0 : base[y]!);
    let mask = 0;
    for (let k = indptr[i]!; k < e; k++) {
      const off = (lfs[k]! * K + labels[k]!) * K;
      for (let y = 0; y < K; y++) s[o + y] = s[o + y]! + delta[off + y]!;
      mask |= 1 << labels[k]!;
    }
    if (table) {
      const t = mask * K;
      for (let y = 0; y < K; y++) s[o + y] = s[o + y]! + table[t + y]!;
    } else if (groups) addGroupTerms(groupDelta, m, i, K, s, o, stamp);
  }
  return s;
}

/**
 * coverage 'class' with K ≤ MASK_MAX_K: the group terms of a record depend only on the set of classes
 * voted on it, so they are summed once per set (bit mask) and added with one lookup per record, instead
 * of once per distinct voted class with a seen-check per vote (about a third of an E-step's time).
 */
const MASK_MAX_K = 10;

/** table[mask*K + y] = Σ_{c in mask} groupDelta[c*K + y]. */
export function groupTable(groupDelta: Float64Array, K: number): Float64Array {
  const t = new Float64Array((1 << K) * K);
  for (let mask = 1; mask < 1 << K; mask++) {
    const low = mask & -mask;
    const c = 31 - Math.clz32(low);
    const rest = (mask ^ low) * K;
    for (let y = 0; y < K; y++) t[mask * K + y] = t[rest + y]! + groupDelta[c * K + y]!;
  }
  return t;
}

/** Adds per-mask sums acc[mask*K + y] to groups[c*K + y] for every class c in the mask. */
function spreadMaskCounts(acc: Float64Array, K: number, groups: Float64Array): void {
  for (let mask = 1; mask < 1 << K; mask++) {
    const o = mask * K;
    for (let c = 0; c < K; c++) {
      if ((mask & (1 << c)) === 0) continue;
      for (let y = 0; y < K; y++) groups[c * K + y] = groups[c * K + y]! + acc[o + y]!;
    }
  }
}

interface Counts {
  /** cnt[(j*K + l)*K + y] */
  votes: Float64Array;
  /** Q[y] = Σ_i q_iy */
  total: Float64Array;
  /** coverage 'class': G[c*K + y] = Σ_{i with a vote for c} q_iy */
  groups: Float64Array;
}

/** Share of records with at least one vote for class c, per c. */
function groupMarginals(m: LabelMatrix, K: number): Float64Array {
  const g = new Float64Array(K * K);
  const stamp = new Int32Array(K);
  for (let i = 0; i < m.numRecords; i++) countGroups(g, m, i, K, null, 0, 1, stamp);
  const r = new Float64Array(K);
  const n = Math.max(m.numRecords, 1);
  for (let c = 0; c < K; c++) r[c] = g[c * K]! / n;
  return r;
}

/** Per (LF, label): share of the records with some vote for that label on which the LF cast it. */
function voteShareInGroup(m: LabelMatrix, K: number, groupRate: Float64Array): Float64Array {
  const v = new Float64Array(m.numLfs * K);
  const total = nnz(m);
  for (let k = 0; k < total; k++) v[m.lfs[k]! * K + m.labels[k]!]!++;
  const n = Math.max(m.numRecords, 1);
  for (let j = 0; j < m.numLfs; j++) for (let l = 0; l < K; l++) v[j * K + l] = v[j * K + l]! / Math.max(groupRate[l]! * n, 1);
  return v;
}

/**
 * M-step of coverage 'class'. Dirichlet (Beta) priors of strength S: P(some vote c | y) has mean the
 * empirical share of records with a vote for c; P(j says l | some vote l, y) the LF's empirical share
 * within that group (no accuracy prior: the class a vote is evidence for comes from the group event).
 */
function mStepClass(c: Counts, m: LabelMatrix, cfg: EmConfig, marg: { group: Float64Array; share: Float64Array }, p: EmParams): void {
  const K = cfg.numClasses;
  const M = m.numLfs;
  const K1 = K + 1;
  const S = cfg.priorStrength;
  const w = cfg.abstainWeight ?? 1;
  p.base.fill(0);
  for (let g = 0; g < K; g++) {
    const mean = Math.min(Math.max(marg.group[g]!, 1e-3), 1 - 1e-3);
    for (let y = 0; y < K; y++) {
      const a = (c.groups[g * K + y]! + S * mean) / (c.total[y]! + S);
      p.groupRate[g * K + y] = a;
      const logNo = Math.log(Math.max(1 - a, 1e-300));
      p.groupDelta[g * K + y] = Math.log(a) - w * logNo;
      p.base[y] = p.base[y]! + w * logNo;
    }
  }
  if (cfg.withinGroupAbstains) return mStepWithinGroups(c, m, cfg, marg, p);
  for (let j = 0; j < M; j++) {
    for (let l = 0; l < K; l++) {
      const mean = Math.min(Math.max(marg.share[j * K + l]!, 1e-3), 1 - 1e-3);
      for (let y = 0; y < K; y++) {
        const r = Math.min((c.votes[(j * K + l) * K + y]! + S * mean) / (c.groups[l * K + y]! + S), 1);
        p.theta[(j * K + y) * K1 + l] = r;
        p.delta[(j * K + l) * K + y] = Math.log(r);
      }
    }
  }
}

/** Fixed-point rounds of the zero-truncated Bernoulli rates per (class, true class). */
const TRUNCATED_ROUNDS = 50;

/**
 * Within-group rates of coverage 'class' with `withinGroupAbstains`: on the N records (weighted by q_y)
 * where some LF voted c, LF j of class c fired n_j times; the voter set is a product of Bernoulli(r_j)
 * conditioned on being non-empty. Its MAP rates solve r_j = (n_j + S·m_j) / (N + N₀ + S) with
 * N₀ = N · P₀ / (1 − P₀), P₀ = Π_j (1 − r_j): the records on which the group "would have fired" with no
 * LF firing, which the truncation hides (the usual EM for a truncated sample). Scores: a vote adds
 * log r_j − log(1 − r_j); the group event adds Σ_j log(1 − r_j) − log(1 − P₀) on top of its rate.
 */
function mStepWithinGroups(c: Counts, m: LabelMatrix, cfg: EmConfig, marg: { group: Float64Array; share: Float64Array }, p: EmParams): void {
  const K = cfg.numClasses;
  const M = m.numLfs;
  const K1 = K + 1;
  const S = cfg.priorStrength;
  const cap = 1 - 1e-9;
  const members: number[][] = Array.from({ length: K }, () => []);
  for (let j = 0; j < M; j++) for (let l = 0; l < K; l++) if (marg.share[j * K + l]! > 0) members[l]!.push(j);
  const r = new Float64Array(M);
  for (let g = 0; g < K; g++) {
    const js = members[g]!;
    for (let y = 0; y < K; y++) {
      const N = c.groups[g * K + y]!;
      const prior = (j: number) => S * Math.min(Math.max(marg.share[j * K + g]!, 1e-3), 1 - 1e-3);
      for (const j of js) r[j] = Math.min((c.votes[(j * K + g) * K + y]! + prior(j)) / (N + S), cap);
      let p0 = 1;
      for (let round = 0; round < TRUNCATED_ROUNDS; round++) {
        p0 = 1;
        for (const j of js) p0 *= 1 - r[j]!;
        const n0 = p0 >= cap ? 0 : (N * p0) / (1 - p0);
        let change = 0;
        for (const j of js) {
          const next = Math.min((c.votes[(j * K + g) * K + y]! + prior(j)) / (N + n0 + S), cap);
          change = Math.max(change, Math.abs(next - r[j]!));
          r[j] = next;
        }
        if (change < 1e-10) break;
      }
      p0 = 1;
      let sumLogNot = 0;
      for (const j of js) {
        p0 *= 1 - r[j]!;
        sumLogNot += Math.log(1 - r[j]!);
      }
      const z = Math.max(1 - p0, 1e-300);
      for (const j of js) {
        // P(j fired | some vote g, y) = r_j / (1 − P₀)
        p.theta[(j * K + y) * K1 + g] = Math.min(r[j]! / z, 1);
        p.delta[(j * K + g) * K + y] = Math.log(r[j]!) - Math.log(1 - r[j]!);
      }
      p.groupDelta[g * K + y] = p.groupDelta[g * K + y]! + sumLogNot - Math.log(z);
    }
  }
}

/**
 * Per-LF outcome rates P(LF j says l | y) and P(j abstains | y) implied by a fit (theta layout of the
 * per-LF model). 'class' coverage: P(j says l | y) = P(some vote l | y) · P(j says l | some vote l, y).
 */
export function perLfRates(p: EmParams): Float64Array {
  const K = p.numClasses;
  const K1 = K + 1;
  const out = new Float64Array(p.numLfs * K * K1);
  const grouped = p.groupRate.length === K * K;
  for (let j = 0; j < p.numLfs; j++) {
    for (let y = 0; y < K; y++) {
      const row = (j * K + y) * K1;
      let votes = 0;
      for (let l = 0; l < K; l++) {
        const r = Math.min(1, Math.max(1e-6, grouped ? p.groupRate[l * K + y]! * p.theta[row + l]! : p.theta[row + l]!));
        out[row + l] = r;
        votes += r;
      }
      if (votes > 1 - 1e-6) for (let l = 0; l < K; l++) out[row + l] = (out[row + l]! * (1 - 1e-6)) / votes;
      out[row + K] = Math.max(1e-6, 1 - Math.min(votes, 1 - 1e-6));
    }
  }
  return out;
}

/** Per-LF abstain rate over the matrix records. */
function abstainRates(m: LabelMatrix): Float64Array {
  const r = new Float64Array(m.numLfs);
  const total = nnz(m);
  for (let k = 0; k < total; k++) r[m.lfs[k]!]!++;
  const n = Math.max(m.numRecords, 1);
  for (let j = 0; j < m.numLfs; j++) r[j] = 1 - r[j]! / n;
  return r;
}

function mStep(c: Counts, m: LabelMatrix, cfg: EmConfig, absRate: Float64Array, nRecords: number, p: EmParams, marg?: { group: Float64Array; share: Float64Array }): void {
  const K = cfg.numClasses;
  const M = m.numLfs;
  const K1 = K + 1;
  // class balance
  let totalQ = 0;
  for (let y = 0; y < K; y++) totalQ += c.total[y]!;
  for (let y = 0; y < K; y++) {
    const pr = cfg.estimateBalance ? (c.total[y]! + cfg.balancePrior) / (totalQ + K * cfg.balancePrior) : 1 / K;
    p.logPrior[y] = Math.log(pr);
  }
  void nRecords;
  if (cfg.modelAbstains && cfg.coverage === 'class' && marg) return mStepClass(c, m, cfg, marg, p);
  p.base.fill(0);
  const S = cfg.priorStrength;
  const acc = K === 1 ? 1 : cfg.priorAccuracy;
  const offAcc = K === 1 ? 0 : (1 - cfg.priorAccuracy) / (K - 1);
  const den = new Float64Array(K);
  const wAbs = cfg.abstainWeight ?? 1;
  const Sh = cfg.modelAbstains ? (cfg.poolStrength ?? 0) : 0;
  // pooled composition per voted class c: share of the class-c votes of one-class LFs cast on class-y records
  const pol = new Int32Array(M).fill(-1);
  const pooled = new Float64Array(K * K);
  if (Sh > 0) {
    const voteSum = new Float64Array(K);
    for (let j = 0; j < M; j++) {
      let cls = -1;
      for (let l = 0; l < K; l++) {
        let v = 0;
        for (let y = 0; y < K; y++) v += c.votes[(j * K + l) * K + y]!;
        if (v > 0) cls = cls === -1 ? l : -2;
      }
      if (cls < 0) continue;
      pol[j] = cls;
      for (let y = 0; y < K; y++) {
        pooled[cls * K + y] = pooled[cls * K + y]! + c.votes[(j * K + cls) * K + y]!;
        voteSum[cls] = voteSum[cls]! + c.votes[(j * K + cls) * K + y]!;
      }
    }
    for (let cl = 0; cl < K; cl++) for (let y = 0; y < K; y++) pooled[cl * K + y] = voteSum[cl]! > 0 ? pooled[cl * K + y]! / voteSum[cl]! : 0;
  }
  for (let j = 0; j < M; j++) {
    const a = cfg.modelAbstains ? Math.min(Math.max(absRate[j]!, 1e-3), 1 - 1e-3) : 0;
    const cj = pol[j]!;
    for (let y = 0; y < K; y++) {
      const row = (j * K + y) * K1;
      let votesY = 0;
      for (let l = 0; l < K; l++) votesY += c.votes[(j * K + l) * K + y]!;
      // Dirichlet posterior mean (MAP with pseudo-counts >= 1 would be mean-like anyway)
      let denom: number;
      let mu = 0;
      const pr = cfg.modelAbstains ? cfg.priorRates : undefined;
      if (pr) {
        // prior centred on the given rates (they sum to 1 over the K + 1 outcomes)
        const Sp = cfg.priorRatesStrength ?? S;
        const absCount = Math.max(c.total[y]! - votesY, 0);
        denom = c.total[y]! + Sp;
        p.theta[row + K] = (absCount + Sp * pr[row + K]!) / denom;
        den[y] = denom;
        for (let l = 0; l < K; l++) p.theta[row + l] = (c.votes[(j * K + l) * K + y]! + Sp * pr[row + l]!) / denom;
        continue;
      }
      if (cfg.modelAbstains) {
        const absCount = Math.max(c.total[y]! - votesY, 0);
        if (cj >= 0 && Sh > 0) mu = Sh * pooled[cj * K + y]!;
        denom = c.total[y]! + S + mu;
        p.theta[row + K] = (absCount + S * a) / denom;
      } else {
        denom = votesY + S;
        p.theta[row + K] = 0;
      }
      den[y] = denom;
      const voteMass = S * (1 - a);
      for (let l = 0; l < K; l++) {
        const prior = voteMass * (l === y ? acc : offAcc) + (l === cj ? mu : 0);
        p.theta[row + l] = (c.votes[(j * K + l) * K + y]! + prior) / denom;
      }
    }
    if (cfg.monotone && K > 1) monotoneProject(p.theta, j, K, den, cfg.modelAbstains, cfg.monotoneRatio ?? 1);
    for (let y = 0; y < K; y++) {
      const row = (j * K + y) * K1;
      const logAbs = cfg.modelAbstains ? wAbs * Math.log(p.theta[row + K]!) : 0;
      p.base[y] = p.base[y]! + logAbs;
      for (let l = 0; l < K; l++) p.delta[(j * K + l) * K + y] = Math.log(p.theta[row + l]!) - logAbs;
    }
  }
}

/**
 * Projection onto "a vote for l is evidence for l": for each outcome l, the classes y whose rate
 * theta[y][l] exceeds theta[l][l] are pooled with l (weighted mean, weights = the rows' denominators,
 * i.e. the constrained MLE of an ordered pair). Rows are then renormalised (the abstain share absorbs
 * the change when abstains are modelled).
 */
function monotoneProject(theta: Float64Array, j: number, K: number, den: Float64Array, modelAbstains: boolean, ratio: number): void {
  const K1 = K + 1;
  let changed = false;
  for (let l = 0; l < K; l++) {
    const il = (j * K + l) * K1 + l;
    for (let y = 0; y < K; y++) {
      if (y === l) continue;
      const iy = (j * K + y) * K1 + l;
      if (theta[il]! >= ratio * theta[iy]!) continue;
      // constrained MLE of two binomial rates with p_l = ratio · p_y (bisection on the score of p_y)
      const N1 = den[l]!;
      const N2 = den[y]!;
      const n1 = theta[il]! * N1;
      const n2 = theta[iy]! * N2;
      let lo = 0;
      let hi = Math.min(1, 1 / ratio);
      for (let it = 0; it < 60; it++) {
        const q = (lo + hi) / 2;
        const g = (n1 + n2) / q - (ratio * Math.max(N1 - n1, 0)) / Math.max(1 - ratio * q, 1e-300) - Math.max(N2 - n2, 0) / Math.max(1 - q, 1e-300);
        if (g > 0) lo = q;
        else hi = q;
      }
      const q = Math.max((lo + hi) / 2, 1e-12);
      theta[iy] = q;
      theta[il] = ratio * q;
      changed = true;
    }
  }
  if (!changed) return;
  for (let y = 0; y < K; y++) {
    const row = (j * K + y) * K1;
    let sv = 0;
    for (let l = 0; l < K; l++) sv += theta[row + l]!;
    if (modelAbstains) {
      if (sv < 1 - 1e-9) {
        theta[row + K] = 1 - sv;
        continue;
      }
      // votes alone exceed 1: keep a small abstain share and renormalise
      theta[row + K] = 1e-6;
      sv += 1e-6;
    } else sv = sv || 1;
    for (let l = 0; l < (modelAbstains ? K1 : K); l++) theta[row + l] = theta[row + l]! / sv;
  }
}

/**
 * One fused E-step + count pass. Returns the observed-data log-likelihood (unlabeled records) plus the
 * complete-data log-likelihood of clamped records.
 */
function ePass(p: EmParams, m: LabelMatrix, manual: Int32Array | undefined, c: Counts, scratch: Float64Array, lw: number): number {
  const K = p.numClasses;
  const n = m.numRecords;
  const { indptr, lfs, labels } = m;
  const { logPrior, base, delta, groupDelta } = p;
  const groups = groupDelta.length > 0;
  // group terms by voted-class set (see MASK_MAX_K); larger K: per distinct class, with stamp[l] = i + 1
  // once scored and −(i + 1) once counted
  const table = groups && K <= MASK_MAX_K ? groupTable(groupDelta, K) : null;
  const maskCounts = table ? new Float64Array(table.length) : null;
  const stamp = new Int32Array(K);
  c.votes.fill(0);
  c.total.fill(0);
  c.groups.fill(0);
  let ll = 0;
  // uncovered unlabeled records share one posterior
  let uncovered = 0;
  for (let i = 0; i < n; i++) {
    const s = indptr[i]!;
    const e = indptr[i + 1]!;
    const y0 = manual ? manual[i]! : -1;
    if (s === e && y0 < 0) {
      uncovered++;
      continue;
    }
    for (let y = 0; y < K; y++) scratch[y] = logPrior[y]! + base[y]!;
    const tag = i + 1;
    let mask = 0;
    for (let k = s; k < e; k++) {
      const l = labels[k]!;
      const off = (lfs[k]! * K + l) * K;
      for (let y = 0; y < K; y++) scratch[y] = scratch[y]! + delta[off + y]!;
      if (table) mask |= 1 << l;
      else if (groups && stamp[l] !== tag) {
        stamp[l] = tag;
        for (let y = 0; y < K; y++) scratch[y] = scratch[y]! + groupDelta[l * K + y]!;
      }
    }
    if (table) {
      const t = mask * K;
      for (let y = 0; y < K; y++) scratch[y] = scratch[y]! + table[t + y]!;
    }
    if (y0 >= 0) {
      ll += lw * scratch[y0]!;
      c.total[y0] = c.total[y0]! + lw;
      for (let k = s; k < e; k++) {
        const l = labels[k]!;
        const off = (lfs[k]! * K + l) * K;
        c.votes[off + y0] = c.votes[off + y0]! + lw;
        if (!table && groups && stamp[l] !== -tag) {
          stamp[l] = -tag;
          c.groups[l * K + y0] = c.groups[l * K + y0]! + lw;
        }
      }
      if (maskCounts) maskCounts[mask * K + y0] = maskCounts[mask * K + y0]! + lw;
      continue;
    }
    let mx = -Infinity;
    for (let y = 0; y < K; y++) if (scratch[y]! > mx) mx = scratch[y]!;
    let z = 0;
    for (let y = 0; y < K; y++) {
      const v = Math.exp(scratch[y]! - mx);
      scratch[y] = v;
      z += v;
    }
    ll += mx + Math.log(z);
    const inv = 1 / z;
    for (let y = 0; y < K; y++) {
      const q = scratch[y]! * inv;
      scratch[y] = q;
      c.total[y] = c.total[y]! + q;
    }
    for (let k = s; k < e; k++) {
      const l = labels[k]!;
      const off = (lfs[k]! * K + l) * K;
      for (let y = 0; y < K; y++) c.votes[off + y] = c.votes[off + y]! + scratch[y]!;
      if (!table && groups && stamp[l] !== -tag) {
        stamp[l] = -tag;
        for (let y = 0; y < K; y++) c.groups[l * K + y] = c.groups[l * K + y]! + scratch[y]!;
      }
    }
    if (maskCounts) {
      const t = mask * K;
      for (let y = 0; y < K; y++) maskCounts[t + y] = maskCounts[t + y]! + scratch[y]!;
    }
  }
  if (maskCounts) spreadMaskCounts(maskCounts, K, c.groups);
  if (uncovered > 0) {
    let mx = -Infinity;
    for (let y = 0; y < K; y++) {
      scratch[y] = logPrior[y]! + (p.uncoveredPrior ? 0 : base[y]!);
      if (scratch[y]! > mx) mx = scratch[y]!;
    }
    let z = 0;
    for (let y = 0; y < K; y++) {
      scratch[y] = Math.exp(scratch[y]! - mx);
      z += scratch[y]!;
    }
    ll += uncovered * (mx + Math.log(z));
    for (let y = 0; y < K; y++) c.total[y] = c.total[y]! + (uncovered * scratch[y]!) / z;
  }
  return ll;
}

export function emptyParams(K: number, M: number, modelAbstains: boolean): EmParams {
  return {
    numClasses: K,
    numLfs: M,
    modelAbstains,
    logPrior: new Float64Array(K).fill(-Math.log(K)),
    delta: new Float64Array(M * K * K),
    base: new Float64Array(K),
    theta: new Float64Array(M * K * (K + 1)),
    groupDelta: new Float64Array(0),
    groupRate: new Float64Array(0),
    uncoveredPrior: false,
    iterations: 0,
    logLikelihood: 0,
  };
}

/**
 * Initial soft counts: manual labels one-hot; other covered records the (smoothed) vote distribution;
 * uncovered records uniform.
 */
function initCounts(m: LabelMatrix, K: number, manual: Int32Array | undefined, c: Counts, groups: boolean): void {
  const n = m.numRecords;
  const row = new Float64Array(K);
  const stamp = new Int32Array(K);
  for (let i = 0; i < n; i++) {
    const s = m.indptr[i]!;
    const e = m.indptr[i + 1]!;
    const y0 = manual ? manual[i]! : -1;
    if (y0 >= 0) row.fill(0), (row[y0] = 1);
    else if (s === e) row.fill(1 / K);
    else {
      row.fill(0);
      for (let k = s; k < e; k++) row[m.labels[k]!] = row[m.labels[k]!]! + 1;
      const tot = e - s;
      for (let y = 0; y < K; y++) row[y] = row[y]! / tot;
    }
    for (let y = 0; y < K; y++) c.total[y] = c.total[y]! + row[y]!;
    if (groups) countGroups(c.groups, m, i, K, row, 0, 1, stamp);
    for (let k = s; k < e; k++) {
      const off = (m.lfs[k]! * K + m.labels[k]!) * K;
      for (let y = 0; y < K; y++) c.votes[off + y] = c.votes[off + y]! + row[y]!;
    }
  }
}

export function fitEm(m: LabelMatrix, cfg: EmConfig, manual: Int32Array | undefined, warmStart?: EmParams): EmParams {
  const K = cfg.numClasses;
  const M = m.numLfs;
  const p = emptyParams(K, M, cfg.modelAbstains);
  const groups = cfg.modelAbstains && cfg.coverage === 'class';
  p.uncoveredPrior = cfg.uncoveredPrior ?? false;
  if (groups) {
    p.groupDelta = new Float64Array(K * K);
    p.groupRate = new Float64Array(K * K);
  }
  const c: Counts = { votes: new Float64Array(M * K * K), total: new Float64Array(K), groups: new Float64Array(groups ? K * K : 0) };
  const absRate = abstainRates(m);
  let marg: { group: Float64Array; share: Float64Array } | undefined;
  if (groups) {
    const group = groupMarginals(m, K);
    marg = { group, share: voteShareInGroup(m, K, group) };
  }
  const scratch = new Float64Array(K);
  if (warmStart) {
    p.logPrior.set(warmStart.logPrior);
    p.delta.set(warmStart.delta);
    p.base.set(warmStart.base);
    p.theta.set(warmStart.theta);
    if (groups && warmStart.groupDelta.length === K * K) p.groupDelta.set(warmStart.groupDelta), p.groupRate.set(warmStart.groupRate);
  } else {
    initCounts(m, K, manual, c, groups);
    mStep(c, m, cfg, absRate, m.numRecords, p, marg);
  }
  let prev = -Infinity;
  let it = 0;
  let ll = 0;
  const warm = warmStart ? 0 : (cfg.abstainWarmup ?? 0);
  const warmCfg: EmConfig = { ...cfg, abstainWeight: 0 };
  if (warm > 0) mStep(c, m, warmCfg, absRate, m.numRecords, p, marg);
  for (; it < cfg.maxIter + warm; it++) {
    ll = ePass(p, m, manual, c, scratch, cfg.labeledWeight ?? 1);
    mStep(c, m, it + 1 < warm ? warmCfg : cfg, absRate, m.numRecords, p, marg);
    if (it + 1 < warm) continue;
    if (it + 1 === warm) {
      prev = -Infinity;
      continue;
    }
    if (Number.isFinite(prev) && Math.abs(ll - prev) <= cfg.tol * Math.max(1, Math.abs(ll))) {
      it++;
      break;
    }
    prev = ll;
  }
  p.iterations = it;
  p.logLikelihood = ll;
  return p;
}
