/**
 * Micro benchmark: 1M records (~200 bytes each) as JSONL, CSV and a JSON array, generated in memory;
 * measures pass 1 (analyzeImport) and pass 2 (readRecords, consuming batches) time and peak RSS.
 *
 *   npx tsx libs/importing/bench/parse.bench.ts [records]
 */
import { analyzeImport, readRecords } from '../src/index.ts';
import type { ImportFormat } from '../src/index.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const LABELS = ['positive', 'negative', 'neutral', 'mixed', 'unclear'];
const TEXT =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna';

function generate(format: ImportFormat): Buffer {
  const parts: string[] = [];
  if (format === 'csv') parts.push('id,text,label,score,flag\n');
  if (format === 'json') parts.push('[\n');
  for (let i = 0; i < N; i++) {
    const text = `${TEXT} #${i}`;
    const label = LABELS[i % 5]!;
    const score = (i / 7).toFixed(3);
    const flag = i % 2 === 0;
    if (format === 'csv') parts.push(`${i},"${text}, ${TEXT.slice(0, 50)}",${label},${score},${flag}\n`);
    else parts.push(`${JSON.stringify({ id: `r-${i}`, text, label, score: Number(score), flag })}${format === 'json' ? (i === N - 1 ? '\n' : ',\n') : '\n'}`);
  }
  if (format === 'json') parts.push(']\n');
  return Buffer.from(parts.join(''));
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;

for (const format of ['jsonl', 'csv', 'json'] as const) {
  const bytes = generate(format);
  global.gc?.();
  peakRss = process.memoryUsage().rss;
  const before = peakRss;
  const t0 = performance.now();
  const plan = await analyzeImport(bytes, { format, primaryKey: 'id' });
  const t1 = performance.now();
  let records = 0;
  for await (const batch of readRecords(bytes, plan)) records += batch.length;
  const t2 = performance.now();
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  console.log(
    `${format.padEnd(5)} ${mb(bytes.length).padStart(7)} ${records} records  analyze ${((t1 - t0) / 1000).toFixed(2)} s  read ${((t2 - t1) / 1000).toFixed(2)} s  total ${((t2 - t0) / 1000).toFixed(2)} s  rss before ${mb(before)}, peak ${mb(peakRss)}`,
  );
  console.log(`      types: ${plan.attributes.map((a) => `${a.name}:${a.type}`).join(' ')}`);
}
clearInterval(sampler);
