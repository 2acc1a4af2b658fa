import type { ModelKind, TieBreak } from './types.ts';
import { bioToSpans, numTags, spanKey, tokenMatrixFromSpans, spansToBio, type ScoredSpan, type Span, type SpanDoc, type TagScheme } from './spans.ts';
import { baumWelch, addGoldCounts, docObservations, forwardBackward, posteriors, setTransitions, spanPosterior, transitionMask, viterbi, type HmmParams } from './models/hmm.ts';
import { allScores, fitEm } from './models/em.ts';
import { emConfigFor } from './models/ours.ts';
import { softmaxInPlace } from './util.ts';
import { expectedF1Decode, spanCandidates, spansToTagIds } from './span-decode.ts';
import { decodeSpanDs, fitSpanDs, spanDsCandidates, spanDsPosteriors, type SpanDsParams } from './span-ds.ts';

/** Defaults of the span model 'ours' (one configuration for all datasets). */
export const SPAN_DEFAULTS = {
  /** Baum-Welch rounds after the token-level EM initialisation (0 = keep the token-level emissions). */
  baumWelchIter: 0,
  /** Dirichlet pseudo-count per allowed transition. */
  transitionPrior: 1,
  /** Emission pseudo-count strength per (LF, state) row during Baum-Welch. */
  emissionPrior: 10,
  /** Semi-supervised: each gold token weighs max(1, ρ · unlabeled / labeled tokens) in the token EM (EM-λ). */
  labeledShare: 2,
  /**
   * 'viterbi': most probable tag path. 'expectedF1': spans whose exact posterior clears the
   * F1-optimal threshold F/2 (F = the model's own expected F1), chosen without overlap (span-decode.ts).
   */
  decode: 'viterbi' as 'viterbi' | 'expectedF1',
  /**
   * 'spanDs' (default since session 5, unsupervised only — see spanDsSemi): the HMM's Viterbi spans are
   * re-decided by a span-level naive-Bayes / Dawid-Skene over the distinct LF spans (span-ds.ts) fitted on
   * them; 'hmm' = the HMM alone.
   */
  spanModel: 'spanDs' as 'hmm' | 'spanDs',
  /** spanDs also with manual spans (labeled documents' candidates clamped); false = semi fits use the HMM alone. */
  spanDsSemi: false,
  /** spanDs semi: each clamped (labeled-document) candidate weighs max(1, ρ · unlabeled / labeled candidates); 0 = weight 1. */
  spanDsClampShare: 2,
  /** spanDs: the candidate's length bucket (1, 2, 3, ≥ 4) as one more observation column. */
  spanDsLength: false,
  /** spanDs: EM rounds after the first M-step (0 = one M-step on the HMM's spans, then predict; more rounds drift on valid). */
  spanDsIter: 0,
  /** spanDs: add-k pseudo-count of every confusion cell. */
  spanDsSmoothing: 1,
  /** spanDs: initial posteriors — 'hmm' (Viterbi span confidence, 0 for spans it does not take) or 'mv' (share of the LFs in range that propose exactly the span). */
  spanDsInit: 'hmm' as 'hmm' | 'mv',
};
import { fitLabelModel } from './fit.ts';
import type { FittedLabelModel } from './types.ts';

export interface SpanFitOptions {
  entityTypes: readonly string[];
  /** Token label space (default 'BIO'). */
  scheme?: TagScheme;
  /** Per document: gold spans, or null/undefined when the document has no manual labels. */
  manualSpans?: ReadonlyArray<readonly Span[] | null | undefined>;
  /** Token-level MV tie-breaking (default 'rowModulo'). */
  tieBreak?: TieBreak;
  maxIter?: number;
  /** ours: overrides of SPAN_DEFAULTS (for experiments; the product uses the defaults). */
  span?: Partial<typeof SPAN_DEFAULTS>;
}

export interface SpanPrediction {
  /** Per document: predicted spans with a confidence each (strict IOB2 reassembly for BIO). */
  spans: ScoredSpan[][];
  /** Per document: predicted tag id per token (scheme ids; O = 0). */
  tags: Int32Array[];
  /** Per document: probability of the predicted tag per token. */
  tokenConfidence: Float64Array[];
}

export interface FittedSpanModel<P = unknown> {
  readonly kind: ModelKind;
  readonly scheme: TagScheme;
  readonly entityTypes: readonly string[];
  readonly params: P;
  /** Predict for `docs` (default: the fitted documents). Same LF set required. */
  predict(docs?: readonly SpanDoc[]): SpanPrediction;
}

function numLfsOf(docs: readonly SpanDoc[]): number {
  let m = 0;
  for (const d of docs) m = Math.max(m, d.lfSpans.length);
  return m;
}

/**
 * Fit a span-extraction label model.
 *  - 'ours': HMM over the token tags (see models/hmm.ts), Viterbi decoding (always valid IOB2),
 *    span confidence = exact posterior probability of the span.
 *  - 'mv' | 'ds' | 'refinery': the classification model on WRENCH's token-level matrix
 *    (tokenMatrixFromSpans); tokens without a prediction (refinery: no weighted vote; any model: no
 *    vote at all) are O; spans reassembled with strict IOB2;
 *    span confidence = min token confidence in the span (refinery: max of its vote weights → sigmoid).
 */
export function fitSpanModel(kind: ModelKind, docs: readonly SpanDoc[], options: SpanFitOptions): FittedSpanModel {
  const scheme = options.scheme ?? 'BIO';
  const types = options.entityTypes;
  const S = numTags(scheme, types.length);
  const M = numLfsOf(docs);
  if (kind === 'ours') {
    const params = fitOursSpan(docs, options, scheme, M);
    const decode = options.span?.decode ?? SPAN_DEFAULTS.decode;
    const cfg = { ...SPAN_DEFAULTS, ...options.span };
    const semi = options.manualSpans?.some((g) => g) ?? false;
    if (cfg.spanModel === 'spanDs' && (!semi || cfg.spanDsSemi)) {
      const ds = fitOursSpanDs(params, docs, options, scheme, M, cfg);
      return { kind, scheme, entityTypes: types, params: ds, predict: (pd: readonly SpanDoc[] = docs) => predictSpanDs(ds, pd, types, scheme, M) };
    }
    return {
      kind,
      scheme,
      entityTypes: types,
      params,
      predict: (pd: readonly SpanDoc[] = docs) => predictHmm(params, pd, types, scheme, M, decode),
    };
  }
  const tm = tokenMatrixFromSpans(docs, M, types, scheme);
  let manual: Int32Array | undefined;
  if (options.manualSpans) {
    manual = new Int32Array(tm.matrix.numRecords).fill(-1);
    docs.forEach((d, i) => {
      const g = options.manualSpans?.[i];
      if (g) manual!.set(spansToBio(g, d.length, types, scheme), tm.docOffsets[i]!);
    });
  }
  const model: FittedLabelModel = fitLabelModel(kind, tm.matrix, {
    numClasses: S,
    ...(manual ? { manualLabels: manual } : {}),
    tieBreak: options.tieBreak ?? 'rowModulo',
    ...(options.maxIter ? { maxIter: options.maxIter } : {}),
  });
  return {
    kind,
    scheme,
    entityTypes: types,
    params: model.params,
    predict(pd: readonly SpanDoc[] = docs): SpanPrediction {
      const t2 = pd === docs ? tm : tokenMatrixFromSpans(pd, M, types, scheme);
      const pred = model.predict(t2.matrix);
      const out: SpanPrediction = { spans: [], tags: [], tokenConfidence: [] };
      for (let d = 0; d < pd.length; d++) {
        const a = t2.docOffsets[d]!;
        const b = t2.docOffsets[d + 1]!;
        const tags = new Int32Array(b - a);
        const conf = new Float64Array(b - a);
        for (let t = a; t < b; t++) {
          // a token without any vote (only possible with zero LFs) is O
          const l = t2.matrix.indptr[t + 1] === t2.matrix.indptr[t] ? -1 : pred.labels[t]!;
          tags[t - a] = l < 0 ? 0 : l;
          conf[t - a] = l < 0 ? 0 : pred.confidence[t]!;
        }
        const spans = bioToSpans(tags, types, scheme, 'strict').map((s) => {
          let c = 1;
          for (let t = s.start; t < s.end; t++) c = Math.min(c, conf[t]!);
          return { ...s, confidence: c };
        });
        out.spans.push(spans);
        out.tags.push(tags);
        out.tokenConfidence.push(conf);
      }
      return out;
    },
  };
}

function predictHmm(p: HmmParams, docs: readonly SpanDoc[], types: readonly string[], scheme: TagScheme, M: number, decode: typeof SPAN_DEFAULTS.decode): SpanPrediction {
  const S = p.numStates;
  const out: SpanPrediction = { spans: [], tags: [], tokenConfidence: [] };
  if (decode === 'expectedF1') {
    const post: Float64Array[] = [];
    const cands = docs.map((d) => {
      const fb = forwardBackward(p, docObservations(d, M, types, scheme), d.length);
      post.push(posteriors(fb, d.length, S));
      return spanCandidates(fb, d.length, S, scheme, types);
    });
    const sel = expectedF1Decode(cands).spans;
    docs.forEach((d, i) => {
      const tags = spansToTagIds(sel[i]!, d.length, scheme, types);
      const conf = new Float64Array(d.length);
      for (let t = 0; t < d.length; t++) conf[t] = post[i]![t * S + tags[t]!]!;
      out.spans.push(sel[i]!);
      out.tags.push(tags);
      out.tokenConfidence.push(conf);
    });
    return out;
  }
  for (const d of docs) {
    const T = d.length;
    const obs = docObservations(d, M, types, scheme);
    const tags = viterbi(p, obs, T);
    const fb = forwardBackward(p, obs, T);
    const g = posteriors(fb, T, S);
    const conf = new Float64Array(T);
    for (let t = 0; t < T; t++) conf[t] = g[t * S + tags[t]!]!;
    const spans: ScoredSpan[] = bioToSpans(tags, types, scheme, 'strict').map((s) => ({
      ...s,
      confidence: spanPosterior(fb, tags, s.start, s.end, S, scheme, T),
    }));
    out.spans.push(spans);
    out.tags.push(tags);
    out.tokenConfidence.push(conf);
  }
  return out;
}

/**
 * 'ours' for spans: (1) semi-supervised Dawid-Skene EM (the classification model 'ours') on WRENCH's
 * token-level matrix over the tag space; (2) an HMM whose emissions are those class-conditional LF
 * confusions (incl. abstain) and whose transitions are estimated from the token posteriors (and the gold
 * tags of manually labeled documents), with invalid IOB2 transitions fixed to 0; (3) optional
 * Baum-Welch rounds; decoding by Viterbi.
 */
function fitOursSpan(docs: readonly SpanDoc[], options: SpanFitOptions, scheme: TagScheme, M: number): HmmParams {
  const cfg = { ...SPAN_DEFAULTS, ...options.span };
  const types = options.entityTypes;
  const S = numTags(scheme, types.length);
  const V = S + 1;
  const tm = tokenMatrixFromSpans(docs, M, types, scheme);
  const goldDocs = docs.map((d, i) => {
    const g = options.manualSpans?.[i];
    return g ? spansToBio(g, d.length, types, scheme) : undefined;
  });
  let manual: Int32Array | undefined;
  if (goldDocs.some((g) => g !== undefined)) {
    manual = new Int32Array(tm.matrix.numRecords).fill(-1);
    goldDocs.forEach((g, i) => g && manual!.set(g, tm.docOffsets[i]!));
  }
  const emCfg = emConfigFor({ numClasses: S, ...(options.maxIter ? { maxIter: options.maxIter } : {}) });
  if (manual && cfg.labeledShare > 0) {
    let nl = 0;
    for (let i = 0; i < manual.length; i++) if (manual[i]! >= 0) nl++;
    emCfg.labeledWeight = Math.max(1, (cfg.labeledShare * (manual.length - nl)) / Math.max(nl, 1));
  }
  const em = fitEm(tm.matrix, emCfg, manual);
  const p: HmmParams = {
    scheme,
    numStates: S,
    numLfs: M,
    numObs: V,
    logStart: new Float64Array(S),
    logTrans: new Float64Array(S * S),
    logEmit: new Float64Array(M * S * V),
    iterations: em.iterations,
    logLikelihood: em.logLikelihood,
  };
  for (let k = 0; k < M * S * V; k++) p.logEmit[k] = Math.log(Math.max(em.theta[k]!, 1e-300));
  // transitions from token posteriors (unlabeled docs) and gold tags (labeled docs)
  const q = allScores(em, tm.matrix);
  const noEvidence = tm.matrix.indptr[tm.matrix.numRecords] === 0;
  for (let i = 0; i < tm.matrix.numRecords; i++) {
    softmaxInPlace(q, i * S, S);
    // no LF vote anywhere: nothing to learn transitions from — every token counts as O
    if (noEvidence) for (let s = 0; s < S; s++) q[i * S + s] = s === 0 ? 1 : 0;
  }
  const { allowed, allowedStart } = transitionMask(scheme, types.length);
  const startC = new Float64Array(S);
  const transC = new Float64Array(S * S);
  const lengths = Int32Array.from(docs.map((d) => d.length));
  const obs = docs.map((d) => docObservations(d, M, types, scheme));
  for (let d = 0; d < docs.length; d++) {
    const a = tm.docOffsets[d]!;
    const T = lengths[d]!;
    const g = goldDocs[d];
    if (g) {
      addGoldCounts(g, obs[d]!, T, S, V, M, startC, transC, null);
      continue;
    }
    if (T === 0) continue;
    for (let s = 0; s < S; s++) startC[s] = startC[s]! + q[a * S + s]!;
    for (let t = a; t + 1 < a + T; t++) {
      let z = 0;
      for (let r = 0; r < S; r++) for (let s = 0; s < S; s++) if (allowed[r * S + s]) z += q[t * S + r]! * q[(t + 1) * S + s]!;
      if (z <= 0) continue;
      for (let r = 0; r < S; r++) for (let s = 0; s < S; s++) if (allowed[r * S + s]) transC[r * S + s] = transC[r * S + s]! + (q[t * S + r]! * q[(t + 1) * S + s]!) / z;
    }
  }
  setTransitions(p, startC, transC, allowed, allowedStart, cfg.transitionPrior);
  if (cfg.baumWelchIter <= 0) return p;
  const emitPrior = new Float64Array(M * S * V);
  for (let k = 0; k < M * S * V; k++) emitPrior[k] = cfg.emissionPrior * Math.exp(p.logEmit[k]!);
  return baumWelch({ obs, lengths, gold: goldDocs }, p, emitPrior, cfg.transitionPrior, cfg.baumWelchIter, 1e-7, types.length);
}

/**
 * 'spanDs' (the unsupervised default): span-level Dawid-Skene over the distinct LF spans, started from
 * the HMM's Viterbi spans ('hmm' init) or the exact-vote share ('mv'); with manual spans (spanDsSemi,
 * off) the candidates of labeled documents are clamped to "is a gold span" with the same EM-λ weighting
 * as the token EM.
 */
function fitOursSpanDs(hmm: HmmParams, docs: readonly SpanDoc[], options: SpanFitOptions, scheme: TagScheme, M: number, cfg: typeof SPAN_DEFAULTS): SpanDsParams {
  const types = options.entityTypes;
  const c = spanDsCandidates(docs, M, cfg.spanDsLength);
  const n = c.offsets[docs.length]!;
  const init = new Float64Array(n);
  if (cfg.spanDsInit === 'hmm') {
    const vit = predictHmm(hmm, docs, types, scheme, M, 'viterbi').spans;
    docs.forEach((_, d) => {
      const conf = new Map(vit[d]!.map((s) => [spanKey(s), s.confidence]));
      c.spans[d]!.forEach((s, k) => (init[c.offsets[d]! + k] = conf.get(spanKey(s)) ?? 0));
    });
  } else {
    const cols = M + (cfg.spanDsLength ? 1 : 0);
    for (let i = 0; i < n; i++) {
      let ex = 0;
      let inRange = 0;
      for (let j = 0; j < M; j++) {
        const v = c.obs[i * cols + j]!;
        if (v === 0) ex++;
        if (v < 2) inRange++;
      }
      init[i] = inRange > 0 ? ex / inRange : 0;
    }
  }
  let clamp: Int8Array | undefined;
  let clampWeight = 1;
  if (options.manualSpans?.some((g) => g)) {
    clamp = new Int8Array(n).fill(-1);
    let nl = 0;
    docs.forEach((_, d) => {
      const g = options.manualSpans?.[d];
      if (!g) return;
      const gold = new Set(g.map(spanKey));
      c.spans[d]!.forEach((s, k) => {
        clamp![c.offsets[d]! + k] = gold.has(spanKey(s)) ? 1 : 0;
        nl++;
      });
    });
    if (cfg.spanDsClampShare > 0) clampWeight = Math.max(1, (cfg.spanDsClampShare * (n - nl)) / Math.max(nl, 1));
  }
  return fitSpanDs(c, M, init, { useLength: cfg.spanDsLength, iterations: cfg.spanDsIter, smoothing: cfg.spanDsSmoothing, ...(clamp ? { clamp, clampWeight } : {}) });
}

function predictSpanDs(p: SpanDsParams, docs: readonly SpanDoc[], types: readonly string[], scheme: TagScheme, M: number): SpanPrediction {
  const c = spanDsCandidates(docs, M, p.useLength);
  const post = spanDsPosteriors(p, c);
  const sel = decodeSpanDs(c, post);
  const out: SpanPrediction = { spans: sel, tags: [], tokenConfidence: [] };
  docs.forEach((d, i) => {
    const tags = spansToTagIds(sel[i]!, d.length, scheme, types);
    // token confidence: the chosen span's posterior; an O token: 1 − the largest posterior of a candidate covering it
    const conf = new Float64Array(d.length).fill(1);
    c.spans[i]!.forEach((s, k) => {
      for (let t = s.start; t < Math.min(s.end, d.length); t++) conf[t] = Math.min(conf[t]!, 1 - post[c.offsets[i]! + k]!);
    });
    for (const s of sel[i]!) for (let t = s.start; t < Math.min(s.end, d.length); t++) conf[t] = s.confidence;
    out.tags.push(tags);
    out.tokenConfidence.push(conf);
  });
  return out;
}
