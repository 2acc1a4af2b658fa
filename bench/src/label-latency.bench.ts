/**
 * Manual label write → visible in the read model, at a sustained rate.
 *
 * The API, projector and a database run in this process (as `refinery start` does); annotators
 * PUT labels at `--rate` labels/s for `--seconds`; for each write the time from sending the PUT to
 * the record's labels read model containing it (`GET .../labels?after=<position>`) is recorded.
 * The load generator runs in a child process (`--client child`, the default), as browsers would,
 * so that it does not compete with the product for this process's one JavaScript thread (with
 * PGlite the database runs on that thread too); `--client in-process` keeps the old setup.
 * Besides latency it reports what one label costs the product: SQL statements (API and projector
 * together, idle polling included) and CPU time of this process per label.
 *
 *   npm run bench:label-latency -- [--backends pglite-disk,postgres] [--rate 200] [--seconds 30] [--warmup 2] [--runs 3] [--client child|in-process] [--auth-cache-ms 2000]
 *
 * `--warmup`: seconds at the same rate before measuring ("sustained": a fresh process and database
 * first warm up — JIT, caches, first plans; `maxBySecond` in the JSON shows the measured seconds).
 * Statements and CPU per label count the warm-up writes too.
 */
import { fork } from 'node:child_process';
import { loadConfig, platformOn } from '@refinery/runtime';
import { startProjector } from '@refinery/projector-app';
import { startApiServer } from '@refinery/api';
import { openBenchDatabase, serverUnreachable, type BackendName } from './lib/databases.ts';
import { httpCall } from './lib/http.ts';
import { countStatements } from './lib/profile.ts';
import { machineInfo, postgresCpuMs } from './lib/machine.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { percentile, round, summarize } from './lib/stats.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const TOKEN = 'rfy_bench_label_latency_token_0123456789';
const RECORDS = 2_000;
const ANNOTATORS = 10;

interface LoadSpec {
  url: string;
  projectId: string;
  taskId: string;
  labels: string[];
  rate: number;
  seconds: number;
  /** seconds at the same rate before measuring (a fresh process and database warm up: JIT, caches, first plans) */
  warmup: number;
}
interface LoadResult {
  /** writes during the warm-up (not in the latencies) */
  warmupWrites: number;
  latencies: number[];
  /** when each of `latencies` started, in ms after the load began */
  startedAt: number[];
  /** PUT sent → PUT answered (the write alone, before the read-your-writes GET) */
  putLatencies: number[];
  /** CPU time of the load generator */
  cpuMs: number;
  errors: number;
  elapsed: number;
  firstErrors: string[];
}

function call(url: string, method: string, path: string, body?: unknown, type = 'application/json'): Promise<Record<string, unknown>> {
  return httpCall(url, method, path, { body, type, token: TOKEN });
}

/**
 * Setup calls right after creating the project: on a shared PostgreSQL cluster the creation is
 * invisible to readers (store.head(), readAll) until every older transaction of the cluster ended
 * (xmin is cluster-wide), so the owner's role may not be projected yet (403). Retried, not measured.
 */
async function setupCall(url: string, method: string, path: string, body?: unknown, type?: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await call(url, method, path, body, type);
    } catch (err) {
      if (Date.now() > deadline || !String(err).includes(': 403 ')) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** One writer per simulated annotator, each on its own records (no 409s), paced to the total rate. */
async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const startedAt: number[] = [];
  const putLatencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const firstErrors: string[] = [];
  let errors = 0;
  const warm = Math.round(spec.rate * spec.warmup);
  const total = warm + spec.rate * spec.seconds;
  let warmupWrites = 0;
  const started = performance.now();
  const measuredFrom = started + (warm * 1000) / spec.rate;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / spec.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const record = `r${(i * 7919) % RECORDS}`;
    inflight.push(
      (async () => {
        const t0 = performance.now();
        try {
          const put = (await call(spec.url, 'PUT', `/api/projects/${spec.projectId}/records/${record}/labels/${spec.taskId}`, { labelIds: [spec.labels[i % 2]!] })) as { position: string };
          const putDone = performance.now();
          await call(spec.url, 'GET', `/api/projects/${spec.projectId}/records/${record}/labels?after=${put.position}`);
          if (i < warm) {
            warmupWrites++;
            return;
          }
          putLatencies.push(putDone - t0);
          latencies.push(performance.now() - t0);
          startedAt.push(t0 - measuredFrom);
        } catch (err) {
          errors++;
          if (firstErrors.length < 5) firstErrors.push(String(err));
        }
      })(),
    );
    if (inflight.length > ANNOTATORS * 20) await inflight.shift();
  }
  await Promise.all(inflight);
  const cpu = process.cpuUsage(cpuBefore);
  return { warmupWrites, latencies, startedAt, putLatencies, cpuMs: (cpu.user + cpu.system) / 1000, errors, elapsed: (performance.now() - measuredFrom) / 1000, firstErrors };
}

function loadInChild(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(process.argv[1]!, ['--client-worker'], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => {
      resolve(m as LoadResult);
      child.kill();
    });
    child.once('error', reject);
    child.once('exit', (code) => code && reject(new Error(`load generator exited with ${code}`)));
    child.send(spec);
  });
}

function bySecond(latencies: readonly number[], startedAt: readonly number[]): number[] {
  const max: number[] = [];
  latencies.forEach((l, i) => {
    const s = Math.floor(startedAt[i]! / 1000);
    max[s] = Math.max(max[s] ?? 0, Math.round(l));
  });
  return Array.from(max, (m) => m ?? 0);
}

async function run(backend: BackendName, rate: number, seconds: number, warmup: number, client: 'child' | 'in-process') {
  const bench = await openBenchDatabase(backend, { maxConnections: 20 });
  // --statement-profile: count and time (as seen by the client) each statement, keyed by its first words
  const statements = countStatements(bench.db, process.argv.includes('--statement-profile'));
  const platform = await platformOn(bench.db, backend === 'postgres' ? 'server' : 'embedded');
  const projector = await startProjector(platform, { log: () => undefined });
  const api = await startApiServer(platform, { ...loadConfig({ REFINERY_ADMIN_TOKEN: TOKEN }), port: 0, readWaitMs: 30_000 }, {
    onAdvanced: (l) => projector.runner.onAdvanced(l), localCheckpoints: () => projector.runner.localCheckpoints(),
    log: (m) => note(m),
    // --auth-cache-ms 0 measures without the authentication cache (docs/identity.md)
    ...(process.argv.includes('--auth-cache-ms') ? { authCacheTtlMs: Number(arg('auth-cache-ms', '2000')) } : {}),
  });
  try {
    const project = (await call(api.url, 'POST', '/api/projects', { name: 'latency' })) as { id: string };
    const lines = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: `r${i}`, text: `comment number ${i}` })).join('\n');
    const imported = (await setupCall(api.url, 'POST', `/api/projects/${project.id}/imports?primaryKey=id`, lines, 'application/x-ndjson')) as { position: string };
    const task = (await call(api.url, 'POST', `/api/projects/${project.id}/tasks`, { name: 'Spam', kind: 'single_label' })) as { id: string };
    const labels = [
      ((await call(api.url, 'POST', `/api/projects/${project.id}/tasks/${task.id}/labels`, { name: 'spam' })) as { id: string }).id,
      ((await call(api.url, 'POST', `/api/projects/${project.id}/tasks/${task.id}/labels`, { name: 'ham' })) as { id: string }).id,
    ];
    await call(api.url, 'GET', `/api/projects/${project.id}/records?limit=1&after=${imported.position}`);
    const spec: LoadSpec = { url: api.url, projectId: project.id, taskId: task.id, labels, rate, seconds, warmup };
    const statementsBefore = statements.count;
    statements.byText.clear();
    const cpuBefore = process.cpuUsage();
    const cluster = backend === 'postgres' ? (await bench.db.query<{ name: string }>("select current_setting('cluster_name') as name")).rows[0]?.name ?? '' : '';
    const pgBefore = postgresCpuMs(cluster);
    const result = client === 'child' ? await loadInChild(spec) : await generateLoad(spec);
    const cpu = process.cpuUsage(cpuBefore);
    const pgCpu = postgresCpuMs(cluster) - pgBefore;
    for (const e of result.firstErrors) note(e);
    if (statements.byText.size) {
      const labels = Math.max(1, result.latencies.length);
      const top = [...statements.byText].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30);
      console.log(markdownTable(['statement', 'per label', 'ms per label'], top.map(([k, v]) => [k.replaceAll('|', '/'), round(v.n / labels, 2), round(v.ms / labels, 3)])));
    }
    const writes = result.latencies.length;
    return {
      backend,
      client,
      targetRate: rate,
      achievedRate: round(writes / result.elapsed, 1),
      writes,
      errors: result.errors,
      p50: round(percentile(result.latencies, 50), 1),
      p95: round(percentile(result.latencies, 95), 1),
      p99: round(percentile(result.latencies, 99), 1),
      max: round(Math.max(...result.latencies), 1),
      warmupSeconds: warmup,
      statementsPerLabel: round((statements.count - statementsBefore) / Math.max(1, writes + result.warmupWrites + result.errors), 1),
      cpuMsPerLabel: round((cpu.user + cpu.system) / 1000 / Math.max(1, writes + result.warmupWrites + result.errors), 2),
      // where in the run the slow ones were: the slowest write → visible of each second
      maxBySecond: bySecond(result.latencies, result.startedAt),
      putP50: round(percentile(result.putLatencies, 50), 1),
      putP99: round(percentile(result.putLatencies, 99), 1),
      postgresCpuMsPerLabel: backend === 'postgres' ? round(pgCpu / Math.max(1, writes + result.warmupWrites + result.errors), 2) : null,
      clientCpuMsPerLabel: round(result.cpuMs / Math.max(1, writes + result.warmupWrites + result.errors), 2),
    };
  } finally {
    await api.close();
    await projector.stop();
    await platform.store.close();
    await bench.dispose();
  }
}

if (process.argv.includes('--client-worker')) {
  process.once('message', (spec) => {
    void generateLoad(spec as LoadSpec).then((r) => process.send!(r));
  });
} else {
  const backends = arg('backends', 'pglite-disk,postgres').split(',') as BackendName[];
  const rate = Number(arg('rate', '200'));
  const seconds = Number(arg('seconds', '30'));
  const warmup = Number(arg('warmup', '2'));
  const runs = Number(arg('runs', '1'));
  const client = arg('client', 'child') as 'child' | 'in-process';
  const machine = machineInfo();
  note(`machine: ${machine.nproc} cores, ${machine.memTotal}, node ${machine.node}, load ${machine.loadavg.join(' ')}, commit ${machine.commit}`);
  const rows: (string | number)[][] = [];
  for (const backend of backends) {
    if (backend === 'postgres') {
      const why = await serverUnreachable();
      if (why) {
        console.log(`SKIPPED postgres: ${why}`);
        continue;
      }
    }
    const results: Awaited<ReturnType<typeof run>>[] = [];
    for (let i = 0; i < runs; i++) {
      note(`${backend}: ${rate} labels/s for ${warmup} s not measured, then ${seconds} s (run ${i + 1} of ${runs}, client ${client})`);
      const r = await run(backend, rate, seconds, warmup, client);
      emitJson({ bench: 'label-latency', ...r, loadavg: machineInfo().loadavg });
      rows.push([`${r.backend} run ${i + 1}`, r.targetRate, r.achievedRate, r.writes, r.errors, r.p50, r.p95, r.p99, r.max, r.statementsPerLabel, r.cpuMsPerLabel, r.p99 <= 50 ? 'met' : '**missed**']);
      results.push(r);
    }
    if (runs > 1) {
      const med = (pick: (r: (typeof results)[number]) => number) => round(summarize(results.map(pick)).median, 1);
      const p99 = med((r) => r.p99);
      rows.push([`**${backend} median of ${runs}**`, rate, med((r) => r.achievedRate), med((r) => r.writes), med((r) => r.errors), med((r) => r.p50), med((r) => r.p95), p99, med((r) => r.max), med((r) => r.statementsPerLabel), med((r) => r.cpuMsPerLabel), p99 <= 50 ? '**met**' : '**missed**']);
    }
  }
  console.log(
    '\n' +
      markdownTable(
        ['backend', 'target labels/s', 'achieved', 'writes', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'SQL statements / label', 'CPU ms / label (API + projector process)', 'p99 ≤ 50 ms (write → visible)'],
        rows,
      ),
  );
}
