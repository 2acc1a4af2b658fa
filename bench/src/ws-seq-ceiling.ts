/**
 * Ceiling analysis of vote-only span label models (no model choice is made here).
 *
 *   npx tsx bench/src/ws-seq-ceiling.ts --split valid|test --data <seq dirs...>
 *
 * For the chosen split: (1) gold spans by how the LFs cover them (exact LF span / only overlapping LF
 * spans / no LF span at all); (2) `ours` (unsupervised, default configuration) P / R / F1; (3) the
 * "pattern oracle": every distinct LF span is a candidate; its pattern = the LFs proposing exactly it,
 * the LFs proposing a different overlapping span, and its length (1, 2, 3, ≥ 4); the oracle accepts a
 * pattern iff its precision ON THIS SPLIT'S GOLD is > 0.5 (the F1-optimal threshold F/2 gives the same
 * sets here). Any label model whose accept decision depends only on a span's votes scores at most the
 * oracle, up to ties. With `--split test` this reads test labels: analysis only, never for selection.
 */
import { entityF1, fitSpanModel, spanKey, type Span, type SpanDoc } from '@refinery/weak-supervision';
import { argList, parseArgs } from './lib/args.ts';
import { loadDataset, type SeqDataset } from './ws-data.ts';


function candidates(doc: SpanDoc): Array<{ s: Span; pat: string }> {
  const c = new Map<string, { s: Span; lfs: number[] }>();
  doc.lfSpans.forEach((l, j) =>
    l.forEach((s) => {
      const k = spanKey(s);
      if (!c.has(k)) c.set(k, { s, lfs: [] });
      c.get(k)!.lfs.push(j);
    }),
  );
  return [...c.values()].map((x) => {
    const over = [...c.values()].filter((o) => o !== x && o.s.start < x.s.end && x.s.start < o.s.end).flatMap((o) => o.lfs);
    return { s: x.s, pat: `${x.lfs.join(',')}|${[...new Set(over)].sort().join(',')}|${Math.min(x.s.end - x.s.start, 4)}` };
  });
}

const args = parseArgs(process.argv.slice(2));
const splitName = argList(args, 'split', ['valid'])[0];
if (splitName !== 'valid' && splitName !== 'test') throw new Error(`--split: valid or test, got ${splitName}`);
const dirs = argList(args, 'data', []);
for (const dir of dirs) {
  const ds = loadDataset(dir) as SeqDataset;
  const { train, valid, test } = ds.splits;
  const split = splitName === 'test' ? test! : valid!;
  const docs = [train, valid, test].filter((s) => s !== undefined).flatMap((s) => s.docs);
  const pred = fitSpanModel('ours', docs, { entityTypes: ds.entityTypes, scheme: 'BIO' }).predict(split.docs).spans;
  const cover = { exact: 0, overlapOnly: 0, none: 0 };
  const stats = new Map<string, [number, number]>();
  const cands = split.docs.map(candidates);
  split.gold.forEach((g, d) => {
    const lf = split.docs[d]!.lfSpans.flat();
    const exact = new Set(lf.map(spanKey));
    for (const s of g) {
      if (exact.has(spanKey(s))) cover.exact++;
      else if (lf.some((l) => l.start < s.end && s.start < l.end)) cover.overlapOnly++;
      else cover.none++;
    }
    const gs = new Set(g.map(spanKey));
    for (const c of cands[d]!) {
      const v = stats.get(c.pat) ?? [0, 0];
      v[0]++;
      if (gs.has(spanKey(c.s))) v[1]++;
      stats.set(c.pat, v);
    }
  });
  const oracle = cands.map((cs) => cs.filter((c) => stats.get(c.pat)![1] / stats.get(c.pat)![0] > 0.5).map((c) => c.s));
  const m = entityF1(split.gold, pred);
  const o = entityF1(split.gold, oracle);
  const nGold = cover.exact + cover.overlapOnly + cover.none;
  const pc = (x: number): string => (100 * x).toFixed(2);
  process.stdout.write(
    `${ds.name} ${splitName}: gold ${nGold} (exact LF span ${cover.exact} = ${pc(cover.exact / nGold)} %, overlapping only ${cover.overlapOnly}, no LF span ${cover.none})\n` +
      `  ours unsup P ${pc(m.precision)} R ${pc(m.recall)} F1 ${pc(m.f1)} | pattern oracle (${stats.size} patterns) P ${pc(o.precision)} R ${pc(o.recall)} F1 ${pc(o.f1)}` +
      ` | perfect precision at the exact-LF recall: F1 ${pc((2 * cover.exact) / (nGold + cover.exact))}\n`,
  );
}
