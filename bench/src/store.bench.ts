/**
 * Event-store append throughput.
 *
 *   npm run bench:store
 *   npm run bench:store -- --backends postgres --batches 100 --writers 4 --reps 3
 *   options: --backends pglite-mem,pglite-disk,postgres   --batches 1,100   --writers 1,4
 *            --events-1 5000 (events per run, batches of 1)   --events-100 50000 (batches of 100)
 *            --reps 3   --streams-per-writer 10   --pool 10   --profile (time each SQL statement)
 *   env: BENCH_DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/refinery_test);
 *        a fresh database refinery_bench_<random> is created per run and dropped afterwards.
 *
 * Each writer appends to its own streams with the exact expected revision a decider would
 * pass ('no_stream' for a stream's first append). Every run uses a fresh, empty database.
 * stdout: one JSON line per configuration, then a markdown table; progress goes to stderr.
 */
import { PostgresEventStore, type NewEvent } from '@refinery/events';
import { argList, argNumber, argNumbers, parseArgs } from './lib/args.ts';
import { ALL_BACKENDS, benchDatabaseUrl, openBenchDatabase, serverSettings, serverUnreachable, type BackendName } from './lib/databases.ts';
import { benchCatalog, labelEventFactory, sampleDataBytes, type BenchLabelAssigned } from './lib/events.ts';
import { loadavg, machineInfo } from './lib/machine.ts';
import { QueryProfiler } from './lib/profile.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { fmt, percentile, round, summarize, type Summary } from './lib/stats.ts';

const TARGETS: Record<string, number> = { 'postgres/100/4': 20_000, 'pglite-mem/100': 10_000, 'pglite-disk/100': 10_000 };

function target(backend: BackendName, batch: number, writers: number): number | undefined {
  return TARGETS[`${backend}/${batch}/${writers}`] ?? TARGETS[`${backend}/${batch}`];
}

interface RunResult {
  eventsPerSec: number;
  appendsPerSec: number;
  ms: number;
  p50Ms: number;
  p99Ms: number;
}

async function runOnce(
  backend: BackendName,
  batch: number,
  writers: number,
  events: number,
  streamsPerWriter: number,
  pool: number,
  profiler: QueryProfiler | undefined,
): Promise<RunResult> {
  const bench = await openBenchDatabase(backend, { maxConnections: pool });
  try {
    const db = profiler ? profiler.wrap(bench.db) : bench.db;
    const store = await PostgresEventStore.open(db, { catalog: benchCatalog });
    const appendsPerWriter = Math.ceil(events / writers / batch);
    const makeEvent = labelEventFactory();
    let n = 0;
    const nextBatch = (): NewEvent<BenchLabelAssigned>[] => Array.from({ length: batch }, () => makeEvent(n++));

    // Warm-up (not timed): JIT, prepared plans, pool connections; streams of their own.
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < 5; i++) {
          await store.append(`warmup:${w}:${i}`, nextBatch(), { actor: 'bench', expectedRevision: 'no_stream' });
        }
      }),
    );
    profiler?.reset();

    const latencies: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const revisions: (bigint | undefined)[] = Array.from({ length: streamsPerWriter }, () => undefined);
        for (let i = 0; i < appendsPerWriter; i++) {
          const s = i % streamsPerWriter;
          const current = revisions[s];
          const a0 = performance.now();
          const r = await store.append(`labels:w${w}:s${s}`, nextBatch(), {
            actor: 'bench',
            expectedRevision: current === undefined ? 'no_stream' : current,
          });
          latencies.push(performance.now() - a0);
          revisions[s] = r.revision;
        }
      }),
    );
    const ms = performance.now() - t0;
    const total = appendsPerWriter * writers * batch;
    await store.close();
    return {
      eventsPerSec: (total / ms) * 1000,
      appendsPerSec: ((appendsPerWriter * writers) / ms) * 1000,
      ms,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  } finally {
    await bench.dispose();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const backends = argList(args, 'backends', ALL_BACKENDS) as BackendName[];
  for (const b of backends) if (!ALL_BACKENDS.includes(b)) throw new Error(`unknown backend ${b}; use ${ALL_BACKENDS.join(',')}`);
  const batches = argNumbers(args, 'batches', [1, 100]);
  const writersList = argNumbers(args, 'writers', [1, 4]);
  const reps = argNumber(args, 'reps', 3);
  const streamsPerWriter = argNumber(args, 'streams-per-writer', 10);
  const pool = argNumber(args, 'pool', 10);
  const eventsFor = (batch: number) => (batch === 1 ? argNumber(args, 'events-1', 5_000) : argNumber(args, `events-${batch}`, 50_000));
  const profile = args.has('profile');

  const machine = machineInfo();
  emitJson({ kind: 'machine', ...machine, eventDataBytes: sampleDataBytes(), pool, streamsPerWriter, reps });

  const rows: (string | number)[][] = [];
  for (const backend of backends) {
    if (backend === 'postgres') {
      const why = await serverUnreachable();
      if (why) {
        const msg = `SKIPPED postgres: server ${benchDatabaseUrl().replace(/:[^:@/]*@/, ':***@')} unreachable (${why}); set BENCH_DATABASE_URL or run scripts/setup-test-deps.sh`;
        console.log(msg);
        emitJson({ kind: 'skipped', backend, reason: why });
        continue;
      }
      emitJson({ kind: 'server', ...(await serverSettings()) });
    }
    for (const batch of batches) {
      for (const writers of writersList) {
        const events = eventsFor(batch);
        const runs: RunResult[] = [];
        const profiler = profile ? new QueryProfiler() : undefined;
        for (let rep = 1; rep <= reps; rep++) {
          const r = await runOnce(backend, batch, writers, events, streamsPerWriter, pool, profiler);
          note(`${backend} batch=${batch} writers=${writers} rep ${rep}: ${fmt(r.eventsPerSec)} events/s (${round(r.ms)} ms, p50 ${round(r.p50Ms, 2)} ms, p99 ${round(r.p99Ms, 2)} ms per append)`);
          runs.push(r);
        }
        const eps: Summary = summarize(runs.map((r) => r.eventsPerSec));
        const t = target(backend, batch, writers);
        const line = {
          kind: 'result',
          backend,
          batch,
          writers,
          events: Math.ceil(events / writers / batch) * writers * batch,
          reps,
          eventsPerSec: { median: round(eps.median), min: round(eps.min), max: round(eps.max), runs: eps.runs.map((x) => round(x)) },
          appendsPerSecMedian: round(summarize(runs.map((r) => r.appendsPerSec)).median, 1),
          appendLatencyMs: { p50Median: round(summarize(runs.map((r) => r.p50Ms)).median, 2), p99Median: round(summarize(runs.map((r) => r.p99Ms)).median, 2) },
          ...(t !== undefined ? { target: t, met: eps.median >= t } : {}),
          ...(profiler ? { profile: profiler.report().map((p) => ({ ...p, totalMs: round(p.totalMs), perCallMs: round(p.totalMs / p.calls, 3) })) } : {}),
        };
        emitJson({ ...line, loadavg: loadavg() });
        rows.push([
          backend,
          batch,
          writers,
          fmt(line.events),
          fmt(eps.median),
          `${fmt(eps.min)} – ${fmt(eps.max)}`,
          line.appendLatencyMs.p50Median,
          line.appendLatencyMs.p99Median,
          t === undefined ? '' : `≥ ${fmt(t)}: ${eps.median >= t ? 'met' : '**missed**'}`,
        ]);
      }
    }
  }
  console.log(
    '\n' +
      markdownTable(
        ['backend', 'batch', 'writers', 'events/run', 'events/s (median)', 'min – max', 'append p50 ms', 'append p99 ms', 'target'],
        rows,
      ),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
