/**
 * Ceiling analysis of vote-only classification label models (no model choice is made here).
 *
 *   npx tsx bench/src/ws-class-ceiling.ts --split valid|test --data <classification dirs...>
 *
 * Records with the same vote pattern (the set of (LF, label) votes) get the same label from any
 * label model that reads only the label matrix. For the chosen split this prints: the patterns, their
 * gold counts, and the "pattern oracle" — the best score over every per-pattern decision, using THIS
 * SPLIT'S GOLD (accuracy: each pattern's majority; F1 of class 1: the patterns in descending precision,
 * best prefix — optimal because including a pattern helps iff its precision exceeds F1/2). For binary
 * F1 it also prints, per number of true positives, how many false positives a target F1 allows, and
 * which patterns also occur in the valid split with their valid counts (the evidence a model chosen
 * on valid has). With `--split test` this reads test labels: analysis only, never for selection.
 */
import { argList, argNumber, parseArgs } from './lib/args.ts';
import { loadDataset, type ClassDataset, type ClassSplit } from './ws-data.ts';

const args = parseArgs(process.argv.slice(2));
const splitName = argList(args, 'split', ['valid'])[0];
if (splitName !== 'valid' && splitName !== 'test') throw new Error(`--split: valid or test, got ${splitName}`);
const target = args.has('target') ? argNumber(args, 'target', 0) : NaN;
const dirs = argList(args, 'data', []);

type Counts = Map<string, number[]>;

function patterns(split: ClassSplit, K: number): Counts {
  const out: Counts = new Map();
  const { indptr, lfs, labels } = split.matrix;
  for (let i = 0; i < split.matrix.numRecords; i++) {
    const votes: string[] = [];
    for (let k = indptr[i]!; k < indptr[i + 1]!; k++) votes.push(`${lfs[k]}:${labels[k]}`);
    const key = `{${votes.sort().join(' ')}}`;
    if (!out.has(key)) out.set(key, new Array<number>(K).fill(0));
    out.get(key)![split.gold[i]!]!++;
  }
  return out;
}

for (const dir of dirs) {
  const ds = loadDataset(dir) as ClassDataset;
  const split = splitName === 'test' ? ds.splits.test : ds.splits.valid;
  if (ds.kind !== 'classification' || !split) throw new Error(`${dir}: a classification dataset with a ${splitName} split is required`);
  const K = ds.numClasses;
  const pats = patterns(split, K);
  const validPats = splitName === 'test' && ds.splits.valid ? patterns(ds.splits.valid, K) : undefined;
  const n = split.gold.length;
  const rows = [...pats].sort((a, b) => b[1].reduce((x, y) => x + y) - a[1].reduce((x, y) => x + y));
  console.log(`\n## ${ds.name} — ${splitName} split: ${n} records, ${pats.size} vote patterns (gold counts per class ${ds.classNames.join(' / ')})`);
  for (const [p, c] of rows) console.log(`  ${p.padEnd(36)} ${c.join(' / ')}${validPats ? `   valid: ${validPats.get(p)?.join(' / ') ?? '–'}` : ''}`);
  let correct = 0;
  for (const c of pats.values()) correct += Math.max(...c);
  console.log(`pattern oracle accuracy: ${((100 * correct) / n).toFixed(2)}`);
  if (K !== 2) continue;
  // F1 of class 1: include patterns in descending precision, keep the best prefix
  const P = [...pats.values()].reduce((s, c) => s + c[1]!, 0);
  const byPrecision = [...pats].sort((a, b) => b[1][1]! / (b[1][0]! + b[1][1]!) - a[1][1]! / (a[1][0]! + a[1][1]!));
  let tp = 0;
  let fp = 0;
  let best = { f1: 0, tp: 0, fp: 0, k: 0 };
  byPrecision.forEach(([, c], k) => {
    tp += c[1]!;
    fp += c[0]!;
    const f1 = (2 * tp) / (2 * tp + fp + (P - tp));
    if (f1 > best.f1) best = { f1, tp, fp, k: k + 1 };
  });
  console.log(`pattern oracle F1(class 1): ${(100 * best.f1).toFixed(2)} (TP ${best.tp}, FP ${best.fp}, FN ${P - best.tp}; ${best.k} patterns called class 1)`);
  if (Number.isFinite(target)) {
    // F1 = 2TP / (TP + P + FP) ≥ t  ⇔  FP ≤ TP (2 − t) / t − P
    const t = target / 100;
    const uncovered = pats.get('{}')?.[1] ?? 0;
    console.log(`F1 ≥ ${target} with the ${uncovered} class-1 records that have no vote left unlabelled (class 0) — at most ${P - uncovered} true positives:`);
    for (let k = 0; k <= P - uncovered; k++) {
      const maxFp = Math.floor(k * ((2 - t) / t) - P + 1e-9);
      if (maxFp >= 0) console.log(`  TP ${k}: FP ≤ ${maxFp}`);
    }
  }
}
