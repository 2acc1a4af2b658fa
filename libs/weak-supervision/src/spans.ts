import type { LabelMatrix } from './matrix.ts';

/** A token span [start, end) of an entity type. */
export interface Span {
  start: number;
  /** Exclusive. */
  end: number;
  type: string;
}

/** Identity of a span (boundaries and type): equal keys ⇔ the same span. */
export function spanKey(s: Span): string {
  return `${s.start}:${s.end}:${s.type}`;
}

export interface ScoredSpan extends Span {
  /** Posterior probability that exactly this span (same boundaries and type) is an entity. */
  confidence: number;
}

/**
 * Tag scheme of token label ids, with x = 1 + index of the type in `entityTypes`:
 *  - 'BIO' (IOB2): O = 0, B-x = 2x - 1, I-x = 2x  (WRENCH's convention)
 *  - 'IO':        O = 0, I-x = x
 */
export type TagScheme = 'BIO' | 'IO';

export function numTags(scheme: TagScheme, numTypes: number): number {
  return scheme === 'BIO' ? 2 * numTypes + 1 : numTypes + 1;
}

/** Entity type index (0-based) of a tag id, -1 for O. */
export function tagType(scheme: TagScheme, tag: number): number {
  if (tag <= 0) return -1;
  return scheme === 'BIO' ? (tag - 1) >> 1 : tag - 1;
}

/** true for B-x tags (BIO) — IO has no begin tags. */
export function isBegin(scheme: TagScheme, tag: number): boolean {
  return scheme === 'BIO' && tag > 0 && tag % 2 === 1;
}

export function tagName(scheme: TagScheme, tag: number, entityTypes: readonly string[]): string {
  if (tag === 0) return 'O';
  const t = entityTypes[tagType(scheme, tag)] ?? '?';
  if (scheme === 'IO') return `I-${t}`;
  return `${isBegin(scheme, tag) ? 'B' : 'I'}-${t}`;
}

/**
 * Spans → token tag ids. Spans of unknown types, empty spans and tokens outside [0, length) are ignored;
 * when spans overlap, the later span in the list overwrites the earlier one on the shared tokens
 * (and keeps its own B tag). In IO, two adjacent spans of one type become indistinguishable.
 */
export function spansToBio(spans: readonly Span[], length: number, entityTypes: readonly string[], scheme: TagScheme = 'BIO'): Int32Array {
  const tags = new Int32Array(length);
  for (const s of spans) {
    const x = entityTypes.indexOf(s.type) + 1;
    if (x === 0) continue;
    const a = Math.max(0, s.start);
    const b = Math.min(length, s.end);
    if (b <= a) continue;
    if (scheme === 'BIO') {
      tags[a] = 2 * x - 1;
      for (let t = a + 1; t < b; t++) tags[t] = 2 * x;
    } else {
      for (let t = a; t < b; t++) tags[t] = x;
    }
  }
  return tags;
}

/**
 * Token tag ids → spans.
 *  - BIO 'strict' (seqeval IOB2 strict mode): an entity is B-x followed by I-x*; an I-x that does not
 *    continue a B-x/I-x of the same type is dropped (with the I-x tokens that follow it).
 *  - BIO 'lenient' (conlleval / seqeval default): such an I-x starts a new entity.
 *  - IO: maximal runs of I-x.
 */
export function bioToSpans(tags: ArrayLike<number>, entityTypes: readonly string[], scheme: TagScheme = 'BIO', mode: 'strict' | 'lenient' = 'strict'): Span[] {
  const out: Span[] = [];
  let cur = -1; // type index of the open entity, -1 none
  let start = 0;
  let valid = false;
  const close = (end: number): void => {
    if (cur >= 0 && valid) out.push({ start, end, type: entityTypes[cur] ?? String(cur) });
    cur = -1;
  };
  for (let t = 0; t < tags.length; t++) {
    const tag = tags[t]!;
    const ty = tagType(scheme, tag);
    if (ty < 0) {
      close(t);
      continue;
    }
    if (scheme === 'IO') {
      if (ty !== cur) {
        close(t);
        cur = ty;
        start = t;
        valid = true;
      }
      continue;
    }
    if (isBegin(scheme, tag)) {
      close(t);
      cur = ty;
      start = t;
      valid = true;
    } else if (ty !== cur) {
      close(t);
      cur = ty;
      start = t;
      valid = mode === 'lenient';
    }
  }
  close(tags.length);
  return out;
}

/** One document for the span models: its length and, per LF, that LF's spans (non-overlapping within an LF). */
export interface SpanDoc {
  length: number;
  /** lfSpans[j] = spans of LF j in this document. */
  lfSpans: ReadonlyArray<readonly Span[]>;
}

export interface TokenMatrix {
  matrix: LabelMatrix;
  /** docOffsets[d] .. docOffsets[d+1] are the token rows of document d. */
  docOffsets: Int32Array;
  /** Per token row: some LF tags an entity there. */
  entityCovered: Uint8Array;
}

/**
 * WRENCH's token-level label matrix: each LF's spans as tag ids (scheme); on a token where at least one
 * LF tags an entity, the LFs that said O abstain; on a token where all LFs say O, all LFs vote O (0).
 * With zero LFs, every token has no votes.
 */
export function tokenMatrixFromSpans(docs: readonly SpanDoc[], numLfs: number, entityTypes: readonly string[], scheme: TagScheme = 'BIO'): TokenMatrix {
  let T = 0;
  for (const d of docs) T += d.length;
  const docOffsets = new Int32Array(docs.length + 1);
  const entityCovered = new Uint8Array(T);
  const tagsPerLf: Int32Array[] = [];
  const rowsLf: number[] = [];
  const rowsLab: number[] = [];
  const indptr = new Int32Array(T + 1);
  let row = 0;
  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d]!;
    tagsPerLf.length = 0;
    for (let j = 0; j < numLfs; j++) tagsPerLf.push(spansToBio(doc.lfSpans[j] ?? [], doc.length, entityTypes, scheme));
    for (let t = 0; t < doc.length; t++) {
      let any = false;
      for (let j = 0; j < numLfs; j++) if (tagsPerLf[j]![t]! > 0) any = true;
      entityCovered[row] = any ? 1 : 0;
      for (let j = 0; j < numLfs; j++) {
        const tag = tagsPerLf[j]![t]!;
        if (any && tag === 0) continue;
        rowsLf.push(j);
        rowsLab.push(tag);
      }
      row++;
      indptr[row] = rowsLf.length;
    }
    docOffsets[d + 1] = row;
  }
  return {
    matrix: { numRecords: T, numLfs, indptr, lfs: Int32Array.from(rowsLf), labels: Int32Array.from(rowsLab) },
    docOffsets,
    entityCovered,
  };
}
