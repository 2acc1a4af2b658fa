/**
 * Rebuild every read model from a product-shaped log (docs/audit.md, bench/results/audit-*.md).
 *
 *   npm run bench:rebuild
 *   npm run bench:rebuild -- --events 1000000 --records 100000 --annotators 20 --other-share 0.1 --backend postgres
 *   npm run bench:rebuild -- --events 100000 --only audit_history   (one read model alone: its own throughput)
 *   npm run bench:rebuild -- --events 1000000 --records 100000 --vacuum   (vacuum (analyze) the filled log before timing)
 *   env: BENCH_DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/refinery_test); a fresh
 *        database refinery_bench_<random> is created and dropped.
 *
 * Fills the log (bench/src/lib/audit-log.ts), then runs `rebuildReadModels(…, 'all')` — the same
 * code as `refinery replay --all`: every read model of the product (allProjections + the audit
 * timeline) marked stale and replayed by the projector's runner — and times it until every one
 * has reached the head. Target: ≤ 60 s for 1M events on the PostgreSQL server.
 */
import { PostgresEventStore, catalog } from '@refinery/events';
import { productProjections, rebuildReadModels } from '@refinery/audit';
import { waitForHead } from '@refinery/audit';
import { argList, argNumber, parseArgs } from './lib/args.ts';
import { fillAuditLog } from './lib/audit-log.ts';
import { openBenchDatabase, serverSettings, type BackendName } from './lib/databases.ts';
import { loadavg, machineInfo } from './lib/machine.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { fmt, round } from './lib/stats.ts';

const TARGET_SECONDS = 60;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const events = argNumber(args, 'events', 1_000_000);
  const records = argNumber(args, 'records', 100_000);
  const annotators = argNumber(args, 'annotators', 20);
  const otherShare = argNumber(args, 'other-share', 0.1);
  const backend = argList(args, 'backend', ['postgres'])[0] as BackendName;
  const only = argList(args, 'only', []);
  note(`machine: ${JSON.stringify(machineInfo())}`);
  if (backend === 'postgres') note(`server: ${JSON.stringify(await serverSettings())}`);
  const bench = await openBenchDatabase(backend, { maxConnections: 20 });
  try {
    note(`filling ${fmt(events)} events (${fmt(records)} records, ${annotators} annotators) …`);
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
    const load0 = loadavg();
    const t0 = performance.now();
    const results = await rebuildReadModels({ db: bench.db, store }, only.length ? only : 'all', {
      onProgress: (p) => note(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${p.map((x) => `${x.name} ${x.done ? 'done' : `${(x.fraction * 100).toFixed(0)}%`}`).join(', ')}`),
      progressEveryMs: 10_000,
    });
    const seconds = (performance.now() - t0) / 1000;
    await store.close();
    const met = seconds <= TARGET_SECONDS;
    emitJson({ bench: 'rebuild', backend, only, events: filled.events, records, annotators, otherShare, seconds: round(seconds, 1), perProjection: results, loadBefore: load0, loadAfter: loadavg(), met });
    console.log(`\nRebuild of ${only.length ? only.join(', ') : `every read model (${productProjections.length})`} from ${fmt(filled.events)} events on ${backend}: ${round(seconds, 1)} s (${fmt(filled.events / seconds)} events/s); target ≤ ${TARGET_SECONDS} s: ${met ? 'met' : 'NOT met'}\n`);
    console.log(markdownTable(['read model', 'seconds until at head'], results.map((r) => [r.name, round(r.seconds, 1)])));
  } finally {
    await bench.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
