/**
 * Heuristics benchmarks (docs/heuristics.md):
 *  1. statistics of 50 heuristics over 1M records (typed arrays)               target ≤ 2 s
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
import { availableParallelism } from 'node:os';
import { catalog, heuristicStreamId, PostgresEventStore, projectStreamId, SqlArtifactStore, sha256Hex, type Recorded } from '@refinery/events';
import { ProjectionRunner, ReactorRunner } from '@refinery/projector';
import { allProjections } from '@refinery/read-models';
import { buildVoteMatrix, computeHeuristicStats } from '@refinery/domain';
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
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function benchStats(): number[] {
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
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    const m = buildVoteMatrix(N, 2, columns);
    const stats = computeHeuristicStats(m, reference);
    times.push(performance.now() - t);
    if (stats.length !== H) throw new Error('wrong number of stats');
  }
  console.log(`stats: ${H} heuristics × ${N} records, ${votes} votes: ${times.map((t) => t.toFixed(0)).join(', ')} ms (median ${median(times).toFixed(0)} ms)`);
  return times;
}

async function benchRuns(): Promise<{ js: number[]; py: number[] }> {
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
  console.log(`loaded ${N} records into rm_records in ${((performance.now() - t) / 1000).toFixed(1)} s (${BACKEND})`);

  const pool = new PythonPool({ size: availableParallelism(), log: () => undefined });
  // setupMs: loading the code in a Python worker on a shared 2-core VM under load can exceed the default 1 s
  const reactor = heuristicRunReactor({ db, store, artifacts, pythonPool: pool, limits: { setupMs: 10_000 }, log: (m) => console.error(m) });
  const runner = new ReactorRunner(db, store, [reactor], { pollIntervalMs: 20, log: (m) => console.error(m) });
  await runner.start();

  const programs = {
    javascript: 'const RX = /check.*out|subscribe/i;\nfunction lf(record) {\n  return RX.test(record.text) ? "SPAM" : null;\n}\n',
    python: 'import re\nRX = re.compile(r"check.*out|subscribe", re.I)\n\ndef lf(record):\n    return "SPAM" if RX.search(record["text"]) else None\n',
  };
  const out: { js: number[]; py: number[] } = { js: [], py: [] };
  for (const language of ['javascript', 'python'] as const) {
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
      t = performance.now();
      await store.append(stream, [{ type: 'HeuristicRunRequested', data: { projectId, heuristicId, runId, codeHash } }], { actor: 'bench' });
      let done: Recorded | undefined;
      while (!done) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        const events = await store.readStream(stream);
        done = events.find((e) => ['HeuristicRunCompleted', 'HeuristicRunFailed'].includes(e.type) && (e.data as { runId: string }).runId === runId);
      }
      const ms = performance.now() - t;
      if (done.type !== 'HeuristicRunCompleted') throw new Error(`run failed: ${JSON.stringify(done.data)}`);
      const d = done.data as { counts: { records: number; votes: number }; durationMs: number };
      console.log(`${language}: ${d.counts.records} records, ${d.counts.votes} votes, ${ms.toFixed(0)} ms request → completed (${((d.counts.records / ms) * 1000).toFixed(0)} records/s; reactor's own ${d.durationMs} ms)`);
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
    statsMedianMs: Math.round(median(stats)),
    jsMedianMs: Math.round(median(runs.js)),
    pythonMedianMs: Math.round(median(runs.py)),
    pythonRecordsPerSecond: Math.round((N / median(runs.py)) * 1000),
    records: N,
    heuristics: H,
    backend: BACKEND,
  }),
);
process.exit(0);
