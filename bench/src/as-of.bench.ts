/**
 * "As of" a point in a product-shaped log (docs/audit.md, bench/results/audit-*.md).
 *
 *   npm run bench:as-of
 *   npm run bench:as-of -- --events 1000000 --records 100000 --annotators 20 --other-share 0.1 --backend postgres --points 0.5,1
 *   … --vacuum   (vacuum (analyze) the filled log before timing, as a live log would have been)
 *
 * Fills the log (bench/src/lib/audit-log.ts), then opens `openAsOf` for the bench project at each
 * point (a fraction of the log, by time) — a disposable database with every read model (a schema of
 * its own on the server backend, in-memory PGlite otherwise), the project's events replayed into
 * it — and times it from the call until the view is ready (no
 * cache hit: every point is a different position). Target: ≤ 30 s in a 1M-event log.
 */
import { PostgresEventStore, catalog } from '@refinery/events';
import { closeAsOfViews, openAsOf } from '@refinery/audit';
import { waitForHead } from '@refinery/audit';
import { argList, argNumber, argNumbers, parseArgs } from './lib/args.ts';
import { BENCH_PROJECT, fillAuditLog } from './lib/audit-log.ts';
import { openBenchDatabase, serverSettings, type BackendName } from './lib/databases.ts';
import { loadavg, machineInfo } from './lib/machine.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { fmt, round } from './lib/stats.ts';
import { SqlArtifactStore } from '@refinery/events';

const TARGET_SECONDS = 30;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const events = argNumber(args, 'events', 1_000_000);
  const records = argNumber(args, 'records', 100_000);
  const annotators = argNumber(args, 'annotators', 20);
  const otherShare = argNumber(args, 'other-share', 0.1);
  const points = argNumbers(args, 'points', [0.5, 1]);
  const backend = argList(args, 'backend', ['postgres'])[0] as BackendName;
  note(`machine: ${JSON.stringify(machineInfo())}`);
  if (backend === 'postgres') note(`server: ${JSON.stringify(await serverSettings())}`);
  const bench = await openBenchDatabase(backend, { maxConnections: 10 });
  const rows: (string | number)[][] = [];
  try {
    note(`filling ${fmt(events)} events …`);
    const filled = await fillAuditLog(bench.db, { events, records, annotators, otherShare });
    note(`filled in ${round(filled.seconds, 1)} s: ${JSON.stringify(filled.byType)}`);
    const store = await PostgresEventStore.open(bench.db, { catalog });
    // The head stays below transactions open anywhere on a shared server: wait until it covers the fill.
    const lastRow = await bench.db.query<{ p: string }>(`select tx_id::text || '/' || position::text as p from events order by tx_id desc, position desc limit 1`);
    if (!(await waitForHead(store, lastRow.rows[0]!.p, 600_000))) throw new Error('the log head did not reach the filled events within 10 minutes');
    if (args.has('vacuum') && backend === 'postgres') {
      // A live log has been read (hint bits set) and vacuumed long before anyone rebuilds from it;
      // a freshly filled one gets both during the timed run (autovacuum starts on the 1M inserts).
      const v0 = performance.now();
      await bench.db.exec('vacuum (analyze) events');
      note(`vacuum (analyze) events: ${round((performance.now() - v0) / 1000, 1)} s (--vacuum)`);
    }
    const source = { store, db: bench.db, artifacts: new SqlArtifactStore(bench.db) };
    const first = Date.parse(filled.firstAt);
    const last = Date.parse(filled.lastAt);
    for (const fraction of points) {
      const time = new Date(first + (last - first) * fraction).toISOString();
      let replayed = 0;
      const t0 = performance.now();
      const view = await openAsOf(source, BENCH_PROJECT, { time }, { onProgress: (n) => (replayed = n) });
      const seconds = (performance.now() - t0) / 1000;
      const labels = await view.db.query<{ n: number }>(`select count(*)::int as n from rm_record_labels where source = 'manual'`);
      await view.close();
      await closeAsOfViews(store); // the next point measures a cold view, and memory is returned
      const met = seconds <= TARGET_SECONDS;
      emitJson({ bench: 'as-of', backend, events: filled.events, fraction, time, position: view.position, replayed, seconds: round(seconds, 1), manualLabelRows: labels.rows[0]!.n, load: loadavg(), met });
      rows.push([fraction, view.position, fmt(replayed), round(seconds, 1), fmt(replayed / seconds), met ? 'met' : 'NOT met']);
      note(`  as of ${fraction} of the log: ${round(seconds, 1)} s, ${fmt(replayed)} events replayed`);
    }
    await store.close();
    console.log(`\nAs-of views of the bench project in a ${fmt(filled.events)}-event log on ${backend} (target ≤ ${TARGET_SECONDS} s)\n`);
    console.log(markdownTable(['point (fraction of the log)', 'position', 'events replayed', 'seconds', 'events/s', 'target'], rows));
  } finally {
    await bench.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
