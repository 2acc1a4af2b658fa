/**
 * Choosing defaults of the label model 'ours' WITHOUT test labels: scores on the VALID split only.
 *
 *   npx tsx bench/src/ws-tune.ts --data <dirs...> [--set key=value ...] [--modes unsupervised,semi] [--models ours]
 *
 *  - unsupervised: fit on the weak labels of all splits (no gold), score the valid split.
 *  - semi: 5-fold cross-validation over the valid split — the valid gold labels outside fold f are the
 *    manual labels, fold f is scored; the folds' predictions are pooled into one valid score.
 * `--models ours+text` (sequences, semi only): the text end model of span-text.ts after 'ours'.
 * `--set key=value` overrides a field of OURS_DEFAULTS or SPAN_DEFAULTS (experiments only); lists as
 * `key=[a,b]` (e.g. `semiCoverages=[lf,class]`, `residualLambdas=[Infinity,10,1]`).
 * Classification figures: the metric (YouTube accuracy, SMS spam F1), ECE (10 bins) and mean log-loss.
 * Test labels are never read for scoring here.
 */
import { OURS_DEFAULTS, SPAN_DEFAULTS, accuracy, expectedCalibrationError, applySpanText, binaryF1, concatRows, entityF1, fitLabelModel, fitSpanModel, type ModelKind, type Span } from '@refinery/weak-supervision';
import { loadDataset, type ClassDataset, type SeqDataset } from './ws-data.ts';

const FOLDS = 5;

function parseArgs(argv: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let key = '';
  for (const a of argv) {
    if (a.startsWith('--')) {
      key = a.slice(2);
      if (!out.has(key)) out.set(key, []);
    } else if (key) out.get(key)!.push(a);
  }
  return out;
}

function applySet(kv: string): void {
  const [k, v] = kv.split('=') as [string, string];
  const scalar = (x: string): unknown => (x === 'true' ? true : x === 'false' ? false : Number.isNaN(Number(x)) ? x : Number(x));
  // lists: key=[a,b,c] (numbers incl. Infinity, or strings)
  const val: unknown = v.startsWith('[') && v.endsWith(']') ? v.slice(1, -1).split(',').filter((x) => x !== '').map(scalar) : scalar(v);
  let hit = false;
  for (const d of [OURS_DEFAULTS, SPAN_DEFAULTS] as Array<Record<string, unknown>>) {
    if (k in d) {
      d[k] = val;
      hit = true;
    }
  }
  if (!hit) throw new Error(`unknown default ${k}`);
}

/** Valid figures of a classification fit: the dataset's metric, ECE (10 bins) and mean log-loss. */
interface ClassFigures {
  metric: number;
  ece: number;
  logLoss: number;
}

function classValid(ds: ClassDataset, kind: ModelKind, mode: string): ClassFigures {
  const { train, valid, test } = ds.splits;
  if (!valid) return { metric: NaN, ece: NaN, logLoss: NaN };
  const parts = [train, valid, test].filter((s) => s !== undefined);
  const all = concatRows(parts.map((s) => s.matrix));
  const vOff = train ? train.matrix.numRecords : 0;
  const K = ds.numClasses;
  const nv = valid.gold.length;
  const pred = new Int32Array(nv);
  const probs = new Float64Array(nv * K);
  if (mode === 'unsupervised') {
    const m = fitLabelModel(kind, all, { numClasses: K });
    const p = m.predict(valid.matrix);
    pred.set(p.labels);
    probs.set(p.probs);
  } else {
    for (let f = 0; f < FOLDS; f++) {
      const manual = new Int32Array(all.numRecords).fill(-1);
      for (let i = 0; i < nv; i++) if (i % FOLDS !== f) manual[vOff + i] = valid.gold[i]!;
      const m = fitLabelModel(kind, all, { numClasses: K, manualLabels: manual });
      const p = m.predict(valid.matrix);
      for (let i = f; i < nv; i += FOLDS) {
        pred[i] = p.labels[i]!;
        probs.set(p.probs.subarray(i * K, i * K + K), i * K);
      }
    }
  }
  const confidence = Float64Array.from(pred, (y, i) => (y >= 0 ? probs[i * K + y]! : 0));
  let logLoss = 0;
  for (let i = 0; i < nv; i++) logLoss -= Math.log(Math.max(1e-12, probs[i * K + valid.gold[i]!]!));
  return {
    metric: K === 2 && ds.name.includes('sms') ? 100 * binaryF1(valid.gold, pred, 1).f1 : 100 * accuracy(valid.gold, pred),
    ece: expectedCalibrationError(valid.gold, pred, confidence),
    logLoss: logLoss / nv,
  };
}

function seqValid(ds: SeqDataset, kind: ModelKind, mode: string): number {
  const { train, valid, test } = ds.splits;
  if (!valid) return NaN;
  const parts = [train, valid, test].filter((s) => s !== undefined);
  const docs = parts.flatMap((s) => s.docs);
  const vOff = train ? train.docs.length : 0;
  const nv = valid.docs.length;
  const pred: Span[][] = new Array(nv);
  if (mode === 'unsupervised') {
    if (kind === ('ours+text' as ModelKind)) return NaN; // = ours without manual spans
    const m = fitSpanModel(kind, docs, { entityTypes: ds.entityTypes, scheme: 'BIO' });
    m.predict(valid.docs).spans.forEach((s, i) => (pred[i] = s));
  } else {
    for (let f = 0; f < FOLDS; f++) {
      const manualSpans: Array<Span[] | null> = docs.map(() => null);
      for (let i = 0; i < nv; i++) if (i % FOLDS !== f) manualSpans[vOff + i] = valid.gold[i]!;
      const m = fitSpanModel(kind === ('ours+text' as ModelKind) ? 'ours' : kind, docs, { entityTypes: ds.entityTypes, scheme: 'BIO', manualSpans });
      let p = m.predict(valid.docs).spans;
      if (kind === ('ours+text' as ModelKind)) {
        // text end model (span-text.ts): gazetteer of the other folds' gold strings; needs the fitted docs' predictions
        p = applySpanText(parts.flatMap((s) => s.tokens), m.predict().spans, manualSpans).slice(vOff, vOff + nv);
      }
      for (let i = f; i < nv; i += FOLDS) pred[i] = p[i]!;
    }
  }
  return 100 * entityF1(valid.gold, pred).f1;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  for (const kv of args.get('set') ?? []) applySet(kv);
  const models = (args.get('models')?.[0]?.split(',') ?? ['ours']) as ModelKind[];
  const modes = args.get('modes')?.[0]?.split(',') ?? ['unsupervised', 'semi'];
  const row: string[] = [];
  for (const dir of args.get('data') ?? []) {
    const ds = loadDataset(dir);
    for (const kind of models) {
      for (const mode of modes) {
        const tag = `${ds.name}/${kind}/${mode === 'semi' ? 'semiCV' : 'unsup'}`;
        if (ds.kind === 'classification') {
          const v = classValid(ds, kind, mode);
          row.push(`${tag}=${v.metric.toFixed(2)} (ECE ${v.ece.toFixed(3)}, log-loss ${v.logLoss.toFixed(3)})`);
        } else row.push(`${tag}=${seqValid(ds, kind, mode).toFixed(2)}`);
      }
    }
  }
  process.stdout.write(`${(args.get('set') ?? []).join(' ') || '(defaults)'}\t${row.join('  ')}\n`);
}

main();
