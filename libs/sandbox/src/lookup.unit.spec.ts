import { describe, expect, it } from 'vitest';
import { compileLookup, createLookupListRunner, lookupRegexSource } from './lookup.ts';

/** Brute-force reference: every occurrence, then leftmost-longest non-overlapping. */
function reference(text: string, terms: string[], ci: boolean, ww: boolean): Array<[number, number]> {
  const isWord = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}\p{M}_]/u.test(c);
  const t = ci ? [...text].map((c) => (c.toLowerCase().length === c.length ? c.toLowerCase() : c)).join('') : text;
  const all: Array<[number, number]> = [];
  for (const term of new Set(terms)) {
    if (!term) continue;
    const needle = ci ? [...term].map((c) => (c.toLowerCase().length === c.length ? c.toLowerCase() : c)).join('') : term;
    for (let i = t.indexOf(needle); i >= 0; i = t.indexOf(needle, i + 1)) {
      const e = i + needle.length;
      if (ww && (isWord(text[i - 1]) || isWord(text[e]))) continue;
      all.push([i, e]);
    }
  }
  all.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: Array<[number, number]> = [];
  let last = -1;
  for (const [s, e] of all) if (s >= last) (out.push([s, e]), (last = e));
  return out;
}

describe('compileLookup (Aho-Corasick)', () => {
  it('case-insensitive whole words by default', () => {
    const m = compileLookup(['Apple', 'new york']);
    expect(m.test('I like APPLE pie')).toBe(true);
    expect(m.test('pineapples')).toBe(false);
    expect(m.findAll('New York and apple, NEW YORK')).toEqual([
      { term: 'new york', start: 0, end: 8 },
      { term: 'Apple', start: 13, end: 18 },
      { term: 'new york', start: 20, end: 28 },
    ]);
  });

  it('options: case-sensitive, substrings', () => {
    expect(compileLookup({ terms: ['Apple'], caseInsensitive: false }).test('apple')).toBe(false);
    expect(compileLookup({ terms: ['apple'], wholeWord: false }).findAll('pineapples')).toEqual([{ term: 'apple', start: 4, end: 9 }]);
  });

  it('overlapping terms: leftmost-longest, non-overlapping', () => {
    const m = compileLookup({ terms: ['he', 'she', 'hers', 'his'], wholeWord: false });
    expect(m.findAll('ushers')).toEqual([{ term: 'she', start: 1, end: 4 }]);
    expect(m.findAll('hershe')).toEqual([
      { term: 'hers', start: 0, end: 4 },
      { term: 'he', start: 4, end: 6 },
    ]);
  });

  it('whole word falls back to a shorter term when the longer is inside a word', () => {
    const m = compileLookup(['new', 'new yorker']);
    expect(m.findAll('new yorkers')).toEqual([{ term: 'new', start: 0, end: 3 }]);
  });

  it('unicode: umlauts are word characters, offsets stay in code units', () => {
    const m = compileLookup(['über']);
    expect(m.findAll('Ja, ÜBER alles')).toEqual([{ term: 'über', start: 4, end: 8 }]);
    expect(m.test('drüber')).toBe(false);
    expect(compileLookup(['i̇stanbul']).test('İSTANBUL')).toBe(false); // İ lower-cases to two code units: not folded
  });

  it('empty list and empty terms never match', () => {
    expect(compileLookup([]).test('anything')).toBe(false);
    expect(compileLookup(['']).findAll('abc')).toEqual([]);
  });

  it('agrees with a brute-force reference on random inputs', () => {
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    const alphabet = 'abAB _-é';
    const word = (len: number) => Array.from({ length: len }, () => alphabet[rnd(alphabet.length)]).join('');
    for (let trial = 0; trial < 400; trial++) {
      const terms = Array.from({ length: 1 + rnd(6) }, () => word(1 + rnd(4)));
      const text = word(rnd(40));
      const ci = rnd(2) === 0;
      const ww = rnd(2) === 0;
      const got = compileLookup({ terms, caseInsensitive: ci, wholeWord: ww }).findAll(text).map((m) => [m.start, m.end]);
      expect(got, JSON.stringify({ terms, text, ci, ww })).toEqual(reference(text, terms, ci, ww));
    }
  });

  it('regex source for the sandboxes behaves the same on plain text', () => {
    const { source, flags } = lookupRegexSource({ terms: ['a.b', 'c+'], caseInsensitive: true, wholeWord: true });
    const re = new RegExp(source, flags);
    expect(re.test('x A.B y')).toBe(true);
    expect(re.test('xa.b')).toBe(false);
    expect(re.test('aXb')).toBe(false);
    expect(re.test('C+')).toBe(true);
  });

  it('is fast with many terms', () => {
    const terms = Array.from({ length: 20_000 }, (_, i) => `term${i}x`);
    const m = compileLookup(terms);
    const text = 'lorem ipsum dolor sit amet '.repeat(8) + ' TERM19999X';
    const t0 = performance.now();
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (m.test(text)) hits++;
    expect(hits).toBe(10_000);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('createLookupListRunner', () => {
  const recs = [
    { id: '1', attributes: { text: 'Buy an iPhone or a Pixel' } },
    { id: '2', attributes: { text: 'nothing here' } },
    { id: '3', attributes: { text: null } },
  ];
  it('classification', async () => {
    const r = createLookupListRunner({ kind: 'classification', label: 'PHONE', attribute: 'text', list: ['iphone', 'pixel'] });
    expect(await r.runBatch(recs)).toEqual(['PHONE', null, null]);
    await r.close();
    await expect(r.runBatch(recs)).rejects.toThrow(/closed/);
  });
  it('extraction', async () => {
    const r = createLookupListRunner({ kind: 'extraction', label: 'PHONE', attribute: 'text', list: ['iphone', 'pixel'] });
    expect(await r.runBatch(recs)).toEqual([
      [
        { label: 'PHONE', start: 7, end: 13 },
        { label: 'PHONE', start: 19, end: 24 },
      ],
      [],
      [],
    ]);
  });
});
