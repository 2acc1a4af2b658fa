/**
 * Inter-annotator agreement on a dense matrix: `npx tsx bench/src/agreement.bench.ts [-- --items 100000 --annotators 5 --categories 5 --missing 0.2 --runs 5]`.
 *
 * Synthetic data: each item has a true category; each annotator copies it with probability 0.7,
 * otherwise picks uniformly; 20 % of the ratings are missing. One run = all pairwise percent
 * agreement + Cohen's κ, Fleiss' κ and Krippendorff's α (`agreementReport`, per-item counts built
 * once). Matrix generation is outside the timing. Reports the median of `--runs` after one warm-up.
 */
import { agreementReport, MISSING, ratingMatrix } from '@refinery/weak-supervision';
import { argNumber, parseArgs } from './lib/args.ts';
import { machineInfo } from './lib/machine.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const args = parseArgs(process.argv.slice(2));
const items = argNumber(args, 'items', 100_000);
const annotators = argNumber(args, 'annotators', 5);
const k = argNumber(args, 'categories', 5);
const missing = argNumber(args, 'missing', 0.2);
const runs = argNumber(args, 'runs', 5);

const r = rng(42);
const truth = new Int32Array(items);
for (let i = 0; i < items; i++) truth[i] = Math.floor(r() * k);
const codes = new Int32Array(annotators * items);
for (let a = 0; a < annotators; a++) {
  for (let i = 0; i < items; i++) {
    codes[a * items + i] = r() < missing ? MISSING : r() < 0.7 ? truth[i]! : Math.floor(r() * k);
  }
}
const m = ratingMatrix(codes, annotators, items, k);
note(`matrix ${annotators} × ${items}, ${k} categories, ${missing * 100}% missing`);

agreementReport(m); // warm-up
const times: number[] = [];
let report = agreementReport(m);
for (let run = 0; run < runs; run++) {
  const t0 = performance.now();
  report = agreementReport(m);
  times.push(performance.now() - t0);
}
const sorted = [...times].sort((x, y) => x - y);
const median = sorted[Math.floor(sorted.length / 2)]!;
const kappas = report.pairs.map((p) => p.cohenKappa ?? NaN);
const machine = machineInfo();
emitJson({
  bench: 'agreement',
  items,
  annotators,
  categories: k,
  missing,
  runs,
  timesMs: times.map((t) => Math.round(t * 100) / 100),
  medianMs: Math.round(median * 100) / 100,
  pairs: report.pairs.length,
  cohenKappaRange: [Math.min(...kappas), Math.max(...kappas)],
  fleissKappa: report.fleiss.kappa,
  krippendorffAlpha: report.krippendorff.alpha,
  machine,
});
console.log(
  markdownTable(
    ['case', 'median', 'min – max', 'target'],
    [[`${items} items × ${annotators} annotators × ${k} categories, ${missing * 100}% missing: ${report.pairs.length} pairwise κ + Fleiss + α`, `${median.toFixed(1)} ms`, `${sorted[0]!.toFixed(1)} – ${sorted[sorted.length - 1]!.toFixed(1)} ms`, '≤ 1 s']],
  ),
);
