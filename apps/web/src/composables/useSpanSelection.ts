import { computed, ref } from 'vue';
import type { Span, SpanInput, Token } from '../api/types';

/** An inclusive range of token indices. */
export interface TokenRange {
  first: number;
  last: number;
}

export type TextSegment = { kind: 'gap'; text: string; key: string } | { kind: 'token'; token: Token; key: string };

/** The text cut into tokens and the gaps (whitespace, skipped characters) between them. */
export function textSegments(text: string, tokens: Token[]): TextSegment[] {
  const segments: TextSegment[] = [];
  let at = 0;
  for (const token of tokens) {
    if (token.start > at) segments.push({ kind: 'gap', text: text.slice(at, token.start), key: `g${at}` });
    segments.push({ kind: 'token', token, key: `t${token.index}` });
    at = Math.max(at, token.end);
  }
  if (at < text.length) segments.push({ kind: 'gap', text: text.slice(at), key: `g${at}` });
  return segments;
}

/** Character offsets of a token range (end exclusive), as the PUT labels route wants them. */
export function rangeToSpan(tokens: Token[], range: TokenRange, labelId: string): SpanInput | null {
  const first = tokens[range.first];
  const last = tokens[range.last];
  if (!first || !last) return null;
  return { labelId, start: first.start, end: last.end };
}

/** Token indices [tokenStart, tokenEnd) a character span covers. */
export function spanTokenRange(tokens: Token[], span: SpanInput): { tokenStart: number; tokenEnd: number } {
  let tokenStart = -1;
  let tokenEnd = -1;
  for (const token of tokens) {
    if (token.end > span.start && token.start < span.end) {
      if (tokenStart < 0) tokenStart = token.index;
      tokenEnd = token.index + 1;
    }
  }
  return { tokenStart: Math.max(0, tokenStart), tokenEnd: Math.max(0, tokenEnd) };
}

/** Adds token indices to spans that only carry character offsets. */
export function withTokenRanges(tokens: Token[], spans: (SpanInput | Span)[]): Span[] {
  return spans.map((span) =>
    'tokenStart' in span && 'tokenEnd' in span ? span : { ...span, ...spanTokenRange(tokens, span) },
  );
}

/** Spans covering a token, in the order given. */
export function spansAt(spans: Span[], tokenIndex: number): Span[] {
  return spans.filter((span) => span.tokenStart <= tokenIndex && tokenIndex < span.tokenEnd);
}

/** True when two spans share at least one character. */
export function overlaps(a: SpanInput, b: SpanInput): boolean {
  return a.start < b.end && b.start < a.end;
}

/**
 * Token selection for span labeling, independent of the DOM:
 * - mouse: press on a token, drag over others, release; or click one and shift-click another;
 * - keyboard: arrows move a cursor (selecting that one token), shift+arrows extend from the anchor.
 * The selection is the inclusive range between `anchor` and `focus`.
 */
export function useSpanSelection(tokenCount: () => number) {
  const anchor = ref<number | null>(null);
  const focus = ref(0);
  const dragging = ref(false);

  const range = computed<TokenRange | null>(() => {
    if (anchor.value === null || tokenCount() === 0) return null;
    return { first: Math.min(anchor.value, focus.value), last: Math.max(anchor.value, focus.value) };
  });

  function clamp(index: number): number {
    return Math.min(Math.max(index, 0), Math.max(tokenCount() - 1, 0));
  }

  function isSelected(index: number): boolean {
    const r = range.value;
    return r !== null && r.first <= index && index <= r.last;
  }

  function pointerDown(index: number, shift = false): void {
    const i = clamp(index);
    if (shift && anchor.value !== null) {
      focus.value = i;
      return;
    }
    anchor.value = i;
    focus.value = i;
    dragging.value = true;
  }

  function pointerEnter(index: number): void {
    if (dragging.value) focus.value = clamp(index);
  }

  function pointerUp(): void {
    dragging.value = false;
  }

  /** Arrow keys: move the cursor by `delta`; with `extend` keep the anchor (shift+arrow). */
  function move(delta: number, extend = false): void {
    if (tokenCount() === 0) return;
    if (anchor.value === null) anchor.value = focus.value = clamp(focus.value);
    const next = clamp(focus.value + delta);
    focus.value = next;
    if (!extend) anchor.value = next;
  }

  function selectRange(first: number, last: number): void {
    anchor.value = clamp(first);
    focus.value = clamp(last);
  }

  function clear(): void {
    anchor.value = null;
    dragging.value = false;
  }

  function reset(): void {
    clear();
    focus.value = 0;
  }

  return { anchor, focus, dragging, range, isSelected, pointerDown, pointerEnter, pointerUp, move, selectRange, clear, reset };
}

export type SpanSelection = ReturnType<typeof useSpanSelection>;
