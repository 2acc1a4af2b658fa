/**
 * Metrics and agreement through the product (docs/metrics.md):
 *  1. inter-annotator agreement of a task over 100k records × 5 annotators (5 labels, ~20 % missing):
 *     GET /api/projects/:id/agreement?task=…                                     target ≤ 1 s
 *     (also timed without HTTP: loading the rating matrix, and the statistics)
 *  2. GET /api/projects/:id/metrics?task=… on a task of 1M records (3 annotators, reference,
 *     5 heuristics, weak supervision with confidence): the first call (computed) and the next
 *     ones (cached at unchanged read-model checkpoints)                          no target; recorded
 *
 *   npm run bench:metrics [-- --records 100000 --annotators 5 --metrics-records 1000000 --runs 5 --backend postgres|pglite-mem]
 *
 * The project, its tasks and labels are created through the API; the label rows are written
 * straight into `rm_record_labels` by SQL (labeling 500k answers through the API is the label
 * latency benchmark's subject). Then `vacuum analyze`, as autovacuum would do on the server.
 */
import { loadConfig, platformOn } from '@refinery/runtime';
import { startProjector } from '@refinery/projector-app';
import { startApiServer } from '@refinery/api';
import { getAgreement, loadAnnotatorRatings } from '@refinery/read-models';
import { agreementReport } from '@refinery/weak-supervision';
import { machineInfo } from './lib/machine.ts';
import { openBenchDatabase, type BackendName } from './lib/databases.ts';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const N = Number(arg('records', '100000'));
const A = Number(arg('annotators', '5'));
const M = Number(arg('metrics-records', '1000000'));
const RUNS = Number(arg('runs', '5'));
const BACKEND = arg('backend', 'postgres') as BackendName;
const ADMIN_TOKEN = 'rfy_metrics-bench-admin-token-0123456789';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => `${xs.map((t) => t.toFixed(0)).join(', ')} ms (median ${median(xs).toFixed(0)} ms)`;

async function main(): Promise<void> {
  console.error(JSON.stringify(machineInfo()));
  const bench = await openBenchDatabase(BACKEND, { maxConnections: 4 });
  const platform = await platformOn(bench.db, BACKEND === 'postgres' ? 'server' : 'embedded');
  const projector = await startProjector(platform, { log: () => undefined });
  const config = { ...loadConfig({ REFINERY_ADMIN_TOKEN: ADMIN_TOKEN }), port: 0, readWaitMs: 30_000 };
  const api = await startApiServer(platform, config, { onAdvanced: (l) => projector.runner.onAdvanced(l), localCheckpoints: () => projector.runner.localCheckpoints(), log: () => undefined });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Record<string, unknown> & { position?: string };
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  try {
    for (let i = 0; i < 400; i++) {
      const r = await fetch(`${api.url}/api/auth/me`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (r.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const projectId = (await call('POST', '/api/projects', { name: 'metrics bench' })).id as string;
    // the owner's membership reaches the read model asynchronously
    for (let i = 0; i < 400; i++) {
      const r = await fetch(`${api.url}/api/projects/${projectId}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (r.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const agreementTask = (await call('POST', `/api/projects/${projectId}/tasks`, { name: 'Agreement', kind: 'single_label' })).id as string;
    const metricsTask = (await call('POST', `/api/projects/${projectId}/tasks`, { name: 'Metrics', kind: 'single_label' })).id as string;
    let last = '';
    for (const task of [agreementTask, metricsTask]) {
      for (let l = 0; l < 5; l++) last = (await call('POST', `/api/projects/${projectId}/tasks/${task}/labels`, { name: `L${l}` })).position!;
    }
    const labels = async (task: string) => ((await call('GET', `/api/projects/${projectId}/tasks?after=${last}`)).tasks as Array<{ id: string; labels: { id: string }[] }>).find((t) => t.id === task)!.labels.map((l) => l.id);
    const agreementLabels = await labels(agreementTask);
    const metricsLabels = await labels(metricsTask);

    // 1. agreement: annotator a labels record i unless hash says missing (~20 %); label agrees with a
    //    per-record "truth" ~70 % of the time, else a pseudo-random label.
    let t = performance.now();
    for (let a = 0; a < A; a++) {
      await bench.db.query(
        `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, labeled_at)
         select $1, 'rec-' || i, $2, 'manual', 'annotator-' || $3::int,
           ($4::text[])[1 + case when abs(hashint4(i * 31 + $3::int)) % 10 < 7 then abs(hashint4(i)) % 5 else abs(hashint4(i * 7 + $3::int)) % 5 end], now()
         from generate_series(1, $5::int) as i
         where abs(hashint4(i * 13 + $3::int * 101)) % 5 <> 0`,
        [projectId, agreementTask, a, agreementLabels, N],
      );
    }
    await bench.db.exec('vacuum analyze rm_record_labels');
    console.error(`agreement data: ${N} records × ${A} annotators in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const httpTimes: number[] = [];
    const loadTimes: number[] = [];
    const statsTimes: number[] = [];
    const queryTimes: number[] = [];
    let result: Record<string, unknown> = {};
    for (let r = 0; r < RUNS; r++) {
      t = performance.now();
      result = await call('GET', `/api/projects/${projectId}/agreement?task=${agreementTask}`);
      httpTimes.push(performance.now() - t);
      t = performance.now();
      await getAgreement(platform.db, projectId, agreementTask);
      queryTimes.push(performance.now() - t);
      t = performance.now();
      const ratings = await loadAnnotatorRatings(platform.db, projectId, agreementTask);
      loadTimes.push(performance.now() - t);
      t = performance.now();
      agreementReport(ratings.matrix);
      statsTimes.push(performance.now() - t);
    }
    const nominal = result.nominal as { fleiss: { kappa: number }; krippendorff: { alpha: number }; pairs: unknown[] };
    const agreement = {
      bench: 'agreement',
      backend: BACKEND,
      records: result.records,
      annotators: A,
      pairs: nominal.pairs.length,
      fleiss: nominal.fleiss.kappa,
      alpha: nominal.krippendorff.alpha,
      httpMs: httpTimes,
      httpMedianMs: median(httpTimes),
      queryMedianMs: median(queryTimes),
      loadMedianMs: median(loadTimes),
      statsMedianMs: median(statsTimes),
      targetMs: 1000,
      met: median(httpTimes) <= 1000,
    };
    console.error(`agreement over HTTP: ${fmt(httpTimes)}; getAgreement ${fmt(queryTimes)}; load ${fmt(loadTimes)}; statistics ${fmt(statsTimes)}`);
    console.log(JSON.stringify(agreement));

    // 2. metrics on a task of M records: every record has a reference; 3 annotators label ~30 %
    //    each; 5 heuristics cover 10–50 %; weak supervision labels every record with a confidence.
    t = performance.now();
    const insert = (source: string, annotator: string, where: string, label: string, confidence = 'null') =>
      bench.db.query(
        `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, labeled_at, confidence)
         select $1, 'rec-' || i, $2, '${source}', ${annotator}, ($3::text[])[1 + ${label}], now(), ${confidence}
         from generate_series(1, $4::int) as i where ${where}`,
        [projectId, metricsTask, metricsLabels, M],
      );
    await insert('reference', `'unanimous'`, 'true', 'abs(hashint4(i)) % 5');
    for (let a = 0; a < 3; a++) await insert('manual', `'annotator-${a}'`, `abs(hashint4(i * 3 + ${a})) % 10 < 3`, 'abs(hashint4(i)) % 5');
    for (let h = 0; h < 5; h++) {
      await insert('heuristic', `'heuristic-${h}'`, `abs(hashint4(i * 17 + ${h})) % 10 < ${h + 1}`, `case when abs(hashint4(i + ${h})) % 10 < 7 then abs(hashint4(i)) % 5 else ${h} end`);
    }
    await insert('weak_supervision', `'ws-run'`, 'true', `case when abs(hashint4(i + 99)) % 10 < 8 then abs(hashint4(i)) % 5 else 0 end`, '(abs(hashint4(i * 5)) % 1000) / 1000.0');
    await bench.db.exec('vacuum analyze rm_record_labels');
    const rows = await bench.db.query<{ n: string }>('select count(*)::text as n from rm_record_labels where task_id = $1', [metricsTask]);
    console.error(`metrics data: ${M} records, ${rows.rows[0]!.n} label rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const metricsTimes: number[] = [];
    let metrics: { tasks: Array<{ distribution: unknown[]; confusion: unknown[]; confidence: { total: number } | null }> } = { tasks: [] };
    for (let r = 0; r < RUNS; r++) {
      t = performance.now();
      metrics = (await call('GET', `/api/projects/${projectId}/metrics?task=${metricsTask}`)) as typeof metrics;
      metricsTimes.push(performance.now() - t);
    }
    // the first call computes; the next ones find the figures cached at the same checkpoints
    console.error(`metrics over HTTP: first (computed) ${metricsTimes[0]!.toFixed(0)} ms, then (cached) ${fmt(metricsTimes.slice(1))}`);
    console.log(
      JSON.stringify({
        bench: 'metrics',
        backend: BACKEND,
        records: M,
        labelRows: Number(rows.rows[0]!.n),
        series: metrics.tasks[0]!.distribution.length,
        confusionMatrices: metrics.tasks[0]!.confusion.length,
        confidenceTotal: metrics.tasks[0]!.confidence?.total,
        httpMs: metricsTimes,
        computedMs: metricsTimes[0],
        cachedMedianMs: median(metricsTimes.slice(1)),
      }),
    );
  } finally {
    await api.close();
    await projector.stop();
    await platform.store.close();
    await bench.dispose();
  }
}

await main();
