/**
 * Weak-supervision label-model benchmark.
 *
 *   npm run bench:ws -- --data /work/shared/ws-data/youtube /work/shared/ws-data/sms ...
 *   npm run bench:ws -- --speed [--records 1000000 --lfs 50 --classes 5 --coverage 0.1] [--lf-shape any|one-class]
 *     --lf-shape any (default): each LF may vote any class; one-class: LF j votes only class j mod K, like
 *     keyword rules (4 × as often on its class's records as on others, on `coverage` of all records) — the case
 *     `ours` fits with its class-level coverage model
 *   options: --models ours,mv,refinery,ds   --modes unsupervised,semi
 *            --bootstrap 1000   adds "ci95": [lo, hi], a percentile bootstrap interval of `value` over the
 *                               test records (documents for sequences) — how much the score can move by
 *                               which records happen to be in the test split
 *
 * Prints one JSON line per dataset × model × mode (see docs/weak-supervision.md).
 */
import {
  accuracy,
  binaryF1,
  concatRows,
  entityF1,
  expectedCalibrationError,
  fitLabelModel,
  fitSpanModel,
  fitTextModel,
  applySpanText,
  spansToBio,
  labelMatrixFromCsr,
  matrixByteSize,
  type ModelKind,
  seededRandom,
} from '@refinery/weak-supervision';
import { loadDataset, type ClassDataset, type SeqDataset } from './ws-data.ts';
import { argList, argNumber, parseArgs } from './lib/args.ts';
import { bootstrapInterval, pick } from './lib/bootstrap.ts';

type Mode = 'unsupervised' | 'semi';
/** 'ours+text' = the label model 'ours' followed by a bag-of-words end model on the record TEXT (separate on purpose). */
type BenchModel = ModelKind | 'ours+text';

const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;

function emit(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

/** Resamples for the optional bootstrap interval (`--bootstrap N`; 0 = off, the default). */
let bootstrapResamples = 0;

/** `{ ci95: [lo, hi] }` in percent of a metric over n test units, or nothing when the bootstrap is off. */
function interval(n: number, metric: (sample: Int32Array) => number): { ci95?: [number, number] } {
  if (bootstrapResamples <= 0) return {};
  const [lo, hi] = bootstrapInterval(n, metric, bootstrapResamples);
  return { ci95: [round(100 * lo, 2), round(100 * hi, 2)] };
}

function runClassification(ds: ClassDataset, models: BenchModel[], modes: Mode[]): void {
  const { train, valid, test } = ds.splits;
  if (!test) throw new Error(`${ds.name}: no test split`);
  // unsupervised fit set: every split's weak labels (train + valid + test; SMS: valid + test), no gold
  const parts = [train, valid, test].filter((s) => s !== undefined);
  const all = concatRows(parts.map((s) => s.matrix));
  const testOffset = all.numRecords - test.matrix.numRecords;
  const validOffset = valid ? (train ? train.matrix.numRecords : 0) : -1;
  const K = ds.numClasses;
  for (const mode of modes) {
    let manual: Int32Array | undefined;
    if (mode === 'semi') {
      if (!valid) continue;
      manual = new Int32Array(all.numRecords).fill(-1);
      manual.set(valid.gold, validOffset);
    }
    const hasText = parts.every((s) => s.texts !== undefined);
    for (const kind of models) {
      if (kind === 'ours+text' && !hasText) continue; // no record text in this dataset
      const t0 = performance.now();
      let pred;
      if (kind === 'ours+text') {
        const lm = fitLabelModel('ours', all, { numClasses: K, ...(manual ? { manualLabels: manual } : {}) });
        const tm = fitTextModel(parts.flatMap((s) => s.texts!), lm.predict().probs, { numClasses: K, ...(manual ? { manualLabels: manual } : {}) });
        pred = tm.predict(test.texts!);
      } else {
        const model = fitLabelModel(kind, all, { numClasses: K, ...(manual ? { manualLabels: manual } : {}) });
        pred = model.predict(test.matrix);
      }
      const fitMs = performance.now() - t0;
      void testOffset;
      // coverage: share of test records that get a label from LF evidence
      let covered = 0;
      for (let i = 0; i < test.matrix.numRecords; i++) {
        if (kind === 'refinery') covered += pred.labels[i]! >= 0 ? 1 : 0;
        else covered += test.matrix.indptr[i + 1]! > test.matrix.indptr[i]! ? 1 : 0;
      }
      const base = {
        dataset: ds.name,
        task: K === 2 ? 'binary' : 'multiclass',
        model: kind,
        mode,
        coverage: round(covered / test.matrix.numRecords),
        ece: round(expectedCalibrationError(test.gold, pred.labels, pred.confidence)),
        fit_ms: round(fitMs, 1),
      };
      const acc = accuracy(test.gold, pred.labels);
      const n = test.gold.length;
      const ciAcc = interval(n, (s) => accuracy(pick(test.gold, s), pick(pred.labels, s)));
      emit({ dataset: base.dataset, task: base.task, metric: 'accuracy', model: kind, mode, value: round(100 * acc, 2), coverage: base.coverage, ece: base.ece, fit_ms: base.fit_ms, ...ciAcc });
      if (K === 2) {
        const f = binaryF1(test.gold, pred.labels, 1);
        const ciF1 = interval(n, (s) => binaryF1(pick(test.gold, s), pick(pred.labels, s), 1).f1);
        emit({ dataset: base.dataset, task: base.task, metric: 'f1', model: kind, mode, value: round(100 * f.f1, 2), coverage: base.coverage, ece: base.ece, fit_ms: base.fit_ms, ...ciF1 });
      }
    }
  }
}

function runSequence(ds: SeqDataset, models: BenchModel[], modes: Mode[]): void {
  const { train, valid, test } = ds.splits;
  if (!test) throw new Error(`${ds.name}: no test split`);
  const parts = [train, valid, test].filter((s) => s !== undefined);
  const docs = parts.flatMap((s) => s.docs);
  const validOffset = train ? train.docs.length : 0;
  // token-level coverage of the test split: tokens where some LF tags an entity
  let tokens = 0;
  let coveredTokens = 0;
  for (const d of test.docs) {
    const cov = new Uint8Array(d.length);
    for (const spans of d.lfSpans) for (const s of spans) for (let t = Math.max(0, s.start); t < Math.min(d.length, s.end); t++) cov[t] = 1;
    tokens += d.length;
    for (let t = 0; t < d.length; t++) coveredTokens += cov[t]!;
  }
  const goldTags = test.docs.map((d, i) => spansToBio(test.gold[i]!, d.length, ds.entityTypes, 'BIO'));
  for (const mode of modes) {
    let manualSpans: Array<typeof test.gold[number] | null> | undefined;
    if (mode === 'semi') {
      if (!valid) continue;
      manualSpans = docs.map(() => null);
      valid.gold.forEach((g, i) => (manualSpans![validOffset + i] = g));
    }
    for (const kind of models) {
      // spans 'ours+text': gazetteer of the manual spans' token strings after 'ours' (span-text.ts);
      // without manual spans it is 'ours' itself, so it is reported in semi mode only
      if (kind === 'ours+text' && !manualSpans) continue;
      const t0 = performance.now();
      const model = fitSpanModel(kind === 'ours+text' ? 'ours' : kind, docs, { entityTypes: ds.entityTypes, scheme: 'BIO', ...(manualSpans ? { manualSpans } : {}) });
      const pred = model.predict(test.docs);
      if (kind === 'ours+text') {
        const testOffset = docs.length - test.docs.length;
        const base = docs.map((_, i) => (i < testOffset ? [] : pred.spans[i - testOffset]!));
        const withText = applySpanText(parts.flatMap((s) => s.tokens), base, manualSpans);
        pred.spans = withText.slice(testOffset);
        pred.tags = pred.spans.map((sp, d) => spansToBio(sp, test.docs[d]!.length, ds.entityTypes, 'BIO'));
      }
      const fitMs = performance.now() - t0;
      const f = entityF1(test.gold, pred.spans);
      // token-level ECE of the predicted tag
      const g: number[] = [];
      const p: number[] = [];
      const c: number[] = [];
      pred.tags.forEach((tags, d) => {
        for (let t = 0; t < tags.length; t++) {
          g.push(goldTags[d]![t]!);
          p.push(tags[t]!);
          c.push(pred.tokenConfidence[d]![t]!);
        }
      });
      emit({
        dataset: ds.name,
        task: 'sequence',
        metric: 'entity_f1',
        model: kind,
        mode,
        value: round(100 * f.f1, 2),
        coverage: round(coveredTokens / Math.max(tokens, 1)),
        // ours+text spans have no token probabilities of their own: no ECE
        ece: kind === 'ours+text' ? null : round(expectedCalibrationError(g, p, c)),
        fit_ms: round(fitMs, 1),
        ...interval(test.gold.length, (s) => entityF1(pick(test.gold, s), pick(pred.spans, s)).f1),
      });
    }
  }
}

/** Deterministic xorshift32 PRNG. */
const rng = seededRandom;

function runSpeed(n: number, M: number, K: number, cov: number, models: ModelKind[], oneClass: boolean): void {
  // synthetic data: latent class uniform; 'any': each LF fires with probability `cov` and is right with
  // probability 0.55–0.95; one-class: LF j votes class j mod K, 4 × as often on that class's records as
  // on the others, on `cov` of all records (the same expected number of votes as 'any')
  const rand = rng(12345);
  const fireOwn = oneClass ? (cov * K) / (1 + (K - 1) / 4) : cov;
  const gold = new Int32Array(n);
  const indptr = new Int32Array(n + 1);
  const cap = Math.ceil(n * M * cov * 1.05) + 1024;
  let lfs = new Int32Array(cap);
  let labels = new Int32Array(cap);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const y = Math.floor(rand() * K);
    gold[i] = y;
    for (let j = 0; j < M; j++) {
      let l = y;
      if (oneClass) {
        l = j % K;
        if (rand() >= (l === y ? fireOwn : fireOwn / 4)) continue;
      } else {
        if (rand() >= cov) continue;
        const acc = 0.55 + (0.4 * j) / M;
        if (rand() >= acc) l = (y + 1 + Math.floor(rand() * (K - 1))) % K;
      }
      if (k === lfs.length) {
        const nl = new Int32Array(lfs.length * 2);
        nl.set(lfs);
        lfs = nl;
        const nb = new Int32Array(labels.length * 2);
        nb.set(labels);
        labels = nb;
      }
      lfs[k] = j;
      labels[k] = l;
      k++;
    }
    indptr[i + 1] = k;
  }
  const matrix = labelMatrixFromCsr(n, M, indptr, lfs.slice(0, k), labels.slice(0, k));
  lfs = new Int32Array(0);
  labels = new Int32Array(0);
  const bytes = matrixByteSize(matrix);
  const gc = (globalThis as { gc?: () => void }).gc;
  for (const kind of models) {
    gc?.();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakAb = before.arrayBuffers;
    const sample = (): void => {
      const u = process.memoryUsage();
      peakHeap = Math.max(peakHeap, u.heapUsed);
      peakAb = Math.max(peakAb, u.arrayBuffers);
    };
    const t0 = performance.now();
    const model = fitLabelModel(kind, matrix, { numClasses: K });
    sample();
    const pred = model.predict();
    const ms = performance.now() - t0;
    sample();
    // bytes the fit + predict keep alive: the prediction's own arrays (params are O(LFs × K²))
    const outputBytes = pred.labels.byteLength + pred.probs.byteLength + pred.confidence.byteLength;
    const measured = peakHeap - before.heapUsed + (peakAb - before.arrayBuffers);
    emit({
      dataset: `synthetic-${n}x${M}x${K}@${cov}${oneClass ? '-one-class' : ''}`,
      task: 'speed',
      metric: 'accuracy',
      model: kind,
      mode: 'unsupervised',
      value: round(100 * accuracy(gold, pred.labels), 2),
      coverage: round(cov, 4),
      ece: round(expectedCalibrationError(gold, pred.labels, pred.confidence)),
      fit_ms: round(ms, 1),
      matrix_bytes: bytes,
      output_bytes: outputBytes,
      mem_delta_bytes: measured,
      mem_ratio: round(Math.max(measured, outputBytes) / bytes, 3),
      gc_exposed: gc !== undefined,
    });
  }
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const models = argList(args, 'models', ['ours', 'mv', 'refinery', 'ds', 'ours+text']) as BenchModel[];
  const modes = argList(args, 'modes', ['unsupervised', 'semi']) as Mode[];
  bootstrapResamples = argNumber(args, 'bootstrap', 0);
  if (!Number.isInteger(bootstrapResamples) || bootstrapResamples < 0) throw new Error(`--bootstrap: expected a whole number of resamples ≥ 0, got ${bootstrapResamples}`);
  if (args.has('speed')) {
    const shape = args.get('lf-shape')?.[0] ?? 'any';
    if (shape !== 'any' && shape !== 'one-class') throw new Error(`--lf-shape: expected any or one-class, got ${shape}`);
    runSpeed(argNumber(args, 'records', 1_000_000), argNumber(args, 'lfs', 50), argNumber(args, 'classes', 5), argNumber(args, 'coverage', 0.1), args.get('models') ? models.filter((m): m is ModelKind => m !== 'ours+text') : ['ours'], shape === 'one-class');
  }
  for (const dir of args.get('data') ?? []) {
    const ds = loadDataset(dir);
    if (ds.kind === 'classification') runClassification(ds, models, modes);
    else runSequence(ds, models, modes);
  }
  if (!args.has('speed') && !args.has('data')) {
    process.stderr.write('usage: npm run bench:ws -- --data <folder>... | --speed\n');
    process.exitCode = 2;
  }
}

main();
