/**
 * Dense annotator × item matrix of nominal category codes, the input of the agreement statistics.
 *
 * Layout: row-major by annotator, `codes[a * items + i]` is annotator `a`'s category code for item
 * `i`, or `MISSING` (-1) when `a` did not label `i`. Codes are `0 … categories - 1`.
 */

/** Code of a missing rating. */
export const MISSING = -1;

export interface RatingMatrix {
  readonly annotators: number;
  readonly items: number;
  /** Number of categories K; every non-missing code is in `0 … K - 1`. */
  readonly categories: number;
  /** `annotators × items`, row-major by annotator, `MISSING` = not labeled. */
  readonly codes: Int32Array;
}

/** One rating: `annotator` gave `label` to `item`. */
export interface RatingTriple<I = string, A = string, L = string> {
  item: I;
  annotator: A;
  label: L;
}

/** A `RatingMatrix` plus the ids behind its rows, columns and codes. */
export interface IndexedRatingMatrix<I = string, A = string, L = string> extends RatingMatrix {
  /** `itemIds[i]` is the item of column `i` (first-appearance order unless given). */
  readonly itemIds: readonly I[];
  /** `annotatorIds[a]` is the annotator of row `a`. */
  readonly annotatorIds: readonly A[];
  /** `labels[c]` is the label of code `c`. */
  readonly labels: readonly L[];
}

/** An all-missing matrix. */
export function emptyRatingMatrix(annotators: number, items: number, categories: number): RatingMatrix {
  checkCount('annotators', annotators);
  checkCount('items', items);
  checkCount('categories', categories);
  return { annotators, items, categories, codes: new Int32Array(annotators * items).fill(MISSING) };
}

/**
 * Wraps existing codes (annotator-major, `MISSING` = -1) after validating them. `categories`
 * defaults to the largest code + 1.
 */
export function ratingMatrix(codes: Int32Array, annotators: number, items: number, categories?: number): RatingMatrix {
  checkCount('annotators', annotators);
  checkCount('items', items);
  if (codes.length !== annotators * items) {
    throw new RangeError(`codes has length ${codes.length}, expected annotators × items = ${annotators * items}`);
  }
  let max = -1;
  for (let x = 0; x < codes.length; x++) {
    const c = codes[x]!;
    if (c < MISSING) throw new RangeError(`invalid code ${c} at index ${x} (codes are >= 0, ${MISSING} = missing)`);
    if (c > max) max = c;
  }
  const k = categories ?? max + 1;
  checkCount('categories', k);
  if (max >= k) throw new RangeError(`code ${max} is out of range for ${k} categories`);
  return { annotators, items, categories: k, codes };
}

/**
 * Builds the matrix from a per-annotator list of rows (`null`/`undefined`/-1 = missing), e.g.
 * `[[1, 2, null], [1, 3, 3]]` for 2 annotators × 3 items. Handy for tests and small data.
 */
export function ratingMatrixFromRows(
  rows: readonly (readonly (number | null | undefined)[])[],
  categories?: number,
): RatingMatrix {
  const annotators = rows.length;
  const items = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const codes = new Int32Array(annotators * items).fill(MISSING);
  for (let a = 0; a < annotators; a++) {
    const r = rows[a]!;
    for (let i = 0; i < r.length; i++) {
      const v = r[i];
      if (v === null || v === undefined) continue;
      if (!Number.isInteger(v)) throw new RangeError(`non-integer code ${v} (annotator ${a}, item ${i})`);
      codes[a * items + i] = v;
    }
  }
  return ratingMatrix(codes, annotators, items, categories);
}

export interface FromTriplesOptions<I, A, L> {
  /** Fixed item order (columns); items not listed here are an error. Default: first appearance. */
  itemIds?: readonly I[];
  /** Fixed annotator order (rows); default: first appearance. */
  annotatorIds?: readonly A[];
  /** Fixed label order (codes); default: first appearance. Labels outside it are an error. */
  labels?: readonly L[];
  /**
   * Two triples for the same (item, annotator): `'error'` (default) throws unless the labels are
   * equal, `'last'` keeps the last one.
   */
  duplicates?: 'error' | 'last';
}

/**
 * Builds the dense matrix from `{ item, annotator, label }` triples. Ids and labels are compared
 * with `Map` semantics (SameValueZero), so use primitives.
 */
export function ratingMatrixFromTriples<I, A, L>(
  triples: Iterable<RatingTriple<I, A, L>>,
  options: FromTriplesOptions<I, A, L> = {},
): IndexedRatingMatrix<I, A, L> {
  const itemIndex = indexOf(options.itemIds);
  const annIndex = indexOf(options.annotatorIds);
  const labelIndex = indexOf(options.labels);
  const fixedItems = options.itemIds !== undefined;
  const fixedAnns = options.annotatorIds !== undefined;
  const fixedLabels = options.labels !== undefined;
  const list: RatingTriple<I, A, L>[] = [];
  for (const t of triples) {
    list.push(t);
    intern(itemIndex, t.item, fixedItems, 'item');
    intern(annIndex, t.annotator, fixedAnns, 'annotator');
    intern(labelIndex, t.label, fixedLabels, 'label');
  }
  const items = itemIndex.size;
  const annotators = annIndex.size;
  const codes = new Int32Array(annotators * items).fill(MISSING);
  const lastWins = options.duplicates === 'last';
  for (const t of list) {
    const x = annIndex.get(t.annotator)! * items + itemIndex.get(t.item)!;
    const c = labelIndex.get(t.label)!;
    const prev = codes[x]!;
    if (prev !== MISSING && prev !== c && !lastWins) {
      throw new Error(`annotator ${String(t.annotator)} rated item ${String(t.item)} twice with different labels`);
    }
    codes[x] = c;
  }
  return {
    annotators,
    items,
    categories: labelIndex.size,
    codes,
    itemIds: [...itemIndex.keys()],
    annotatorIds: [...annIndex.keys()],
    labels: [...labelIndex.keys()],
  };
}

function indexOf<T>(ids: readonly T[] | undefined): Map<T, number> {
  const m = new Map<T, number>();
  if (ids) {
    for (const id of ids) {
      if (m.has(id)) throw new Error(`duplicate id ${String(id)} in the fixed order`);
      m.set(id, m.size);
    }
  }
  return m;
}

function intern<T>(m: Map<T, number>, id: T, fixed: boolean, what: string): void {
  if (m.has(id)) return;
  if (fixed) throw new Error(`unknown ${what} ${String(id)} (not in the given ${what} order)`);
  m.set(id, m.size);
}

function checkCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
}
