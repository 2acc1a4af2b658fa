/**
 * Heuristics benchmarks (docs/heuristics.md):
 *  1. statistics of 50 heuristics over 1M records                               target ≤ 2 s
 *     a. the computation on typed arrays (row-major matrix, and straight from the columns)
 *     b. through the product: `getHeuristicStats` (the query behind GET /heuristics) over the
 *        stored columns (`rm_heuristic_columns`) and 100k reference labels in `rm_record_labels`
 *  2. a regex labeling function in JavaScript over 1M records of ~200 chars,
 *     end to end through the reactor (request appended → HeuristicRunCompleted)  target ≤ 3 s
 *  3. the same in Python                                                         target ≥ 100,000 records/s
 *
 *   NODE_OPTIONS=--no-node-snapshot npx tsx bench/src/heuristics.bench.ts [--records N] [--heuristics H] [--runs R] [--backend pglite-mem|pglite-disk|postgres]
 *
 * Records are written straight into `rm_records` by SQL (importing 1M records through the API is
 * the import benchmark's subject); the project's task and labels are real events.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { catalog, heuristicStreamId, PostgresEventStore, projectStreamId, SqlArtifactStore, sha256Hex, type Recorded } from '@refinery/events';
import { CatchUpWaiter, ProjectionRunner, ReactorRunner } from '@refinery/projector';
import { allProjections, getHeuristicStats, writeHeuristicColumn } from '@refinery/read-models';
import { buildVoteMatrix, computeColumnStats, computeHeuristicStats } from '@refinery/domain';
import { heuristicRunReactor } from '@refinery/workers';
import { PythonPool } from '@refinery/sandbox';
import { machineInfo } from './lib/machine.ts';
import { openBenchDatabase, type BackendName } from './lib/databases.ts';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const N = Number(arg('records', '1000000'));
const H = Number(arg('heuristics', '50'));
const RUNS = Number(arg('runs', '3'));
const BACKEND = arg('backend', 'pglite-mem') as BackendName;
const SKIP_PRODUCT_STATS = process.argv.includes('--no-product-stats');
const LANGUAGES = arg('languages', 'javascript,python').split(',').filter(Boolean) as Array<'javascript' | 'python'>;
/** CPU ms (user + system) of a process from /proc (Linux), 0 if gone. */
function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}
/** this process: the main thread (PGlite runs on it), the isolate's thread, libuv's threads */
const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** 50 columns over N records (coverage 5–41 %, 70 % agreeing) and a reference label on every 10th record. */
function syntheticMatrix(): { columns: Array<{ records: Int32Array; labels: Int32Array }>; reference: Int32Array; votes: number } {
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const columns = Array.from({ length: H }, (_, h) => {
    const coverage = 0.05 + (h % 10) * 0.04; // 5 % .. 41 %
    const records: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < N; i++) {
      if (rnd() < coverage) {
        records.push(i);
        labels.push(rnd() < 0.7 ? h % 2 : 1 - (h % 2));
      }
    }
    return { records: Int32Array.from(records), labels: Int32Array.from(labels) };
  });
  const reference = new Int32Array(N).fill(-1);
  for (let i = 0; i < N; i += 10) reference[i] = rnd() < 0.5 ? 0 : 1;
  const votes = columns.reduce((n, c) => n + c.records.length, 0);
  return { columns, reference, votes };
}

function benchStats(): { csr: number[]; columns: number[] } {
  const { columns, reference, votes } = syntheticMatrix();
  const times: number[] = [];
  const byColumn: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t = performance.now();
    const m = buildVoteMatrix(N, 2, columns);
    const stats = computeHeuristicStats(m, reference);
    times.push(performance.now() - t);
    t = performance.now();
    const direct = computeColumnStats(N, 2, columns, reference);
    byColumn.push(performance.now() - t);
    if (stats.length !== H || JSON.stringify(direct) !== JSON.stringify(stats)) throw new Error('the two computations disagree');
  }
  console.log(`stats (typed arrays): ${H} heuristics × ${N} records, ${votes} votes: row-major ${times.map((t) => t.toFixed(0)).join(', ')} ms (median ${median(times).toFixed(0)} ms); from columns ${byColumn.map((t) => t.toFixed(0)).join(', ')} ms (median ${median(byColumn).toFixed(0)} ms)`);
  return { csr: times, columns: byColumn };
}

/**
 * Statistics through the product's query: 50 heuristics (events, projected), their columns written
 * as the projection stores them (writing 11.8M vote rows through the projection first would take
 * minutes and measure the projection, not the statistics), reference labels as rows.
 */
async function benchStatsProduct(db: Parameters<typeof getHeuristicStats>[0], store: PostgresEventStore, projectId: string, taskId: string): Promise<number[]> {
  const { columns, reference, votes } = syntheticMatrix();
  let last = '';
  for (let h = 0; h < H; h++) {
    const r = await store.append(
      heuristicStreamId(projectId, `stat-${h}`),
      [{ type: 'HeuristicCreated', data: { projectId, heuristicId: `stat-${h}`, name: `external ${h}`, description: '', taskId, type: 'external' } }],
      { actor: 'bench', expectedRevision: 'no_stream' },
    );
    last = r.position;
  }
  const projector = new ProjectionRunner(db as never, store, allProjections, { pollIntervalMs: 20, log: () => undefined });
  await projector.start();
  const caught = await new CatchUpWaiter(db).waitFor(last, ['labeling_config', 'heuristics'], 60_000);
  await projector.stop();
  if (!caught.caughtUp) throw new Error('projections did not catch up');
  const first = Number((await db.query<{ s: string }>('select min(seq)::text as s from rm_records where project_id = $1', [projectId])).rows[0]!.s);
  let t = performance.now();
  const labelIds = ['spam', 'ham'];
  for (let h = 0; h < H; h++) {
    const c = columns[h]!;
    await writeHeuristicColumn(db, { projectId, heuristicId: `stat-${h}`, taskId, seqs: Array.from(c.records, (i) => first + i), labelIds: Array.from(c.labels, (l) => labelIds[l]!) });
  }
  const refIdx: number[] = [];
  const refLab: string[] = [];
  reference.forEach((l, i) => {
    if (l >= 0) (refIdx.push(i + 1), refLab.push(labelIds[l]!));
  });
  await db.query(
    `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, labeled_at)
     select $1, 'rec-' || i, $2, 'reference', 'gold', l, now() from unnest($3::int[], $4::text[]) as t(i, l)`,
    [projectId, taskId, refIdx, refLab],
  );
  console.log(`wrote ${H} columns (${votes} votes) and ${refIdx.length} reference labels in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const times: number[] = [];
  const expected = computeColumnStats(N, 2, columns, reference);
  for (let r = 0; r < RUNS; r++) {
    t = performance.now();
    const stats = await getHeuristicStats(db, projectId);
    times.push(performance.now() - t);
    const s0 = stats.get('stat-0');
    if (stats.size < H || !s0 || s0.hits !== expected[0]!.hits || s0.correct !== expected[0]!.correct || s0.conflicts !== expected[0]!.conflicts) {
      throw new Error(`product statistics differ from the computation: ${JSON.stringify(s0)} vs ${JSON.stringify(expected[0])}`);
    }
  }
  console.log(`stats (product, getHeuristicStats): ${H} heuristics × ${N} records: ${times.map((x) => x.toFixed(0)).join(', ')} ms (median ${median(times).toFixed(0)} ms), load ${loadavg()[0]!.toFixed(1)}`);
  return times;
}

async function benchRuns(): Promise<{ js: number[]; py: number[]; statsProduct: number[] }> {
  const bench = await openBenchDatabase(BACKEND);
  const db = bench.db;
  const store = await PostgresEventStore.open(db, { catalog });
  const artifacts = new SqlArtifactStore(db);
  await ProjectionRunner.setup(db, allProjections);
  const projectId = randomUUID();
  const taskId = 't1';
  await store.append(
    projectStreamId(projectId),
    [
      { type: 'ProjectCreated', data: { projectId, name: 'bench' } },
      { type: 'LabelingTaskAdded', data: { projectId, taskId, name: 'Spam', kind: 'single_label', attribute: null, allowOverlap: false } },
      { type: 'LabelAdded', data: { projectId, taskId, labelId: 'spam', name: 'SPAM', color: '#dc2626', hotkey: null, description: '' } },
      { type: 'LabelAdded', data: { projectId, taskId, labelId: 'ham', name: 'HAM', color: '#16a34a', hotkey: null, description: '' } },
    ],
    { actor: 'bench', expectedRevision: 'no_stream' },
  );
  let t = performance.now();
  const importId = randomUUID();
  for (let from = 1; from <= N; from += 100_000) {
    await db.query(
      `insert into rm_records (project_id, id, import_id, "values")
       select $1, 'rec-' || i, $2, jsonb_build_object('text', left(case when i % 150 = 0 then 'check it out ' when i % 151 = 0 then 'Subscribe ' else '' end
         || repeat(md5(i::text) || ' video song great ', 5), 200))
       from generate_series($3::int, $4::int) as i`,
      [projectId, importId, from, Math.min(N, from + 99_999)],
    );
  }
  // the records projection keeps the count beside the rows (the reactor reads it)
  await db.query('insert into rm_project_stats (project_id, record_count) values ($1, $2)', [projectId, N]);
  console.log(`loaded ${N} records into rm_records in ${((performance.now() - t) / 1000).toFixed(1)} s (${BACKEND})`);

  const statsProduct = SKIP_PRODUCT_STATS ? [] : await benchStatsProduct(db, store, projectId, taskId);

  const pool = new PythonPool({ size: availableParallelism(), log: () => undefined });
  // setupMs: loading the code in a Python worker on a shared 2-core VM under load can exceed the default 1 s
  const reactor = heuristicRunReactor({ db, store, artifacts, pythonPool: pool, limits: { setupMs: 10_000 }, log: (m) => console.error(m) });
  const runner = new ReactorRunner(db, store, [reactor], { pollIntervalMs: 20, log: (m) => console.error(m) });
  await runner.start();

  const programs = {
    javascript: 'const RX = /check.*out|subscribe/i;\nfunction lf(record) {\n  return RX.test(record.text) ? "SPAM" : null;\n}\n',
    python: 'import re\nRX = re.compile(r"check.*out|subscribe", re.I)\n\ndef lf(record):\n    return "SPAM" if RX.search(record["text"]) else None\n',
  };
  const out = { js: [] as number[], py: [] as number[], statsProduct };
  for (const language of LANGUAGES) {
    const heuristicId = `h-${language}`;
    const code = programs[language];
    const codeHash = sha256Hex(Buffer.from(code));
    const stream = heuristicStreamId(projectId, heuristicId);
    await store.append(stream, [{ type: 'HeuristicCreated', data: { projectId, heuristicId, name: language, description: '', taskId, type: 'labeling_function', language, code, codeHash } }], {
      actor: 'bench',
      expectedRevision: 'no_stream',
    });
    for (let r = 0; r < RUNS; r++) {
      const runId = randomUUID();
      const workers0 = new Map(pool.workerPids.map((p) => [p, procCpuMs(p)]));
      const cpu0 = selfCpuMs();
      t = performance.now();
      await store.append(stream, [{ type: 'HeuristicRunRequested', data: { projectId, heuristicId, runId, codeHash } }], { actor: 'bench' });
      let done: Recorded | undefined;
      while (!done) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const events = await store.readStream(stream);
        done = events.find((e) => ['HeuristicRunCompleted', 'HeuristicRunFailed'].includes(e.type) && (e.data as { runId: string }).runId === runId);
      }
      const ms = performance.now() - t;
      // workers spawned during the run count from 0
      const cpuMs = selfCpuMs() - cpu0 + pool.workerPids.reduce((a, p) => a + procCpuMs(p) - (workers0.get(p) ?? 0), 0);
      if (done.type !== 'HeuristicRunCompleted') throw new Error(`run failed: ${JSON.stringify(done.data)}`);
      const d = done.data as { counts: { records: number; votes: number }; durationMs: number };
      console.log(`${language}: ${d.counts.records} records, ${d.counts.votes} votes, ${ms.toFixed(0)} ms request → completed (${((d.counts.records / ms) * 1000).toFixed(0)} records/s; reactor's own ${d.durationMs} ms); CPU ${cpuMs.toFixed(0)} ms (this process + python workers), load ${loadavg()[0]!.toFixed(1)}`);
      (language === 'javascript' ? out.js : out.py).push(ms);
    }
  }
  await runner.stop();
  await pool.close();
  await store.close();
  await bench.dispose();
  return out;
}

console.log(JSON.stringify(machineInfo()));
const stats = benchStats();
const runs = await benchRuns();
console.log(
  JSON.stringify({
    statsMedianMs: Math.round(median(stats.csr)),
    statsFromColumnsMedianMs: Math.round(median(stats.columns)),
    statsProductMedianMs: runs.statsProduct.length ? Math.round(median(runs.statsProduct)) : null,
    jsMedianMs: Math.round(median(runs.js)),
    pythonMedianMs: Math.round(median(runs.py)),
    pythonRecordsPerSecond: Math.round((N / median(runs.py)) * 1000),
    records: N,
    heuristics: H,
    backend: BACKEND,
  }),
);
process.exit(0);
