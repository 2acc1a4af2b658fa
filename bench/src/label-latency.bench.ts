/**
 * Manual label write → visible in the read model, at a sustained rate.
 *
 * The API, projector and a database run in this process (as `refinery start` does); annotators
 * PUT labels at `--rate` labels/s for `--seconds`; for each write the time from sending the PUT to
 * the record's labels read model containing it (`GET .../labels?after=<position>`) is recorded.
 *
 *   npm run bench:label-latency -- [--backends pglite-disk,postgres] [--rate 200] [--seconds 30]
 */
import { loadConfig, platformOn } from '@refinery/runtime';
import { startProjector } from '@refinery/projector-app';
import { startApiServer } from '@refinery/api';
import { openBenchDatabase, serverUnreachable, type BackendName } from './lib/databases.ts';
import { machineInfo } from './lib/machine.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { percentile, round } from './lib/stats.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const TOKEN = 'rfy_bench_label_latency_token_0123456789';
const RECORDS = 2_000;
const ANNOTATORS = 10;

async function run(backend: BackendName, rate: number, seconds: number) {
  const bench = await openBenchDatabase(backend, { maxConnections: 20 });
  const platform = await platformOn(bench.db, backend === 'postgres' ? 'server' : 'embedded');
  const projector = await startProjector(platform, { log: () => undefined });
  const api = await startApiServer(platform, { ...loadConfig({ REFINERY_ADMIN_TOKEN: TOKEN }), port: 0, readWaitMs: 30_000 }, {
    onAdvanced: (l) => projector.runner.onAdvanced(l), localCheckpoints: () => projector.runner.localCheckpoints(),
    log: (m) => note(m),
  });
  const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': type } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  try {
    const project = (await call('POST', '/api/projects', { name: 'latency' })) as { id: string };
    const lines = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({ id: `r${i}`, text: `comment number ${i}` })).join('\n');
    const imported = (await call('POST', `/api/projects/${project.id}/imports?primaryKey=id`, lines, 'application/x-ndjson')) as { position: string };
    const task = (await call('POST', `/api/projects/${project.id}/tasks`, { name: 'Spam', kind: 'single_label' })) as { id: string };
    const labels = [
      ((await call('POST', `/api/projects/${project.id}/tasks/${task.id}/labels`, { name: 'spam' })) as { id: string }).id,
      ((await call('POST', `/api/projects/${project.id}/tasks/${task.id}/labels`, { name: 'ham' })) as { id: string }).id,
    ];
    await call('GET', `/api/projects/${project.id}/records?limit=1&after=${imported.position}`);

    // One writer per simulated annotator, each on its own records (no 409s), paced to the total rate.
    const latencies: number[] = [];
    let errors = 0;
    const total = rate * seconds;
    const started = performance.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const record = `r${(i * 7919) % RECORDS}`;
      inflight.push(
        (async () => {
          const t0 = performance.now();
          try {
            const put = (await call('PUT', `/api/projects/${project.id}/records/${record}/labels/${task.id}`, { labelIds: [labels[i % 2]!] })) as { position: string };
            await call('GET', `/api/projects/${project.id}/records/${record}/labels?after=${put.position}`);
            latencies.push(performance.now() - t0);
          } catch (err) {
            errors++;
            if (errors < 5) note(String(err));
          }
        })(),
      );
      if (inflight.length > ANNOTATORS * 20) await inflight.shift();
    }
    await Promise.all(inflight);
    const elapsed = (performance.now() - started) / 1000;
    return {
      backend,
      targetRate: rate,
      achievedRate: round(latencies.length / elapsed, 1),
      writes: latencies.length,
      errors,
      p50: round(percentile(latencies, 50), 1),
      p95: round(percentile(latencies, 95), 1),
      p99: round(percentile(latencies, 99), 1),
      max: round(Math.max(...latencies), 1),
    };
  } finally {
    await api.close();
    await projector.stop();
    await platform.store.close();
    await bench.dispose();
  }
}

const backends = arg('backends', 'pglite-disk,postgres').split(',') as BackendName[];
const rate = Number(arg('rate', '200'));
const seconds = Number(arg('seconds', '30'));
const machine = machineInfo();
note(`machine: ${machine.nproc} cores, ${machine.memTotal}, node ${machine.node}, load ${machine.loadavg.join(' ')}`);
const rows: (string | number)[][] = [];
for (const backend of backends) {
  if (backend === 'postgres') {
    const why = await serverUnreachable();
    if (why) {
      console.log(`SKIPPED postgres: ${why}`);
      continue;
    }
  }
  note(`${backend}: ${rate} labels/s for ${seconds} s`);
  const r = await run(backend, rate, seconds);
  emitJson({ bench: 'label-latency', ...r, loadavg: machine.loadavg });
  rows.push([r.backend, r.targetRate, r.achievedRate, r.writes, r.errors, r.p50, r.p95, r.p99, r.max, r.p99 <= 50 ? 'met' : '**missed**']);
}
console.log(
  '\n' + markdownTable(['backend', 'target labels/s', 'achieved', 'writes', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'p99 ≤ 50 ms (write → visible)'], rows),
);
