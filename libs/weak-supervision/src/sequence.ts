import type { ModelKind, TieBreak } from './types.ts';
import { bioToSpans, numTags, tokenMatrixFromSpans, spansToBio, type ScoredSpan, type Span, type SpanDoc, type TagScheme } from './spans.ts';
import { fitHmm, docObservations, forwardBackward, posteriors, spanPosterior, viterbi, HMM_DEFAULTS, type HmmConfig, type HmmParams } from './models/hmm.ts';
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
  /** ours: HMM hyper-parameters (defaults: HMM_DEFAULTS). */
  hmm?: Partial<HmmConfig>;
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
 *    (tokenMatrixFromSpans); tokens without a prediction are O; spans reassembled with strict IOB2;
 *    span confidence = min token confidence in the span (refinery: max of its vote weights → sigmoid).
 */
export function fitSpanModel(kind: ModelKind, docs: readonly SpanDoc[], options: SpanFitOptions): FittedSpanModel {
  const scheme = options.scheme ?? 'BIO';
  const types = options.entityTypes;
  const S = numTags(scheme, types.length);
  const M = numLfsOf(docs);
  if (kind === 'ours') {
    const lengths = Int32Array.from(docs.map((d) => d.length));
    const obs = docs.map((d) => docObservations(d, M, types, scheme));
    const gold = docs.map((d, i) => {
      const g = options.manualSpans?.[i];
      return g ? spansToBio(g, d.length, types, scheme) : undefined;
    });
    const cfg: HmmConfig = { ...HMM_DEFAULTS, ...options.hmm, ...(options.maxIter ? { maxIter: options.maxIter } : {}) };
    const params = fitHmm({ obs, lengths, gold }, scheme, types.length, M, cfg);
    return {
      kind,
      scheme,
      entityTypes: types,
      params,
      predict: (pd: readonly SpanDoc[] = docs) => predictHmm(params, pd, types, scheme, M),
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
          const l = pred.labels[t]!;
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

function predictHmm(p: HmmParams, docs: readonly SpanDoc[], types: readonly string[], scheme: TagScheme, M: number): SpanPrediction {
  const S = p.numStates;
  const out: SpanPrediction = { spans: [], tags: [], tokenConfidence: [] };
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
