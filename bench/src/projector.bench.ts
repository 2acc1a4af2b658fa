/**
 * Projector catch-up (rebuild) throughput.
 *
 *   npm run bench:projector
 *   npm run bench:projector -- --backends postgres --events 1000000 --batch-sizes 200,1000,5000 --reps 1
 *   options: --backends postgres,pglite-disk[,pglite-mem]   --events 1000000 (server log size)
 *            --pglite-events 200000 (PGlite log size)   --batch-sizes 200,1000,5000   --reps 1
 *            --append-batch 1000   --writers 4 (filling the log)   --streams 1000   --pool 10
 *            --profile (time each SQL statement of the catch-up)   --analyze (ANALYZE events after filling)
 *   env: BENCH_DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/refinery_test);
 *        a fresh database refinery_bench_<random> per backend, dropped afterwards.
 *
 * Fills a log through EventStore.append (batches of --append-batch, exact expected revisions),
 * then for each projection batch size starts a ProjectionRunner on an empty read model and
 * times it from start() until CatchUpWaiter reports the checkpoint at the log head.
 * stdout: JSON lines, then a markdown table; progress goes to stderr.
 */
import { PostgresEventStore, type NewEvent, type SqlDatabase } from '@refinery/events';
import { CatchUpWaiter, ProjectionRunner } from '@refinery/projector';
import { argList, argNumber, argNumbers, parseArgs } from './lib/args.ts';
import { benchDatabaseUrl, openBenchDatabase, serverSettings, serverUnreachable, type BackendName } from './lib/databases.ts';
import { benchCatalog, labelEventFactory, sampleDataBytes, type BenchLabelAssigned } from './lib/events.ts';
import { labelProjection } from './lib/label-projection.ts';
import { loadavg, machineInfo } from './lib/machine.ts';
import { QueryProfiler } from './lib/profile.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { fmt, round, summarize } from './lib/stats.ts';

const TARGET_SERVER = 20_000;
const BACKENDS: readonly BackendName[] = ['postgres', 'pglite-disk', 'pglite-mem'];

async function fill(db: SqlDatabase, events: number, appendBatch: number, writers: number, streams: number): Promise<number> {
  const store = await PostgresEventStore.open(db, { catalog: benchCatalog });
  const appends = Math.ceil(events / appendBatch);
  const makeEvent = labelEventFactory();
  let n = 0;
  let next = 0;
  const revisions = new Map<string, bigint>();
  const t0 = performance.now();
  let lastNote = t0;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const streamsPerWriter = Math.max(1, Math.floor(streams / writers));
      for (let own = 0; ; own++) {
        const i = next++;
        if (i >= appends) return;
        // each writer appends to streams of its own, round-robin
        const streamId = `labels:w${w}:s${own % streamsPerWriter}`;
        const current = revisions.get(streamId);
        const batch: NewEvent<BenchLabelAssigned>[] = Array.from({ length: Math.min(appendBatch, events - i * appendBatch) }, () => makeEvent(n++));
        const r = await store.append(streamId, batch, { actor: 'bench', expectedRevision: current ?? 'no_stream' });
        revisions.set(streamId, r.revision);
        if (performance.now() - lastNote > 10_000) {
          lastNote = performance.now();
          note(`  filled ${fmt(n)} / ${fmt(events)}`);
        }
      }
    }),
  );
  const ms = performance.now() - t0;
  await store.close();
  return (events / ms) * 1000;
}

interface CatchUp {
  ms: number;
  eventsPerSec: number;
  batches: number;
}

async function catchUp(db: SqlDatabase, events: number, batchSize: number, profiler: QueryProfiler | undefined): Promise<CatchUp> {
  const projection = labelProjection('bench_labels', batchSize);
  // a first build from START: empty read model, no checkpoint row
  await db.exec(`drop table if exists ${projection.tables.rows}, ${projection.tables.counts}`);
  await ProjectionRunner.setup(db, []);
  await db.query('delete from projection_checkpoints where name = $1', [projection.name]);

  const runDb = profiler ? profiler.wrap(db) : db;
  const store = await PostgresEventStore.open(runDb, { catalog: benchCatalog });
  const head = await store.head();
  const runner = new ProjectionRunner(runDb, store, [projection], { pollIntervalMs: 1000, log: note });
  let batches = 0;
  const off = runner.onAdvanced(() => batches++);
  profiler?.reset();
  const t0 = performance.now();
  await runner.start();
  const waiter = new CatchUpWaiter(db, undefined, 20);
  const r = await waiter.waitFor(head, [projection.name], 60 * 60_000);
  const ms = performance.now() - t0;
  off();
  await runner.stop();
  await store.close();
  if (!r.caughtUp) throw new Error(`projection did not catch up to ${head}: ${JSON.stringify(r.checkpoints)}`);

  const check = await db.query<{ rows: string; counted: string }>(
    `select (select count(*) from ${projection.tables.rows})::text as rows, (select coalesce(sum(events), 0) from ${projection.tables.counts})::text as counted`,
  );
  const c = check.rows[0]!;
  if (Number(c.rows) !== events || Number(c.counted) !== events) {
    throw new Error(`read model incomplete: ${c.rows} rows, ${c.counted} counted, expected ${events}`);
  }
  return { ms, eventsPerSec: (events / ms) * 1000, batches };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const backends = argList(args, 'backends', ['postgres', 'pglite-disk']) as BackendName[];
  for (const b of backends) if (!BACKENDS.includes(b)) throw new Error(`unknown backend ${b}; use ${BACKENDS.join(',')}`);
  const serverEvents = argNumber(args, 'events', 1_000_000);
  const pgliteEvents = argNumber(args, 'pglite-events', 200_000);
  const batchSizes = argNumbers(args, 'batch-sizes', [200, 1000, 5000]);
  const reps = argNumber(args, 'reps', 1);
  const appendBatch = argNumber(args, 'append-batch', 1000);
  const writers = argNumber(args, 'writers', 4);
  const streams = argNumber(args, 'streams', 1000);
  const pool = argNumber(args, 'pool', 10);
  const profile = args.has('profile');

  emitJson({ kind: 'machine', ...machineInfo(), eventDataBytes: sampleDataBytes(), appendBatch, writers, streams, pool, reps });
  const rows: (string | number)[][] = [];
  for (const backend of backends) {
    if (backend === 'postgres') {
      const why = await serverUnreachable();
      if (why) {
        console.log(`SKIPPED postgres: server ${benchDatabaseUrl().replace(/:[^:@/]*@/, ':***@')} unreachable (${why}); set BENCH_DATABASE_URL or run scripts/setup-test-deps.sh`);
        emitJson({ kind: 'skipped', backend, reason: why });
        continue;
      }
      emitJson({ kind: 'server', ...(await serverSettings()) });
    }
    const events = backend === 'postgres' ? serverEvents : pgliteEvents;
    const bench = await openBenchDatabase(backend, { maxConnections: pool });
    try {
      note(`${backend}: filling a log of ${fmt(events)} events (batches of ${appendBatch}, ${writers} writers)`);
      const fillEps = await fill(bench.db, events, appendBatch, writers, streams);
      note(`${backend}: filled at ${fmt(fillEps)} events/s`);
      if (args.has('analyze')) await bench.db.exec('analyze events');
      emitJson({ kind: 'fill', backend, events, appendBatch, writers, eventsPerSec: round(fillEps) });
      for (const batchSize of batchSizes) {
        const runs: CatchUp[] = [];
        const profiler = profile ? new QueryProfiler() : undefined;
        for (let rep = 1; rep <= reps; rep++) {
          const r = await catchUp(bench.db, events, batchSize, profiler);
          note(`${backend} batchSize=${batchSize} rep ${rep}: ${fmt(r.eventsPerSec)} events/s (${round(r.ms / 1000, 1)} s, ${r.batches} batches)`);
          runs.push(r);
        }
        const eps = summarize(runs.map((r) => r.eventsPerSec));
        const target = backend === 'postgres' ? TARGET_SERVER : undefined;
        const line = {
          kind: 'result',
          backend,
          events,
          batchSize,
          reps,
          eventsPerSec: { median: round(eps.median), min: round(eps.min), max: round(eps.max), runs: eps.runs.map((x) => round(x)) },
          secondsMedian: round(summarize(runs.map((r) => r.ms / 1000)).median, 1),
          ...(target !== undefined ? { target, met: eps.median >= target } : {}),
          ...(profiler ? { profile: profiler.report().map((p) => ({ ...p, totalMs: round(p.totalMs), perCallMs: round(p.totalMs / p.calls, 3) })) } : {}),
        };
        emitJson({ ...line, loadavg: loadavg() });
        rows.push([
          backend,
          fmt(events),
          batchSize,
          fmt(eps.median),
          `${fmt(eps.min)} – ${fmt(eps.max)}`,
          line.secondsMedian,
          target === undefined ? '' : `≥ ${fmt(target)}: ${eps.median >= target ? 'met' : '**missed**'}`,
        ]);
      }
    } finally {
      await bench.dispose();
    }
  }
  console.log('\n' + markdownTable(['backend', 'log events', 'batchSize', 'events/s (median)', 'min – max', 'seconds (median)', 'target'], rows));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
