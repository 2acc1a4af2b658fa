import type { ScoredSpan, Span } from './spans.ts';

/**
 * 'ours+text' for spans: a gazetteer END MODEL on the token TEXT of the manually labeled documents,
 * applied after the label model. It memorizes token strings, so it is not a label model and is
 * reported under its own name; without manual spans it returns the label model's spans unchanged.
 *
 * Evidence per normalized string (lower-cased tokens joined by a space) and type, over the documents
 * with manual spans: e = occurrences that are exactly a gold span of the type, n = e + occurrences that
 * overlap no gold span (an occurrence inside a longer gold span is no counter-example);
 * confidence = (e + 1) / (n + 2). Then, per document WITHOUT manual spans:
 *  - a label-model span whose string has manual evidence with confidence < 0.5 is removed
 *    (`drop`, default true);
 *  - occurrences of a gazetteer string with confidence > 0.5 that overlap no remaining span become
 *    spans (longest match first, left to right; confidence = the string's confidence).
 * Documents with manual spans keep the label model's prediction. The three choices (drop on, overlap
 * rule, no gazetteer from the label model's own spans) were chosen on the valid split (5-fold CV).
 */
export interface SpanTextOptions {
  /** Longest gazetteer string in tokens (default 8). */
  maxLength?: number;
  /** Remove label-model spans the manual labels contradict (default true). */
  drop?: boolean;
}

interface Evidence {
  e: number;
  n: number;
}

const norm = (tokens: readonly string[], a: number, b: number): string => tokens.slice(a, b).join(' ').toLowerCase();

export function applySpanText(
  tokens: ReadonlyArray<readonly string[]>,
  base: ReadonlyArray<readonly ScoredSpan[]>,
  manualSpans: ReadonlyArray<readonly Span[] | null | undefined> | undefined,
  options: SpanTextOptions = {},
): ScoredSpan[][] {
  const L = Math.max(1, options.maxLength ?? 8);
  const drop = options.drop ?? true;
  const gaz = new Map<string, Map<string, Evidence>>();
  const labeled = (d: number): readonly Span[] | null => manualSpans?.[d] ?? null;
  for (let d = 0; d < tokens.length; d++) {
    for (const s of labeled(d) ?? []) {
      if (s.end <= s.start || s.end - s.start > L || s.start < 0 || s.end > tokens[d]!.length) continue;
      const k = norm(tokens[d]!, s.start, s.end);
      let byType = gaz.get(k);
      if (!byType) gaz.set(k, (byType = new Map()));
      if (!byType.has(s.type)) byType.set(s.type, { e: 0, n: 0 });
    }
  }
  if (gaz.size > 0) {
    for (let d = 0; d < tokens.length; d++) {
      const gold = labeled(d);
      if (!gold) continue;
      const tok = tokens[d]!;
      const exact = new Map(gold.map((s) => [`${s.start}:${s.end}`, s.type]));
      const inEnt = new Uint8Array(tok.length);
      for (const s of gold) for (let t = Math.max(0, s.start); t < Math.min(tok.length, s.end); t++) inEnt[t] = 1;
      for (let a = 0; a < tok.length; a++) {
        for (let b = a + 1; b <= Math.min(tok.length, a + L); b++) {
          const byType = gaz.get(norm(tok, a, b));
          if (!byType) continue;
          const ty = exact.get(`${a}:${b}`);
          if (ty === undefined) {
            let overlaps = false;
            for (let t = a; t < b; t++) if (inEnt[t]) overlaps = true;
            if (overlaps) continue;
          }
          for (const [type, ev] of byType) {
            ev.n++;
            if (ty === type) ev.e++;
          }
        }
      }
    }
  }
  const best = (k: string): { type: string; confidence: number } | undefined => {
    const byType = gaz.get(k);
    if (!byType) return undefined;
    let out: { type: string; confidence: number } | undefined;
    for (const [type, ev] of byType) {
      const c = (ev.e + 1) / (ev.n + 2);
      if (!out || c > out.confidence) out = { type, confidence: c };
    }
    return out;
  };
  return tokens.map((tok, d) => {
    const pred = [...(base[d] ?? [])];
    if (labeled(d) || gaz.size === 0) return pred;
    const kept = drop ? pred.filter((s) => !((best(norm(tok, s.start, s.end))?.confidence ?? 1) < 0.5)) : pred;
    const used = new Uint8Array(tok.length);
    for (const s of kept) for (let t = Math.max(0, s.start); t < Math.min(tok.length, s.end); t++) used[t] = 1;
    const added: ScoredSpan[] = [];
    for (let a = 0; a < tok.length; a++) {
      if (used[a]) continue;
      for (let b = Math.min(tok.length, a + L); b > a; b--) {
        let free = true;
        for (let t = a; t < b; t++) if (used[t]) free = false;
        if (!free) continue;
        const m = best(norm(tok, a, b));
        if (!m || m.confidence <= 0.5) continue;
        added.push({ start: a, end: b, type: m.type, confidence: m.confidence });
        for (let t = a; t < b; t++) used[t] = 1;
        a = b - 1;
        break;
      }
    }
    return [...kept, ...added].sort((p, q) => p.start - q.start);
  });
}
