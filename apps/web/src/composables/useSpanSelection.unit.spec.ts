import { describe, expect, it } from 'vitest';
import type { Token } from '../api/types';
import { overlaps, rangeToSpan, spansAt, spanTokenRange, textSegments, useSpanSelection, withTokenRanges } from './useSpanSelection';

const TEXT = 'Alice Smith met Bob, in Paris.';
/** Words and punctuation with their UTF-16 offsets (like the server's tokens route). */
const TOKENS: Token[] = [...TEXT.matchAll(/\w+|[^\s\w]/g)].map((m, index) => ({ index, start: m.index, end: m.index + m[0].length, text: m[0] }));

describe('span selection', () => {
  it('selects a range by dragging, in either direction', () => {
    const s = useSpanSelection(() => TOKENS.length);
    expect(s.range.value).toBeNull();
    s.pointerDown(3);
    s.pointerEnter(4);
    s.pointerEnter(1);
    s.pointerUp();
    s.pointerEnter(6); // not dragging any more
    expect(s.range.value).toEqual({ first: 1, last: 3 });
    expect([0, 1, 2, 3, 4].map((i) => s.isSelected(i))).toEqual([false, true, true, true, false]);
  });

  it('extends from the anchor with shift-click', () => {
    const s = useSpanSelection(() => TOKENS.length);
    s.pointerDown(1);
    s.pointerUp();
    s.pointerDown(4, true);
    expect(s.range.value).toEqual({ first: 1, last: 4 });
  });

  it('moves a one-token cursor with arrows and extends with shift+arrows, clamped to the text', () => {
    const s = useSpanSelection(() => TOKENS.length);
    s.move(1);
    expect(s.range.value).toEqual({ first: 1, last: 1 });
    s.move(1, true);
    s.move(1, true);
    expect(s.range.value).toEqual({ first: 1, last: 3 });
    s.move(-1);
    expect(s.range.value).toEqual({ first: 2, last: 2 });
    for (let i = 0; i < 20; i++) s.move(1, true);
    expect(s.range.value).toEqual({ first: 2, last: TOKENS.length - 1 });
    s.clear();
    expect(s.range.value).toBeNull();
    expect(s.focus.value).toBe(TOKENS.length - 1);
  });

  it('does nothing without tokens', () => {
    const s = useSpanSelection(() => 0);
    s.move(1);
    s.pointerDown(0);
    expect(s.range.value).toBeNull();
  });
});

describe('span helpers', () => {
  it('turns a token range into character offsets (end exclusive)', () => {
    expect(rangeToSpan(TOKENS, { first: 0, last: 1 }, 'per')).toEqual({ labelId: 'per', start: 0, end: 11 });
    expect(TEXT.slice(0, 11)).toBe('Alice Smith');
    const paris = rangeToSpan(TOKENS, { first: 6, last: 6 }, 'loc')!;
    expect(TEXT.slice(paris.start, paris.end)).toBe('Paris');
    expect(rangeToSpan(TOKENS, { first: 0, last: 99 }, 'x')).toBeNull();
  });

  it('finds the tokens a character span covers and the spans on a token', () => {
    expect(spanTokenRange(TOKENS, { labelId: 'x', start: 6, end: 19 })).toEqual({ tokenStart: 1, tokenEnd: 4 });
    const spans = withTokenRanges(TOKENS, [
      { labelId: 'a', start: 0, end: 11 },
      { labelId: 'b', start: 6, end: 15, tokenStart: 1, tokenEnd: 3 },
    ]);
    expect(spans[0]).toMatchObject({ tokenStart: 0, tokenEnd: 2 });
    expect(spansAt(spans, 1).map((s) => s.labelId)).toEqual(['a', 'b']);
    expect(spansAt(spans, 3)).toEqual([]);
    expect(overlaps(spans[0]!, spans[1]!)).toBe(true);
    expect(overlaps({ labelId: 'a', start: 0, end: 5 }, { labelId: 'b', start: 5, end: 9 })).toBe(false);
  });

  it('cuts the text into tokens and the gaps between them, losing nothing', () => {
    const segments = textSegments(TEXT, TOKENS);
    expect(segments.map((s) => (s.kind === 'gap' ? s.text : s.token.text)).join('')).toBe(TEXT);
    expect(segments.filter((s) => s.kind === 'token')).toHaveLength(TOKENS.length);
    expect(textSegments('  hi ', [{ index: 0, start: 2, end: 4, text: 'hi' }]).map((s) => s.kind)).toEqual(['gap', 'token', 'gap']);
  });
});
