/**
 * Import through the embedded product: `npm start` to first 200 from /readyz, then JSONL
 * imports of 100k and 1M short text records (~200 bytes each) — records/s until the import
 * returned and until the records are visible (?after=), and the server's peak RSS (VmHWM).
 *
 *   npm run build && npm run bench:import -- [--sizes 100000,1000000] [--runs 1]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './lib/machine.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { round, summarize } from './lib/stats.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** seeded as an owner token of the started product (REFINERY_ADMIN_TOKEN) */
const TOKEN = 'rfy_bench_import_token_0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const entry = path.join(repoRoot, 'apps/cli/dist/refinery.mjs');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const WORDS = 'the a product review great terrible shipping fast slow support friendly price value quality broken works love hate would buy again never recommend battery screen sound'.split(' ');

/** Deterministic ~200-byte JSONL records. */
async function writeJsonl(file: string, count: number): Promise<number> {
  const out = createWriteStream(file);
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < count; i++) {
    let text = '';
    while (text.length < 130) text += WORDS[Math.floor(rand() * WORDS.length)] + ' ';
    const line = JSON.stringify({ text: text.trim(), rating: 1 + Math.floor(rand() * 5), source: rand() < 0.5 ? 'web' : 'app', helpful: rand() < 0.3 }) + '\n';
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
  return (await stat(file)).size;
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function startProduct(dataDir: string): Promise<{ child: ChildProcess; url: string; readyMs: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--no-node-snapshot', entry, 'start'], {
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, REFINERY_MAX_UPLOAD_BYTES: String(400 * 1024 * 1024), REFINERY_READ_WAIT_MS: '300000', REFINERY_ADMIN_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /running at (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`product exited with ${code}: ${out}`)));
  });
  for (;;) {
    const r = await fetch(`${url}/readyz`).catch(() => undefined);
    if (r?.status === 200) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return { child, url, readyMs: performance.now() - t0 };
}

async function stopProduct(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

interface Result {
  records: number;
  fileMb: number;
  readyMs: number;
  importReturnedS: number;
  visibleS: number;
  recordsPerS: number;
  peakRssMb: number;
}

async function runOnce(file: string, count: number, fileBytes: number): Promise<Result> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'refinery-bench-import-'));
  const { child, url, readyMs } = await startProduct(dataDir);
  try {
    const project = (await (await fetch(`${url}/api/projects`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"name":"bench"}' })).json()) as { id: string };
    const body = await readFile(file);
    const t0 = performance.now();
    const res = await fetch(`${url}/api/projects/${project.id}/imports`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-ndjson' }, body });
    const imported = (await res.json()) as { records: number; position: string; error?: unknown };
    if (res.status !== 201) throw new Error(`import failed: ${JSON.stringify(imported)}`);
    const returned = performance.now() - t0;
    const page = (await (await fetch(`${url}/api/projects/${project.id}/records?limit=1&after=${imported.position}`, { headers: auth })).json()) as { total: number };
    const visible = performance.now() - t0;
    if (page.total !== count) throw new Error(`expected ${count} records visible, saw ${page.total}`);
    const rss = await peakRssMb(child.pid!);
    return {
      records: count,
      fileMb: round(fileBytes / 2 ** 20, 1),
      readyMs: Math.round(readyMs),
      importReturnedS: round(returned / 1000, 2),
      visibleS: round(visible / 1000, 2),
      recordsPerS: Math.round(count / (visible / 1000)),
      peakRssMb: Math.round(rss),
    };
  } finally {
    await stopProduct(child);
    await rm(dataDir, { recursive: true, force: true });
  }
}

const sizes = arg('sizes', '100000,1000000').split(',').map(Number);
const runs = Number(arg('runs', '1'));
const machine = machineInfo();
note(`machine: ${machine.nproc} cores, ${machine.memTotal}, node ${machine.node}, load ${machine.loadavg.join(' ')}`);
const work = await mkdtemp(path.join(tmpdir(), 'refinery-bench-files-'));
const rows: (string | number)[][] = [];
try {
  for (const size of sizes) {
    const file = path.join(work, `records-${size}.jsonl`);
    const bytes = await writeJsonl(file, size);
    const results: Result[] = [];
    for (let r = 0; r < runs; r++) {
      note(`import ${size} records (${round(bytes / 2 ** 20, 1)} MB), run ${r + 1}/${runs}`);
      const result = await runOnce(file, size, bytes);
      emitJson({ bench: 'import', ...result });
      results.push(result);
    }
    const visible = summarize(results.map((x) => x.visibleS));
    const ready = summarize(results.map((x) => x.readyMs));
    const rss = Math.max(...results.map((x) => x.peakRssMb));
    rows.push([size, results[0]!.fileMb, ready.median, summarize(results.map((x) => x.importReturnedS)).median, visible.median, Math.round(size / visible.median), rss]);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
console.log(
  '\n' + markdownTable(['records', 'file MB', 'start→/readyz ms', 'import returned s', 'visible s', 'records/s', 'peak RSS MB'], rows),
);
