/**
 * Data-browser search over 1M records: `npm run bench:browser [-- --backends postgres,pglite-mem --records 1000000 --queries 25 --count-caps 1000]`.
 *
 * Loads the read-model tables DIRECTLY BY SQL (generate_series into rm_projects, rm_records,
 * rm_tasks, rm_task_labels, rm_record_labels, rm_reference) after the projections' own `setup`,
 * so the tables and indexes are exactly the product's. Then runs `searchRecords` (the function
 * behind POST /records/search: one page of 50 + the exact count + the page's labels) with filters
 * combining an attribute condition and a label condition, and reports p50/p95.
 */
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { Filter, SqlDatabase } from '@refinery/events';
import { allProjections, loadBrowseContext, searchRecords } from '@refinery/read-models';
import { argList, argNumber, parseArgs } from './lib/args.ts';
import { openBenchDatabase, serverSettings, serverUnreachable, type BackendName } from './lib/databases.ts';
import { machineInfo } from './lib/machine.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';

export const LANGS = ['en', 'de', 'fr', 'es', 'it'];
export const LABELS = ['positive', 'negative', 'neutral'];

/**
 * A project of `n` records { text, lang, n, score }, one single-label task "Sentiment" with 3
 * labels; 40% of the records carry a manual label (and the matching reference), 10% a
 * weak-supervision label with a confidence.
 */
export async function loadBrowserData(db: SqlDatabase, n: number): Promise<{ projectId: string; taskId: string }> {
  for (const p of allProjections) await p.setup(db);
  const projectId = randomUUID();
  const taskId = 'sentiment';
  await db.query(
    `insert into rm_projects (id, name, created_at, created_by, attributes) values ($1, 'bench', now(), 'bench', $2::jsonb)`,
    [projectId, JSON.stringify([{ name: 'text', type: 'text' }, { name: 'lang', type: 'category' }, { name: 'n', type: 'integer' }, { name: 'score', type: 'float' }])],
  );
  await db.query(`insert into rm_tasks (project_id, id, name, kind, attribute, allow_overlap, ord) values ($1, $2, 'Sentiment', 'single_label', null, false, 1)`, [projectId, taskId]);
  for (const [i, l] of LABELS.entries()) {
    await db.query(`insert into rm_task_labels (project_id, task_id, id, name, color, hotkey, description, ord) values ($1, $2, $3, $3, '#000000', null, '', $4)`, [projectId, taskId, l, i]);
  }
  const chunk = 100_000;
  for (let lo = 1; lo <= n; lo += chunk) {
    const hi = Math.min(n, lo + chunk - 1);
    await db.query(
      `insert into rm_records (project_id, id, import_id, "values")
       select $1, 'rec-' || i, $1, jsonb_build_object(
         'text', 'record ' || i || ' about ' || (array['shipping','price','quality','support','delivery','refund'])[1 + (i * 7) % 6] || ' and ' || md5(i::text),
         'lang', (array['en','de','fr','es','it'])[1 + (i / 7) % 5],
         'n', i % 1000,
         'score', ((i * 37) % 1000) / 100.0)
       from generate_series($2::int, $3::int) i order by i`,
      [projectId, lo, hi],
    );
    await db.query(
      `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, labeled_at)
       select $1, 'rec-' || i, $4, s.source, case when s.source = 'manual' then 'alice' else 'single' end, (array['positive','negative','neutral'])[1 + (i / 5) % 3], now()
       from generate_series($2::int, $3::int) i, (values ('manual'), ('reference')) s(source) where i % 5 < 2`,
      [projectId, lo, hi, taskId],
    );
    await db.query(
      `insert into rm_record_labels (project_id, record_id, task_id, source, annotator, label_id, labeled_at, confidence)
       select $1, 'rec-' || i, $4, 'weak_supervision', 'model', (array['positive','negative','neutral'])[1 + i % 3], now(), ((i * 13) % 100) / 100.0
       from generate_series($2::int, $3::int) i where i % 10 = 7`,
      [projectId, lo, hi, taskId],
    );
    await db.query(
      `insert into rm_reference (project_id, task_id, record_id, basis, disagreement, annotators)
       select $1, $4, 'rec-' || i, 'single', i % 50 = 0, 1 from generate_series($2::int, $3::int) i where i % 5 < 2`,
      [projectId, lo, hi, taskId],
    );
    note(`  loaded ${hi} records`);
  }
  await db.query(`insert into rm_project_stats (project_id, record_count) values ($1, $2)`, [projectId, n]);
  await db.exec('analyze');
  return { projectId, taskId };
}

/** attribute condition + label condition, varied so caches do not answer everything */
export function benchFilters(taskId: string, count: number): { name: string; filter: Filter }[] {
  const out: { name: string; filter: Filter }[] = [];
  for (let i = 0; i < count; i++) {
    const lang = LANGS[i % LANGS.length]!;
    const label = LABELS[i % LABELS.length]!;
    const kind = i % 5;
    const f: Filter =
      kind === 0
        ? { all: [{ attribute: 'lang', op: 'eq', value: lang }, { label: { taskId, source: 'manual', labelId: label } }] }
        : kind === 1
          ? { all: [{ attribute: 'n', op: 'between', value: [i * 10, i * 10 + 200] }, { label: { taskId, source: 'reference', labelId: label } }] }
          : kind === 2
            ? { all: [{ attribute: 'text', op: 'contains', value: ['shipping', 'price', 'refund'][i % 3]! }, { label: { taskId, source: 'manual', labelId: null } }] }
            : kind === 3
              ? { all: [{ attribute: 'score', op: 'gte', value: (i % 9) + 0.5 }, { label: { taskId, source: 'any', labelId: label } }] }
              : // rare: 0.1% of the records match
                { all: [{ attribute: 'n', op: 'eq', value: 50 * (i % 20) }, { disagreement: { taskId } }] };
    out.push({
      name: ['lang eq + manual label', 'n between + reference label', 'text contains + no manual label', 'score gte + any-source label', 'rare: n eq + disagreement (0.1%)'][kind]!,
      filter: f,
    });
  }
  return out;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const backends = argList(args, 'backends', ['postgres', 'pglite-mem']) as BackendName[];
  const records = argNumber(args, 'records', 1_000_000);
  const queries = argNumber(args, 'queries', 25);
  const caps = argList(args, 'count-caps', ['1000']).map(Number);
  emitJson({ bench: 'browser', machine: machineInfo(), records, queries, caps });
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
    try {
      note(`${backend}: loading ${records} records by SQL`);
      const t0 = performance.now();
      const { projectId, taskId } = await loadBrowserData(bench.db, records);
      note(`${backend}: loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const ctx = (await loadBrowseContext(bench.db, projectId))!;
      const filters = benchFilters(taskId, queries);
      // one warm-up query
      await searchRecords(bench.db, ctx, { filter: filters[0]!.filter, sort: { by: 'seq', direction: 'asc', seed: '' }, limit: 50 }, { timeoutMs: 60_000 });
      for (const cap of caps) {
        // Both modes, query by query, so that a noisy machine affects both alike: the product's
        // (equals / in also probe the GIN index on values) and without those probes (before).
        const modes = [
          ['product', true],
          ['no value-index probes (before)', false],
        ] as const;
        const times = new Map<string, number[]>();
        const perKind = new Map<string, number[]>();
        for (const { name, filter } of filters) {
          for (const [mode, indexProbes] of modes) {
            const t = performance.now();
            const r = await searchRecords(bench.db, ctx, { filter, sort: { by: 'seq', direction: 'asc', seed: '' }, limit: 50, countCap: cap }, { timeoutMs: 60_000, indexProbes });
            const ms = performance.now() - t;
            times.set(mode, [...(times.get(mode) ?? []), ms]);
            perKind.set(`${mode}\u0000${name}`, [...(perKind.get(`${mode}\u0000${name}`) ?? []), ms]);
            emitJson({ backend, mode, query: name, ms: Math.round(ms), total: r.total, totalExact: r.totalExact, page: r.records.length, countCap: cap });
          }
        }
        for (const [mode] of modes) {
          const sorted = [...times.get(mode)!].sort((a, b) => a - b);
          rows.push([backend, mode, cap, 'all', sorted.length, Math.round(pct(sorted, 50)), Math.round(pct(sorted, 95)), Math.round(sorted[sorted.length - 1]!)]);
          for (const [key, t] of perKind) {
            const [m, name] = key.split('\u0000');
            if (m !== mode) continue;
            const s = [...t].sort((a, b) => a - b);
            rows.push([backend, mode, cap, name!, t.length, Math.round(pct(s, 50)), Math.round(pct(s, 95)), Math.round(s[s.length - 1]!)]);
          }
        }
      }
    } finally {
      await bench.dispose();
    }
  }
  process.stdout.write(`\n${markdownTable(['backend', 'joins', 'count cap', 'filter', 'queries', 'p50 ms', 'p95 ms', 'max ms'], rows)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
