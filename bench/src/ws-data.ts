import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { labelMatrixFromDense, type LabelMatrix, type Span, type SpanDoc } from '@refinery/weak-supervision';

export interface ClassSplit {
  matrix: LabelMatrix;
  gold: Int32Array;
  /** Record texts (`data.text`) when every row has one (YouTube); used only by the `ours+text` end model. */
  texts?: string[];
}
export interface ClassDataset {
  kind: 'classification';
  name: string;
  numClasses: number;
  classNames: string[];
  splits: Partial<Record<'train' | 'valid' | 'test', ClassSplit>>;
}
export interface SeqSplit {
  docs: SpanDoc[];
  gold: Span[][];
  /** The documents' tokens (read only by text-aware end models such as 'ours+text'). */
  tokens: string[][];
}
export interface SeqDataset {
  kind: 'sequence';
  name: string;
  entityTypes: string[];
  lfNames: string[];
  splits: Partial<Record<'train' | 'valid' | 'test', SeqSplit>>;
}
export type Dataset = ClassDataset | SeqDataset;

const SPLITS = ['train', 'valid', 'test'] as const;

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Rows of a `{split}.json` object keyed by row index, in numeric key order. */
function rowsInOrder<T>(obj: Record<string, T>): T[] {
  return Object.keys(obj)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => obj[k]!);
}

/** Detect the format by the files present: meta.json → CHMM sequence format, else WRENCH classification. */
export function loadDataset(dir: string): Dataset {
  const name = basename(dir.replace(/\/+$/, ''));
  if (existsSync(join(dir, 'meta.json'))) return loadSequence(dir, name);
  if (SPLITS.some((s) => existsSync(join(dir, `${s}.json`)))) return loadClassification(dir, name);
  throw new Error(`${dir}: no meta.json and no {train,valid,test}.json — unknown format`);
}

interface ClassRow {
  label: number;
  weak_labels: number[];
  data?: { text?: unknown };
}

function loadClassification(dir: string, name: string): ClassDataset {
  const splits: ClassDataset['splits'] = {};
  let maxLabel = -1;
  for (const s of SPLITS) {
    const p = join(dir, `${s}.json`);
    if (!existsSync(p)) continue;
    const rows = rowsInOrder(readJson(p) as Record<string, ClassRow>);
    const matrix = labelMatrixFromDense(rows.map((r) => r.weak_labels));
    const gold = Int32Array.from(rows.map((r) => r.label));
    for (const r of rows) {
      maxLabel = Math.max(maxLabel, r.label, ...r.weak_labels);
    }
    const texts = rows.every((r) => typeof r.data?.text === 'string') ? rows.map((r) => r.data!.text as string) : undefined;
    splits[s] = { matrix, gold, ...(texts ? { texts } : {}) };
  }
  let classNames: string[] = [];
  const lp = join(dir, 'label.json');
  if (existsSync(lp)) {
    const lj = readJson(lp) as Record<string, string>;
    classNames = rowsInOrder(lj);
  }
  const numClasses = Math.max(classNames.length, maxLabel + 1);
  return { kind: 'classification', name, numClasses, classNames, splits };
}

interface SeqRow {
  data: { text: string[] };
  label: Array<[number, number, string]>;
  weak_labels: Array<Array<[number, number, string]>>;
}
interface Meta {
  lf: string[];
  lf_rec?: string[];
  entity_types: string[];
}

/** Sequence data restricted to WRENCH's LF subset `meta.lf_rec` (all LFs when absent). */
function loadSequence(dir: string, name: string): SeqDataset {
  const meta = readJson(join(dir, 'meta.json')) as Meta;
  const use = (meta.lf_rec ?? meta.lf).map((n) => {
    const j = meta.lf.indexOf(n);
    if (j < 0) throw new Error(`${dir}: lf_rec name ${n} not in lf`);
    return j;
  });
  const toSpan = ([start, end, type]: [number, number, string]): Span => ({ start, end, type });
  const splits: SeqDataset['splits'] = {};
  for (const s of SPLITS) {
    const p = join(dir, `${s}.json`);
    if (!existsSync(p)) continue;
    const rows = rowsInOrder(readJson(p) as Record<string, SeqRow>);
    splits[s] = {
      docs: rows.map((r) => ({ length: r.data.text.length, lfSpans: use.map((j) => (r.weak_labels[j] ?? []).map(toSpan)) })),
      gold: rows.map((r) => r.label.map(toSpan)),
      tokens: rows.map((r) => r.data.text),
    };
  }
  return { kind: 'sequence', name, entityTypes: meta.entity_types, lfNames: use.map((j) => meta.lf[j]!), splits };
}
