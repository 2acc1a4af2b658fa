/**
 * Export of 1M records to JSONL: `npm run bench:export [-- --backends postgres --records 1000000]`.
 *
 * Loads the read models by SQL (the same data as browser.bench.ts), then runs the export
 * pipeline of GET /export (`exportPlan` + `exportRows` in keyset pages of 1,000, one JSON line
 * per record) into a file stream with backpressure, measuring wall time and peak RSS.
 */
import { createWriteStream, statSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPlan, exportRows, loadBrowseContext } from '@refinery/read-models';
import { argList, argNumber, parseArgs } from './lib/args.ts';
import { openBenchDatabase, serverSettings, serverUnreachable, type BackendName } from './lib/databases.ts';
import { machineInfo } from './lib/machine.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { loadBrowserData } from './browser.bench.ts';

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const backends = argList(args, 'backends', ['postgres']) as BackendName[];
  const records = argNumber(args, 'records', 1_000_000);
  emitJson({ bench: 'export', machine: machineInfo(), records });
  const rows: (string | number)[][] = [];
  for (const backend of backends) {
    if (backend === 'postgres') {
      const why = await serverUnreachable();
      if (why) {
        note(`SKIPPED postgres: ${why}`);
        continue;
      }
      emitJson({ backend, server: await serverSettings() });
    }
    const bench = await openBenchDatabase(backend);
    const file = join(tmpdir(), `refinery-export-${process.pid}.jsonl`);
    try {
      note(`${backend}: loading ${records} records by SQL`);
      const { projectId } = await loadBrowserData(bench.db, records);
      const ctx = (await loadBrowseContext(bench.db, projectId))!;
      const plan = await exportPlan(bench.db, ctx);
      const rssBefore = process.memoryUsage().rss;
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
      const out = createWriteStream(file);
      const t = performance.now();
      let count = 0;
      for await (const page of exportRows(bench.db, ctx, plan, { filter: null }, { timeoutMs: 60_000 })) {
        let chunk = '';
        for (const row of page) chunk += `${JSON.stringify(row)}\n`;
        count += page.length;
        if (!out.write(chunk)) await once(out, 'drain');
        if (count % 200_000 === 0) note(`  ${count} records, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
      }
      out.end();
      await once(out, 'finish');
      const seconds = (performance.now() - t) / 1000;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      const bytes = statSync(file).size;
      emitJson({ backend, records: count, seconds, bytes, peakRssMb: peak / 2 ** 20, rssBeforeMb: rssBefore / 2 ** 20 });
      rows.push([backend, count, seconds.toFixed(1), Math.round(count / seconds), (bytes / 2 ** 20).toFixed(0), (rssBefore / 2 ** 20).toFixed(0), (peak / 2 ** 20).toFixed(0)]);
    } finally {
      rmSync(file, { force: true });
      await bench.dispose();
    }
  }
  process.stdout.write(`\n${markdownTable(['backend', 'records', 'seconds', 'records/s', 'file MB', 'RSS before MB', 'peak RSS MB'], rows)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
