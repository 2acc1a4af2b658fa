/**
 * Lookup lists: named term lists. `compileLookup` builds an Aho-Corasick automaton over UTF-16
 * code units (one pass over the text, independent of the number of terms).
 */
import type { HeuristicKind, HeuristicRunner, LookupList, SandboxRecord, Vote } from './types.ts';
import { HeuristicError } from './types.ts';

export interface LookupMatch {
  term: string;
  start: number;
  end: number;
}

export interface LookupMatcher {
  /** True if any term occurs (respecting the list's options). */
  test(text: string): boolean;
  /** Leftmost-longest, non-overlapping matches, in text order. */
  findAll(text: string): LookupMatch[];
}

let foldTable: Uint16Array | undefined;

/** Per-code-unit lower-casing that never changes the length (so offsets stay valid). */
function fold(): Uint16Array {
  if (foldTable) return foldTable;
  const t = new Uint16Array(65536);
  for (let c = 0; c < 65536; c++) {
    const lower = String.fromCharCode(c).toLowerCase();
    t[c] = lower.length === 1 ? lower.charCodeAt(0) : c;
  }
  foldTable = t;
  return t;
}

const WORD = /[\p{L}\p{N}\p{M}_]/u;
let wordTable: Uint8Array | undefined;
function isWordUnit(c: number): boolean {
  if (!wordTable) {
    const t = new Uint8Array(65536);
    for (let i = 0; i < 65536; i++) {
      // Surrogate halves count as word characters (most astral code points used in text are letters or emoji;
      // treating them as word characters errs on the side of not matching inside words).
      t[i] = (i >= 0xd800 && i <= 0xdfff) || WORD.test(String.fromCharCode(i)) ? 1 : 0;
    }
    wordTable = t;
  }
  return wordTable[c] === 1;
}

export function normalizeLookupList(list: LookupList | string[]): Required<LookupList> {
  if (Array.isArray(list)) return { terms: list, caseInsensitive: true, wholeWord: true };
  return { terms: list.terms, caseInsensitive: list.caseInsensitive ?? true, wholeWord: list.wholeWord ?? true };
}

export function compileLookup(input: LookupList | string[]): LookupMatcher {
  const list = normalizeLookupList(input);
  const ci = list.caseInsensitive;
  const ft = ci ? fold() : undefined;
  // Trie with Map children; node 0 = root.
  const children: Array<Map<number, number>> = [new Map()];
  const outLen: number[] = [0]; // length of the longest term ending exactly at this node (0 = none)
  const outTerm: number[] = [-1];
  const terms = [...new Set(list.terms.filter((t) => t.length > 0))];
  for (let ti = 0; ti < terms.length; ti++) {
    const term = terms[ti]!;
    let node = 0;
    for (let i = 0; i < term.length; i++) {
      let c = term.charCodeAt(i);
      if (ft) c = ft[c]!;
      let next = children[node]!.get(c);
      if (next === undefined) {
        next = children.length;
        children.push(new Map());
        outLen.push(0);
        outTerm.push(-1);
        children[node]!.set(c, next);
      }
      node = next;
    }
    outLen[node] = term.length;
    outTerm[node] = ti;
  }
  const n = children.length;
  const failLink = new Int32Array(n);
  // dictLink: nearest node on the fail chain (excluding self) that ends a term, or -1.
  const dictLink = new Int32Array(n).fill(-1);
  const queue: number[] = [];
  for (const child of children[0]!.values()) queue.push(child);
  for (let qi = 0; qi < queue.length; qi++) {
    const node = queue[qi]!;
    for (const [c, child] of children[node]!) {
      let f = failLink[node]!;
      while (f !== 0 && !children[f]!.has(c)) f = failLink[f]!;
      const target = children[f]!.get(c);
      failLink[child] = target !== undefined && target !== child ? target : 0;
      const fl = failLink[child]!;
      dictLink[child] = outLen[fl]! > 0 ? fl : dictLink[fl]!;
      queue.push(child);
    }
  }
  const wholeWord = list.wholeWord;

  const step = (node: number, c: number): number => {
    for (;;) {
      const next = children[node]!.get(c);
      if (next !== undefined) return next;
      if (node === 0) return 0;
      node = failLink[node]!;
    }
  };
  const boundaryOk = (text: string, start: number, end: number): boolean =>
    !wholeWord ||
    ((start === 0 || !isWordUnit(text.charCodeAt(start - 1))) && (end === text.length || !isWordUnit(text.charCodeAt(end))));

  /** Calls `onMatch(start, end, termIndex)` for every occurrence; stops when it returns true. */
  const scan = (text: string, onMatch: (start: number, end: number, term: number) => boolean): void => {
    let node = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (ft) c = ft[c]!;
      node = step(node, c);
      let m = outLen[node]! > 0 ? node : dictLink[node]!;
      while (m !== -1) {
        const len = outLen[m]!;
        const start = i + 1 - len;
        if (boundaryOk(text, start, i + 1) && onMatch(start, i + 1, outTerm[m]!)) return;
        m = dictLink[m]!;
      }
    }
  };

  return {
    test(text: string): boolean {
      if (terms.length === 0) return false;
      let found = false;
      scan(text, () => (found = true));
      return found;
    },
    findAll(text: string): LookupMatch[] {
      if (terms.length === 0) return [];
      const all: Array<[number, number, number]> = [];
      scan(text, (s, e, t) => {
        all.push([s, e, t]);
        return false;
      });
      all.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
      const out: LookupMatch[] = [];
      let lastEnd = -1;
      for (const [s, e, t] of all) {
        if (s < lastEnd) continue;
        out.push({ term: terms[t]!, start: s, end: e });
        lastEnd = e;
      }
      return out;
    },
  };
}

/**
 * A plain-regex version of the same matcher for use inside the sandboxes (`ctx.inLookup` in JS,
 * `in_lookup` in Python). JavaScript flavour; the Python worker builds its own with `re`.
 */
export function lookupRegexSource(input: LookupList | string[]): { source: string; flags: string } {
  const list = normalizeLookupList(input);
  const terms = [...new Set(list.terms.filter((t) => t.length > 0))].sort((a, b) => b.length - a.length);
  const alt = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|');
  const body = terms.length === 0 ? '(?!)' : `(?:${alt})`;
  const source = list.wholeWord ? `(?<![\\p{L}\\p{N}\\p{M}_])${body}(?![\\p{L}\\p{N}\\p{M}_])` : body;
  return { source, flags: list.caseInsensitive ? 'iu' : 'u' };
}

export interface LookupListHeuristic {
  kind: HeuristicKind;
  /** The label voted when a term occurs. */
  label: string;
  /** The attribute searched (must be a text attribute). */
  attribute: string;
  list: LookupList | string[];
}

/**
 * The built-in lookup-list heuristic: classification votes `label` if any term occurs in
 * `attribute`; extraction emits one span per (leftmost-longest, non-overlapping) occurrence.
 * Runs in-process: it executes no user code.
 */
export function createLookupListRunner(h: LookupListHeuristic): HeuristicRunner {
  const matcher = compileLookup(h.list);
  let closed = false;
  return {
    runBatch(records: SandboxRecord[]): Promise<Vote[]> {
      if (closed) return Promise.reject(new HeuristicError({ kind: 'runtime', message: 'runner is closed' }));
      const out: Vote[] = new Array<Vote>(records.length);
      for (let i = 0; i < records.length; i++) {
        const v = records[i]!.attributes[h.attribute];
        if (h.kind === 'classification') {
          out[i] = typeof v === 'string' && matcher.test(v) ? h.label : null;
        } else {
          out[i] = typeof v === 'string' ? matcher.findAll(v).map((m) => ({ label: h.label, start: m.start, end: m.end })) : [];
        }
      }
      return Promise.resolve(out);
    },
    close(): Promise<void> {
      closed = true;
      return Promise.resolve();
    },
  };
}
