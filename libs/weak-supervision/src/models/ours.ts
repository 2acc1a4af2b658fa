import type { LabelMatrix } from '../matrix.ts';
import type { FitOptions, FittedLabelModel, Prediction } from '../types.ts';
import { checkLabels, checkNumClasses, finishPrediction, normalizeManual } from '../util.ts';
import { applyCalibration, identityCalibration, type Calibration } from '../calibration.ts';
import { allScores, fitEm, perLfRates, recordScores, type EmConfig, type EmParams } from './em.ts';
import { applyResidual, fitResidual, type ResidualModel } from './residual.ts';
import { applyPatterns, fitPatterns, type PatternModel } from './patterns.ts';
import { selectRows } from '../matrix.ts';

export interface OursParams {
  em: EmParams;
  calibration: Calibration;
  /** Semi-supervised correction (undefined without manual labels or with calibrate = false). */
  residual?: ResidualModel;
  /** Semi-supervised per-vote-pattern shrinkage (undefined without manual labels; strength ∞ = off). */
  patterns?: PatternModel;
  /** Estimated class balance P(y). */
  classBalance: Float64Array;
  /** Number of manual labels used. */
  manualCount: number;
  /** Index into OURS_DEFAULTS.semiVariants chosen by cross-validation (-1: unsupervised configuration). */
  variant: number;
  /**
   * Semi-supervised stacking (OURS_DEFAULTS.semiStack): every candidate fit with its correction and its
   * weight; the prediction is Σ weight · p_candidate. Undefined when a single variant is used.
   */
  stack?: Array<{ em: EmParams; residual: ResidualModel; weight: number; variant: number }>;
}

/** Defaults of the product model (one configuration for all datasets). */
export const OURS_DEFAULTS = {
  modelAbstains: true,
  priorStrength: 1,
  priorAccuracy: 0.7,
  balancePrior: 1,
  monotone: false,
  monotoneRatio: 1,
  /**
   * "Did not fire" evidence per voted class ('class': one event "some LF voted c" per class c, the
   * LFs of a class being correlated) or per LF ('lf': naive Bayes over every LF). See EmConfig.coverage.
   */
  coverage: 'class' as 'lf' | 'class',
  /**
   * Unsupervised with coverage 'class': records without votes get the class balance only (see
   * EmConfig.uncoveredPrior). Valid split: YouTube 85.0 → 87.5 accuracy, ECE 0.146 → 0.042; SMS F1
   * unchanged (59.1), ECE 0.181 → 0.021.
   */
  uncoveredPrior: true,
  /** coverage 'class': score the LFs of a voted class that did not fire too (EmConfig.withinGroupAbstains). */
  withinGroupAbstains: false,
  abstainWeight: 1,
  abstainWarmup: 0,
  folds: 5,
  /**
   * Semi-supervised: above this many unlabeled records the out-of-fold refits use every labeled record
   * plus an evenly spaced sample of this many unlabeled ones (see outOfFoldScores). 1M × 50 LFs, 1000
   * labels: 32–33 → 19–20 s fit + predict, accuracy 93.77 / 93.78 %, same variant and λ.
   */
  oofUnlabeledSample: 200_000,
  /** Semi-supervised: learn a discriminative vote-pattern correction on the manual labels (see residual.ts). */
  residual: true,
  /** Include co-occurring vote pairs as features of the correction. */
  residualPairs: true,
  /**
   * Candidate ridge strengths of the correction, chosen by cross-validation (Infinity = calibration only).
   * Floor 1 (was 0.1): with 96–400 labels the weakest ridges over-fit the ~67 vote / pair features;
   * valid semi-CV YouTube 82.5 → 83.3 accuracy, ECE 0.063 → 0.047, SMS F1 59.1 unchanged
   * (bench/results/ws-2026-11-27.md, session 5).
   */
  residualLambdas: [Infinity, 30, 10, 3, 1] as number[],
  /** Choose the correction's λ by the one-standard-error rule (see ResidualOptions.oneSe; experiment). */
  residualOneSe: false,
  /**
   * Semi-supervised: instead of the single variant with the best CV log-loss, average all variants'
   * corrected probabilities with weights that minimise the log-loss of their out-of-fold probabilities
   * on the manual labels (linear stacking; experiment).
   */
  semiStack: false,
  /**
   * Semi-supervised 'class' variants (semiCoverages): start EM from the label-free 'class' fit instead of
   * the vote-count initialisation (manual labels clamped from the first E-step; experiment).
   */
  semiWarmStart: false,
  /**
   * Semi-supervised per-LF variants: also try each with its LFs' rates shrunk towards the label-free
   * fit's estimate (EmConfig.priorRates) with each of these strengths (pseudo-records per class; CV
   * log-loss decides among all variants; empty = off; experiment).
   */
  semiPriorStrengths: [] as number[],
  /**
   * Semi-supervised: Dirichlet strengths s of the per-vote-pattern shrinkage (see patterns.ts), chosen
   * by cross-validation on the manual labels; Infinity (listed first, wins ties) = off.
   */
  patternStrengths: [Infinity] as number[],
  /**
   * Semi-supervised: EM variants compared by cross-validated log-loss on the manual labels (the best
   * one is used). abstainWeight: see EmConfig; labeledShare ρ: each manual label weighs
   * max(1, ρ · unlabeled / labeled) in the M-step (EM-λ).
   */
  semiVariants: [
    { abstainWeight: 1, labeledShare: 0 },
    { abstainWeight: 0, labeledShare: 0 },
    { abstainWeight: 1, labeledShare: 0.5 },
    { abstainWeight: 0, labeledShare: 0.5 },
  ] as Array<{ abstainWeight: number; labeledShare: number; monotone?: boolean; coverage?: 'lf' | 'class'; unsupervised?: boolean; unsupPrior?: number }>,
  /**
   * Semi-supervised: also compare the unsupervised fit (manual labels not used by EM, only by the
   * correction / calibration) as a candidate. Its scores never saw a label, so they are out-of-fold as
   * they are (no refits). Adding labels should not make the model worse than without them.
   */
  semiUnsupervised: false,
  /**
   * Semi-supervised: each variant is tried with each of these abstain structures (CV decides). Only
   * 'lf': with 'class' added, valid-CV accuracy rose on YouTube (82.5 → 83.3) but calibration got worse
   * (valid-CV ECE 0.063 → 0.071); see bench/results/ws-2026-11-27.md, session 4.
   */
  semiCoverages: ['lf'] as Array<'lf' | 'class'>,
  /** Per-LF model: hierarchical shrinkage of one-class LFs towards their class's pooled rate (EmConfig.poolStrength; experiment). */
  poolStrength: 0,
  /** Semi-supervised 'class' variants: uncovered records scored by the class balance only (experiment). */
  semiUncoveredPrior: false,
  /** Experiments: also try each variant with the monotone constraint. */
  semiMonotone: false,
  /** Compare `semiVariants` (false = only the unsupervised configuration). */
  semiSelect: true,
  calibrationRidge: 1,
  /** Inverse temperature used when there are no manual labels to fit calibration on. */
  unsupervisedScale: 1,
};

export function emConfigFor(options: FitOptions): EmConfig {
  return {
    numClasses: options.numClasses,
    modelAbstains: options.modelAbstains ?? OURS_DEFAULTS.modelAbstains,
    priorStrength: OURS_DEFAULTS.priorStrength,
    priorAccuracy: OURS_DEFAULTS.priorAccuracy,
    balancePrior: OURS_DEFAULTS.balancePrior,
    estimateBalance: true,
    monotone: OURS_DEFAULTS.monotone,
    monotoneRatio: OURS_DEFAULTS.monotoneRatio,
    abstainWeight: OURS_DEFAULTS.abstainWeight,
    abstainWarmup: OURS_DEFAULTS.abstainWarmup,
    maxIter: options.maxIter ?? 100,
    tol: options.tol ?? 1e-7,
  };
}

/**
 * The default label model. Semi-supervised Dawid-Skene EM:
 *  - class-conditional LF confusion matrices with a Dirichlet prior (mean accuracy 0.7, strength 1);
 *  - "LF abstained" is modelled as an outcome (so uncovered records get prior × P(all abstain | y));
 *  - class balance estimated with a Dirichlet(1) prior;
 *  - manual labels initialise the parameters and are clamped in every E-step;
 *  - final calibration softmax(a·s + b): fitted on out-of-fold scores of the manually labeled records
 *    (K-fold cross-fitting, ridge towards identity); without manual labels the identity map.
 */
export function oursModel(matrix: LabelMatrix, options: FitOptions): FittedLabelModel<OursParams> {
  const K = options.numClasses;
  checkNumClasses(K);
  checkLabels(matrix, K);
  const manual = normalizeManual(options.manualLabels, matrix.numRecords, K);
  // coverage is set here, not in emConfigFor: the token model in sequence.ts shares emConfigFor.
  // 'class' needs every LF to vote one class only (keyword / regex rules): an LF that votes several
  // classes has its accuracy spread over several "some vote c" events, which 'lf' models directly.
  const coverage = OURS_DEFAULTS.coverage === 'class' && unipolarLfs(matrix) ? 'class' : 'lf';
  const cfg: EmConfig = {
    ...emConfigFor(options),
    coverage,
    uncoveredPrior: OURS_DEFAULTS.uncoveredPrior && coverage === 'class',
    withinGroupAbstains: OURS_DEFAULTS.withinGroupAbstains,
    poolStrength: OURS_DEFAULTS.poolStrength,
  };
  let manualCount = 0;
  if (manual) for (let i = 0; i < manual.length; i++) if (manual[i]! >= 0) manualCount++;
  let em: EmParams;
  let calibration = identityCalibration(K);
  calibration.scale = OURS_DEFAULTS.unsupervisedScale;
  let residual: ResidualModel | undefined;
  let variant = -1;
  let patterns: PatternModel | undefined;
  let stack: OursParams['stack'];
  if (manual && manualCount > 0 && (options.calibrate ?? true)) {
    const unlabeled = matrix.numRecords - manualCount;
    let variants = OURS_DEFAULTS.semiSelect ? OURS_DEFAULTS.semiVariants : [{ abstainWeight: cfg.abstainWeight ?? 1, labeledShare: 0 }];
    if (OURS_DEFAULTS.semiMonotone) variants = [...variants, ...variants.map((v) => ({ ...v, monotone: true }))];
    if (OURS_DEFAULTS.semiSelect) variants = OURS_DEFAULTS.semiCoverages.flatMap((coverage) => variants.map((v) => ({ ...v, coverage })));
    if (OURS_DEFAULTS.semiSelect && OURS_DEFAULTS.semiPriorStrengths.length > 0 && cfg.modelAbstains) {
      variants = [...variants, ...OURS_DEFAULTS.semiPriorStrengths.flatMap((unsupPrior) => variants.filter((v) => v.coverage === 'lf').map((v) => ({ ...v, unsupPrior })))];
    }
    if (OURS_DEFAULTS.semiSelect && OURS_DEFAULTS.semiUnsupervised) variants = [...variants, { abstainWeight: cfg.abstainWeight ?? 1, labeledShare: 0, unsupervised: true }];
    let best: { em: EmParams; residual: ResidualModel; v: number; oof: OofScores } | undefined;
    let unsupFit: EmParams | undefined;
    let unsupRates: Float64Array | undefined;
    const unsupervisedFit = (): EmParams => (unsupFit ??= fitEm(matrix, cfg, undefined));
    const fits: Array<{ em: EmParams; residual: ResidualModel; v: number; oof: OofScores }> = [];
    for (let v = 0; v < variants.length; v++) {
      const unsup = variants[v]!.unsupervised === true;
      const vc: EmConfig = unsup ? cfg : {
        ...cfg,
        abstainWeight: variants[v]!.abstainWeight,
        monotone: variants[v]!.monotone ?? cfg.monotone ?? false,
        coverage: variants[v]!.coverage ?? cfg.coverage ?? 'lf',
        // with manual labels the share of uncovered records per class is observed
        uncoveredPrior: OURS_DEFAULTS.semiUncoveredPrior && (variants[v]!.coverage ?? cfg.coverage) === 'class',
        labeledWeight: Math.max(1, (variants[v]!.labeledShare * unlabeled) / manualCount),
        ...(variants[v]!.unsupPrior !== undefined ? { priorRates: (unsupRates ??= perLfRates(unsupervisedFit())), priorRatesStrength: variants[v]!.unsupPrior } : {}),
      };
      const warm = OURS_DEFAULTS.semiWarmStart && !unsup && vc.coverage === 'class' && cfg.coverage === 'class' ? unsupervisedFit() : undefined;
      const emV = unsup ? unsupervisedFit() : fitEm(matrix, vc, manual, warm);
      const oof = unsup ? labeledScores(matrix, manual, manualCount, emV) : outOfFoldScores(matrix, manual, manualCount, vc, emV);
      const r = fitResidual(matrix, oof.ids, oof.scores, oof.labels, K, {
        ridgeAB: OURS_DEFAULTS.calibrationRidge,
        lambdas: OURS_DEFAULTS.residual ? OURS_DEFAULTS.residualLambdas : [Infinity],
        folds: OURS_DEFAULTS.folds,
        pairs: OURS_DEFAULTS.residualPairs,
        oneSe: OURS_DEFAULTS.residualOneSe,
      });
      if (OURS_DEFAULTS.semiStack) fits.push({ em: emV, residual: r, v, oof });
      // strictly better only (ties keep the earlier variant); NaN (1 label) keeps the first
      if (!best || r.cvNll < best.residual.cvNll - 1e-9) best = { em: emV, residual: r, v, oof };
    }
    em = best!.em;
    residual = best!.residual;
    variant = best!.v;
    calibration = { scale: residual.scale, bias: residual.bias, fittedOn: manualCount };
    if (fits.length > 1 && manualCount >= 2) {
      const oofProbs = fits.map((f) => outOfFoldProbs(matrix, f.oof, f.residual, K));
      const w = stackWeights(oofProbs, best!.oof.labels, K);
      stack = fits.map((f, q) => ({ em: f.em, residual: f.residual, weight: w[q]!, variant: f.v })).filter((m) => m.weight > 0);
    }
    if (OURS_DEFAULTS.patternStrengths.length > 1) {
      const oofProbs = outOfFoldProbs(matrix, best!.oof, residual, K);
      patterns = fitPatterns(matrix, best!.oof.ids, oofProbs, best!.oof.labels, K, OURS_DEFAULTS.patternStrengths, OURS_DEFAULTS.folds);
    }
  } else em = fitEm(matrix, cfg, manual);
  const classBalance = new Float64Array(K);
  for (let y = 0; y < K; y++) classBalance[y] = Math.exp(em.logPrior[y]!);
  const params: OursParams = { em, calibration, classBalance, manualCount, variant, ...(residual ? { residual } : {}), ...(patterns ? { patterns } : {}), ...(stack ? { stack } : {}) };
  return {
    kind: 'ours',
    numClasses: K,
    params,
    predict(m: LabelMatrix = matrix): Prediction {
      checkLabels(m, K);
      if (m.numLfs !== em.numLfs) throw new RangeError('predict: matrix has a different LF count');
      let probs: Float64Array;
      if (stack) {
        // Σ weight · each member's corrected probabilities
        probs = new Float64Array(m.numRecords * K);
        for (const member of stack) {
          const p = allScores(member.em, m);
          applyResidual(member.residual, m, p);
          for (let q = 0; q < p.length; q++) probs[q] = probs[q]! + member.weight * p[q]!;
        }
      } else {
        probs = allScores(em, m);
        if (residual) applyResidual(residual, m, probs);
        else applyCalibration(probs, m.numRecords, K, calibration, probs);
      }
      if (patterns) applyPatterns(patterns, m, probs);
      return finishPrediction(probs, m.numRecords, K);
    },
  };
}

/** True when no LF votes two different classes in `m`. */
export function unipolarLfs(m: LabelMatrix): boolean {
  const cls = new Int32Array(m.numLfs).fill(-1);
  const total = m.indptr[m.numRecords]!;
  for (let k = 0; k < total; k++) {
    const j = m.lfs[k]!;
    const l = m.labels[k]!;
    if (cls[j] === -1) cls[j] = l;
    else if (cls[j] !== l) return false;
  }
  return true;
}

interface OofScores {
  ids: Int32Array;
  scores: Float64Array;
  labels: Int32Array;
}

/**
 * Probabilities of the labeled records with neither the generative scores nor the correction having
 * seen the record's label: per fold (same assignment r % folds as the scores), the correction is refit
 * with the chosen λ on the other folds.
 */
function outOfFoldProbs(matrix: LabelMatrix, oof: OofScores, full: ResidualModel, K: number): Float64Array {
  const n = oof.ids.length;
  const folds = Math.min(OURS_DEFAULTS.folds, n);
  const out = new Float64Array(n * K);
  if (folds < 2) {
    const s = Float64Array.from(oof.scores);
    applyResidual(full, selectRows(matrix, oof.ids), s);
    return s;
  }
  for (let f = 0; f < folds; f++) {
    const tr: number[] = [];
    const te: number[] = [];
    for (let r = 0; r < n; r++) (r % folds === f ? te : tr).push(r);
    const pick = (rows: number[]): { ids: Int32Array; scores: Float64Array; labels: Int32Array } => {
      const ids = Int32Array.from(rows, (r) => oof.ids[r]!);
      const scores = new Float64Array(rows.length * K);
      rows.forEach((r, q) => scores.set(oof.scores.subarray(r * K, r * K + K), q * K));
      return { ids, scores, labels: Int32Array.from(rows, (r) => oof.labels[r]!) };
    };
    const a = pick(tr);
    const b = pick(te);
    const rf = fitResidual(matrix, a.ids, a.scores, a.labels, K, { ridgeAB: OURS_DEFAULTS.calibrationRidge, lambdas: [full.lambda], folds: 1, pairs: full.pairs });
    applyResidual(rf, selectRows(matrix, b.ids), b.scores);
    te.forEach((r, q) => out.set(b.scores.subarray(q * K, q * K + K), r * K));
  }
  return out;
}

/**
 * Simplex weights w minimising −Σ_i log Σ_v w_v · p_v(y_i | i) over the candidates' out-of-fold
 * probabilities (n × K each; same record order): the EM fixed point for mixture weights, from uniform.
 * Convex in w, so the iteration reaches the optimum; weights below 1e-3 are dropped and the rest renormalised.
 */
export function stackWeights(probs: readonly Float64Array[], labels: Int32Array, K: number, iters = 500): Float64Array {
  const V = probs.length;
  const n = labels.length;
  let w = new Float64Array(V).fill(1 / V);
  const next = new Float64Array(V);
  for (let it = 0; it < iters; it++) {
    next.fill(0);
    for (let i = 0; i < n; i++) {
      let tot = 0;
      for (let v = 0; v < V; v++) tot += w[v]! * Math.max(1e-12, probs[v]![i * K + labels[i]!]!);
      for (let v = 0; v < V; v++) next[v] = next[v]! + (w[v]! * Math.max(1e-12, probs[v]![i * K + labels[i]!]!)) / tot;
    }
    let delta = 0;
    for (let v = 0; v < V; v++) {
      const nv = next[v]! / n;
      delta = Math.max(delta, Math.abs(nv - w[v]!));
      w[v] = nv;
    }
    if (delta < 1e-9) break;
  }
  let sum = 0;
  for (let v = 0; v < V; v++) if (w[v]! < 1e-3) w[v] = 0;
  for (let v = 0; v < V; v++) sum += w[v]!;
  w = w.map((x) => x / sum);
  return w;
}

/** Scores of the labeled records under `p` (a fit that saw no label: out-of-fold as is). */
function labeledScores(matrix: LabelMatrix, manual: Int32Array, count: number, p: EmParams): OofScores {
  const K = p.numClasses;
  const ids = new Int32Array(count);
  const labels = new Int32Array(count);
  const scores = new Float64Array(count * K);
  const row = new Float64Array(K);
  let r = 0;
  for (let i = 0; i < manual.length; i++) {
    if (manual[i]! < 0) continue;
    ids[r] = i;
    labels[r] = manual[i]!;
    recordScores(p, matrix, i, row);
    scores.set(row, r * K);
    r++;
  }
  return { ids, scores, labels };
}

/**
 * Generative scores of the labeled records, each from an EM refit with its fold's labels hidden.
 * The refits (folds × variants of them) only have to tell how the parameters move without a fold's
 * labels; with many unlabeled records they use every labeled record plus a sample of
 * `OURS_DEFAULTS.oofUnlabeledSample` unlabeled ones, the labeled weight scaled by the sampled share so the balance
 * of labeled and unlabeled evidence stays that of the full fit (1M records: ~20 EM refits of 200k
 * instead of 1M rows). Smaller matrices refit on every record.
 */
function outOfFoldScores(matrix: LabelMatrix, manual: Int32Array, count: number, cfg: EmConfig, full: EmParams): OofScores {
  const K = cfg.numClasses;
  const folds = Math.min(OURS_DEFAULTS.folds, count);
  const labeledIdx = new Int32Array(count);
  let c = 0;
  for (let i = 0; i < manual.length; i++) if (manual[i]! >= 0) labeledIdx[c++] = i;
  const scores = new Float64Array(count * K);
  const labels = new Int32Array(count);
  const row = new Float64Array(K);
  // the matrix the refits run on, its manual labels, and where each labeled record sits in it
  let fitMatrix = matrix;
  let fitManual = manual;
  let labeledPos = labeledIdx;
  let fitCfg: EmConfig = { ...cfg, maxIter: Math.min(cfg.maxIter, 50) };
  const unlabeled = matrix.numRecords - count;
  if (folds > 1 && unlabeled > OURS_DEFAULTS.oofUnlabeledSample) {
    const step = Math.ceil(unlabeled / OURS_DEFAULTS.oofUnlabeledSample);
    const rows: number[] = [];
    labeledPos = new Int32Array(count);
    let u = 0;
    let l = 0;
    let sampled = 0;
    for (let i = 0; i < matrix.numRecords; i++) {
      if (manual[i]! >= 0) {
        labeledPos[l++] = rows.length;
        rows.push(i);
      } else if (u++ % step === 0) {
        rows.push(i);
        sampled++;
      }
    }
    fitMatrix = selectRows(matrix, rows);
    fitManual = Int32Array.from(rows, (i) => manual[i]!);
    fitCfg = { ...fitCfg, labeledWeight: (cfg.labeledWeight ?? 1) * (sampled / unlabeled) };
  }
  const held = new Int32Array(fitManual);
  for (let f = 0; f < folds; f++) {
    held.set(fitManual);
    for (let r = f; r < count; r += folds) held[labeledPos[r]!] = -1;
    const p = folds > 1 ? fitEm(fitMatrix, fitCfg, held, full) : full;
    for (let r = f; r < count; r += folds) {
      const i = labeledIdx[r]!;
      recordScores(p, matrix, i, row);
      scores.set(row, r * K);
      labels[r] = manual[i]!;
    }
  }
  return { ids: labeledIdx, scores, labels };
}
