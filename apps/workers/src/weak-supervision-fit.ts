import type { VotesArtifact, WeakLabelsArtifact, WeakSupervisionModel, WeakSupervisionParameters } from '@refinery/events';
import { tokenize, tokenRange, type Token } from '@refinery/domain';
import { fitLabelModel, fitMultiLabelModel, fitSpanModel, labelMatrixFromCsr, type MultiLabelRows, type Span, type SpanDoc } from '@refinery/weak-supervision';

/** The reference manual label of a record (gold, else a single or unanimous answer). */
export interface ReferenceAnswer {
  labelIds: string[];
  spans: Array<{ labelId: string; tokenStart: number; tokenEnd: number }>;
}

export interface WeakSupervisionInput {
  kind: 'single_label' | 'multi_label' | 'span';
  /** the task's labels in task order */
  labelIds: readonly string[];
  model: WeakSupervisionModel;
  parameters: WeakSupervisionParameters;
  /** every record of the project, in import order */
  recordIds: readonly string[];
  /** span tasks: the task attribute's text per record (null when missing) */
  texts?: ReadonlyArray<string | null>;
  /** per chosen heuristic, its votes (null: no completed run) */
  heuristics: ReadonlyArray<{ heuristicId: string; votes: VotesArtifact | null }>;
  reference: ReadonlyMap<string, ReferenceAnswer>;
}

export interface WeakSupervisionOutput {
  artifact: WeakLabelsArtifact;
  counts: { records: number; covered: number; labeled: number; manual: number; byLabel: Record<string, number> };
  /** per heuristic: records it voted on (votes for unknown records or labels are dropped) */
  votes: Record<string, number>;
  meanConfidence: number;
  agreement: Record<string, number | null>;
}

/** A confidence as written: finite and in [0, 1]; anything else is a bug in the model, reported, never stored. */
function checked(p: number, where: string): number {
  if (!Number.isFinite(p)) throw new Error(`the label model gave a non-finite confidence (${p}) for ${where}`);
  return Math.min(1, Math.max(0, p));
}

/**
 * Fits the chosen label model to the chosen heuristics' votes and the reference manual labels and
 * returns the weak labels. Defined results (docs/weak-supervision.md): only records at least one
 * chosen heuristic voted on get a weak label; a heuristic without votes contributes nothing; the
 * `refinery` model without manual labels gives no weak labels (its precision weights are all 0).
 */
export function computeWeakLabels(input: WeakSupervisionInput): WeakSupervisionOutput {
  const n = input.recordIds.length;
  const K = input.labelIds.length;
  const M = input.heuristics.length;
  const recordIndex = new Map<string, number>();
  input.recordIds.forEach((id, i) => recordIndex.set(id, i));
  const classOf = new Map(input.labelIds.map((id, c) => [id, c]));
  const manualRecords = [...input.reference.keys()].filter((id) => recordIndex.has(id));
  const votesPer: Record<string, number> = {};
  const byLabel: Record<string, number> = {};
  const out: WeakLabelsArtifact = {
    format: 'refinery.weak-labels.v1',
    kind: input.kind === 'single_label' ? 'classification' : input.kind === 'multi_label' ? 'multi_label' : 'extraction',
    recordIds: [],
    labels: [],
    confidences: [],
  };
  let confidenceSum = 0;
  let confidenceCount = 0;
  const emit = (i: number, labels: WeakLabelsArtifact['labels'][number], confidences: number | number[]) => {
    out.recordIds.push(input.recordIds[i]!);
    out.labels.push(labels);
    out.confidences.push(confidences);
    for (const c of Array.isArray(confidences) ? confidences : [confidences]) {
      confidenceSum += c;
      confidenceCount++;
    }
  };
  const covered = new Uint8Array(n);

  if (input.kind === 'span') {
    const texts = input.texts ?? [];
    const tokens: Token[][] = input.recordIds.map((_, i) => {
      const t = texts[i];
      return typeof t === 'string' ? tokenize(t) : [];
    });
    const lfSpans: Span[][][] = input.recordIds.map(() => Array.from({ length: M }, () => []));
    input.heuristics.forEach((h, j) => {
      let count = 0;
      if (h.votes?.kind === 'extraction') {
        h.votes.recordIds.forEach((recordId, k) => {
          const i = recordIndex.get(recordId);
          if (i === undefined) return;
          const spans = h.votes!.votes[k] as Array<[string, number, number]>;
          let any = false;
          for (const [labelId, start, end] of spans) {
            if (!classOf.has(labelId)) continue;
            const range = tokenRange(tokens[i]!, start, end);
            if (!range) continue;
            lfSpans[i]![j]!.push({ start: range.tokenStart, end: range.tokenEnd, type: labelId });
            any = true;
          }
          if (any) {
            count++;
            covered[i] = 1;
          }
        });
      }
      votesPer[h.heuristicId] = count;
    });
    const docs: SpanDoc[] = tokens.map((t, i) => ({ length: t.length, lfSpans: lfSpans[i]! }));
    const manualSpans = input.recordIds.map((id) => {
      const r = input.reference.get(id);
      return r ? r.spans.filter((s) => classOf.has(s.labelId)).map((s) => ({ start: s.tokenStart, end: s.tokenEnd, type: s.labelId })) : null;
    });
    const model = fitSpanModel(input.model, docs, { entityTypes: [...input.labelIds], scheme: 'BIO', ...(manualRecords.length ? { manualSpans } : {}) });
    const predicted = model.predict();
    const agreeing = new Array<number>(M).fill(0);
    for (let i = 0; i < n; i++) {
      if (!covered[i]) continue;
      const spans = predicted.spans[i] ?? [];
      if (spans.length === 0) continue;
      const t = tokens[i]!;
      const labels: Array<[string, number, number, number, number]> = [];
      const conf: number[] = [];
      for (const s of spans) {
        if (s.end <= s.start || s.end > t.length) continue;
        labels.push([s.type, t[s.start]!.start, t[s.end - 1]!.end, s.start, s.end]);
        conf.push(checked(s.confidence, `a span of record ${input.recordIds[i]}`));
        byLabel[s.type] = (byLabel[s.type] ?? 0) + 1;
      }
      if (labels.length === 0) continue;
      emit(i, labels, conf);
      const keys = new Set(spans.map((s) => `${s.type}:${s.start}:${s.end}`));
      lfSpans[i]!.forEach((lf, j) => {
        for (const s of lf) if (keys.has(`${s.type}:${s.start}:${s.end}`)) agreeing[j]!++;
      });
    }
    // agreement of span heuristics: share of their spans the weak labels contain exactly
    const spanCounts = lfSpans.reduce((acc, doc) => (doc.forEach((lf, j) => (acc[j]! += lf.length)), acc), new Array<number>(M).fill(0));
    return finishOutput(input, out, covered, manualRecords.length, byLabel, votesPer, confidenceSum, confidenceCount, (j) => (spanCounts[j]! > 0 ? agreeing[j]! / spanCounts[j]! : null));
  }

  // classification: votes as CSR, heuristics in index order so each record's votes are sorted by LF
  const perRecord = new Int32Array(n);
  // per heuristic its votes as (record index, class) pairs in typed arrays (millions of votes)
  const parsed: Array<{ rec: Int32Array; cls: Int32Array }> = input.heuristics.map((h) => {
    const m = h.votes?.kind === 'classification' ? h.votes.recordIds.length : 0;
    const rec = new Int32Array(m);
    const cls = new Int32Array(m);
    let len = 0;
    for (let k = 0; k < m; k++) {
      const i = recordIndex.get(h.votes!.recordIds[k]!);
      const c = classOf.get(h.votes!.votes[k] as string);
      if (i === undefined || c === undefined) continue; // a deleted record or a removed label
      rec[len] = i;
      cls[len] = c;
      len++;
      perRecord[i]!++;
    }
    votesPer[h.heuristicId] = len;
    return { rec: rec.subarray(0, len), cls: cls.subarray(0, len) };
  });
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    indptr[i + 1] = indptr[i]! + perRecord[i]!;
    if (perRecord[i]! > 0) covered[i] = 1;
  }
  const fill = indptr.slice(0, n);
  const total = indptr[n]!;
  const lfs = new Int32Array(total);
  const classes = new Int32Array(total);
  parsed.forEach(({ rec, cls }, j) => {
    for (let v = 0; v < rec.length; v++) {
      const k = fill[rec[v]!]!++;
      lfs[k] = j;
      classes[k] = cls[v]!;
    }
  });

  if (input.kind === 'single_label') {
    const manual = new Int32Array(n).fill(-1);
    for (const id of manualRecords) {
      const c = classOf.get(input.reference.get(id)!.labelIds[0] ?? '');
      if (c !== undefined) manual[recordIndex.get(id)!] = c;
    }
    const matrix = labelMatrixFromCsr(n, M, indptr, lfs, classes);
    const prediction = fitLabelModel(input.model, matrix, { numClasses: K, ...(manualRecords.length ? { manualLabels: manual } : {}) }).predict();
    const weak = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      const c = prediction.labels[i]!;
      if (!covered[i] || c < 0) continue;
      weak[i] = c;
      const labelId = input.labelIds[c]!;
      emit(i, labelId, checked(prediction.confidence[i]!, `record ${input.recordIds[i]}`));
      byLabel[labelId] = (byLabel[labelId] ?? 0) + 1;
    }
    return finishOutput(input, out, covered, manualRecords.length, byLabel, votesPer, confidenceSum, confidenceCount, (j) => {
      const { rec, cls } = parsed[j]!;
      let agree = 0;
      for (let v = 0; v < rec.length; v++) if (weak[rec[v]!] === cls[v]) agree++;
      return rec.length > 0 ? agree / rec.length : null;
    });
  }

  // multi-label: heuristics vote one label per record; one binary model per label
  const rows: Array<Array<readonly [number, readonly number[]]>> = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) for (let k = indptr[i]!; k < indptr[i + 1]!; k++) rows[i]!.push([lfs[k]!, [classes[k]!]]);
  const manualSets = input.recordIds.map((id) => {
    const r = input.reference.get(id);
    return r ? r.labelIds.map((l) => classOf.get(l)).filter((c): c is number => c !== undefined) : null;
  });
  const fitted = fitMultiLabelModel(input.model, rows as MultiLabelRows, {
    numLfs: M,
    numClasses: K,
    ...(manualRecords.length ? { manualLabels: manualSets } : {}),
    ...(input.parameters.threshold !== undefined ? { threshold: input.parameters.threshold } : {}),
  });
  const prediction = fitted.predict();
  const weakMask = new Uint8Array(n * K); // record i has weak label c: weakMask[i * K + c]
  for (let i = 0; i < n; i++) {
    // a label only where some heuristic voted for it on this record: without such a vote its
    // probability is just the label's estimated balance (the same rule as uncovered records)
    const votedFor = new Set<number>();
    for (let k = indptr[i]!; k < indptr[i + 1]!; k++) votedFor.add(classes[k]!);
    const set = prediction.labels[i]!.filter((c) => votedFor.has(c));
    if (!covered[i] || set.length === 0) continue;
    const ids = set.map((c) => input.labelIds[c]!);
    emit(
      i,
      ids,
      set.map((c) => checked(prediction.probs[i * K + c]!, `record ${input.recordIds[i]}`)),
    );
    for (const c of set) {
      weakMask[i * K + c] = 1;
      byLabel[input.labelIds[c]!] = (byLabel[input.labelIds[c]!] ?? 0) + 1;
    }
  }
  return finishOutput(input, out, covered, manualRecords.length, byLabel, votesPer, confidenceSum, confidenceCount, (j) => {
    const { rec, cls } = parsed[j]!;
    let agree = 0;
    for (let v = 0; v < rec.length; v++) if (weakMask[rec[v]! * K + cls[v]!]) agree++;
    return rec.length > 0 ? agree / rec.length : null;
  });
}

function finishOutput(
  input: WeakSupervisionInput,
  artifact: WeakLabelsArtifact,
  covered: Uint8Array,
  manual: number,
  byLabel: Record<string, number>,
  votes: Record<string, number>,
  confidenceSum: number,
  confidenceCount: number,
  agreementOf: (j: number) => number | null,
): WeakSupervisionOutput {
  let coveredCount = 0;
  for (let i = 0; i < covered.length; i++) coveredCount += covered[i]!;
  const agreement: Record<string, number | null> = {};
  input.heuristics.forEach((h, j) => (agreement[h.heuristicId] = agreementOf(j)));
  return {
    artifact,
    counts: { records: input.recordIds.length, covered: coveredCount, labeled: artifact.recordIds.length, manual, byLabel },
    votes,
    meanConfidence: confidenceCount > 0 ? Math.min(1, Math.max(0, confidenceSum / confidenceCount)) : 0,
    agreement,
  };
}
