/** A word-like token: character offsets into the text, end exclusive. */
export interface Token {
  start: number;
  end: number;
}

const segmenters = new Map<string, Intl.Segmenter>();

/**
 * Language-agnostic word segmentation (Unicode UAX #29 via Intl.Segmenter, with dictionary-based
 * breaking for Chinese, Japanese, Thai…). Whitespace is dropped; punctuation marks are tokens.
 */
export function tokenize(text: string, locale = 'und'): Token[] {
  let segmenter = segmenters.get(locale);
  if (!segmenter) {
    segmenter = new Intl.Segmenter(locale === 'und' ? undefined : locale, { granularity: 'word' });
    segmenters.set(locale, segmenter);
  }
  const tokens: Token[] = [];
  for (const s of segmenter.segment(text)) {
    if (s.isWordLike || /\S/u.test(s.segment)) tokens.push({ start: s.index, end: s.index + s.segment.length });
  }
  return tokens;
}

/** The tokens a character range touches: [tokenStart, tokenEnd), or undefined when it touches none. */
export function tokenRange(tokens: readonly Token[], start: number, end: number): { tokenStart: number; tokenEnd: number } | undefined {
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.end <= start) lo = mid + 1;
    else hi = mid;
  }
  let last = lo;
  while (last < tokens.length && tokens[last]!.start < end) last++;
  return last > lo ? { tokenStart: lo, tokenEnd: last } : undefined;
}
