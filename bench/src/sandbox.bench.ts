/**
 * Sandbox throughput: a regex classification LF over 1M synthetic records of ~200 characters,
 * in JavaScript (isolated-vm) and Python (worker pool). 3 runs each, median reported.
 *
 *   NODE_OPTIONS=--no-node-snapshot npx tsx bench/src/sandbox.bench.ts [--records N] [--runs R] [--batch B]
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { PythonPool, createRunner, type SandboxRecord, type Vote } from '@refinery/sandbox';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('records', 1_000_000);
const RUNS = arg('runs', 3);
const BATCH = arg('batch', 1000);

function makeRecords(n: number): SandboxRecord[] {
  const words = 'the a video song great channel my love this is so cool please watch and like amazing best music lyrics beat voice dance'.split(' ');
  let seed = 12345; // mulberry32
  const rnd = (k: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * k);
  };
  const out: SandboxRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const parts: string[] = [];
    let len = 0;
    while (len < 200) {
      const w = rnd(150) === 0 ? 'check it out' : rnd(150) === 0 ? 'Subscribe' : words[rnd(words.length)]!;
      parts.push(w);
      len += w.length + 1;
    }
    out[i] = { id: `rec-${i}`, attributes: { text: parts.join(' ').slice(0, 200) } };
  }
  return out;
}

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
const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const JS_LF = 'const RX = /check.*out|subscribe/i;\nfunction lf(record) {\n  return RX.test(record.text) ? "SPAM" : null;\n}\n';
const PY_KW_LF = 'def lf(record):\n    text = record["text"].lower()\n    return "SPAM" if "subscribe" in text or "check it out" in text else None\n';
const PY_LF = 'import re\nRX = re.compile(r"check.*out|subscribe", re.I)\n\ndef lf(record):\n    return "SPAM" if RX.search(record["text"]) else None\n';

function countSpam(votes: Vote[]): number {
  let c = 0;
  for (const v of votes) if (v === 'SPAM') c++;
  return c;
}

/** `lanes` = batches kept in flight (1 = strictly sequential caller; 2 = serialisation overlaps execution). */
async function runJs(records: SandboxRecord[], lanes: number): Promise<{ ms: number; spam: number; cpuMs: number }> {
  const t0 = performance.now();
  const c0 = selfCpuMs(); // the isolate runs on a thread of this process, so this includes it
  const runner = await createRunner({ language: 'javascript', code: JS_LF, kind: 'classification', labels: ['HAM', 'SPAM'] });
  let spam = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < records.length) {
        const start = next;
        next += BATCH;
        const votes = await runner.runBatch(records.slice(start, start + BATCH));
        spam += countSpam(votes);
      }
    }),
  );
  await runner.close();
  return { ms: performance.now() - t0, spam, cpuMs: selfCpuMs() - c0 };
}

async function runPy(records: SandboxRecord[], pool: PythonPool, code: string): Promise<{ ms: number; spam: number; cpuMs: number }> {
  const pids = pool.workerPids;
  const w0 = pids.reduce((a, p) => a + procCpuMs(p), 0);
  const c0 = selfCpuMs();
  const t0 = performance.now();
  const runner = await createRunner({ language: 'python', code, kind: 'classification', labels: ['HAM', 'SPAM'] }, { pythonPool: pool });
  let spam = 0;
  let next = 0;
  // Keep 2 batches per worker in flight so a worker never waits for the host.
  const lanes = Array.from({ length: pool.size * 2 }, async () => {
    while (next < records.length) {
      const start = next;
      next += BATCH;
      const votes = await runner.runBatch(records.slice(start, start + BATCH));
      spam += countSpam(votes);
    }
  });
  await Promise.all(lanes);
  await runner.close();
  const ms = performance.now() - t0;
  if (pool.workerPids.join() !== pids.join()) console.log('  (a worker was replaced during the run; CPU figure incomplete)');
  const cpuMs = selfCpuMs() - c0 + pids.reduce((a, p) => a + procCpuMs(p), 0) - w0;
  return { ms, spam, cpuMs };
}

const t0 = performance.now();
const records = makeRecords(N);
const avgLen = records.slice(0, 1000).reduce((s, r) => s + (r.attributes['text'] as string).length, 0) / 1000;
console.log(`generated ${N} records (avg ${avgLen.toFixed(0)} chars) in ${(performance.now() - t0).toFixed(0)} ms; batch ${BATCH}`);

const jsTimes: Record<number, number[]> = { 1: [], 2: [] };
const jsCpu: Record<number, number[]> = { 1: [], 2: [] };
for (let r = 0; r < RUNS; r++) {
  for (const lanes of [1, 2]) {
    const { ms, spam, cpuMs } = await runJs(records, lanes);
    jsTimes[lanes]!.push(ms);
    jsCpu[lanes]!.push(cpuMs);
    console.log(`javascript (${lanes} batch${lanes > 1 ? 'es' : ''} in flight) run ${r + 1}: ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU  (${Math.round((N / ms) * 1000)} records/s, ${spam} SPAM)`);
  }
}

const pool = new PythonPool({ size: availableParallelism() });
await (await createRunner({ language: 'python', code: PY_LF, kind: 'classification', labels: ['SPAM'] }, { pythonPool: pool })).runBatch(records.slice(0, pool.size * 200)); // spawn + warm workers
const pyTimes: number[] = [];
const pyKwTimes: number[] = [];
const pyCpu: number[] = [];
const pyKwCpu: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const { ms, spam, cpuMs } = await runPy(records, pool, PY_LF);
  pyTimes.push(ms);
  pyCpu.push(cpuMs);
  console.log(`python regex   run ${r + 1}: ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU (node + workers)  (${Math.round((N / ms) * 1000)} records/s, ${spam} SPAM)`);
  const kw = await runPy(records, pool, PY_KW_LF);
  pyKwTimes.push(kw.ms);
  pyKwCpu.push(kw.cpuMs);
  console.log(`python keyword run ${r + 1}: ${kw.ms.toFixed(0)} ms wall, ${kw.cpuMs.toFixed(0)} ms CPU (node + workers)  (${Math.round((N / kw.ms) * 1000)} records/s, ${kw.spam} SPAM)`);
}
await pool.close();

const target = (ms: number): string => (N === 1_000_000 ? (ms <= 3000 ? 'MET' : 'MISSED') : 'n/a (target is for 1M)');
const js1 = median(jsTimes[1]!);
const js2 = median(jsTimes[2]!);
const pyMed = median(pyTimes);
console.log(`\nmedian javascript, sequential caller:   ${js1.toFixed(0)} ms for ${N} records (target <= 3000 ms for 1M) -> ${target(js1)}`);
console.log(`median javascript, 2 batches in flight: ${js2.toFixed(0)} ms for ${N} records (target <= 3000 ms for 1M) -> ${target(js2)}`);
const pyKwMed = median(pyKwTimes);
const pyTarget = (ms: number): string => `${Math.round((N / ms) * 1000)} records/s (target >= 100000/s) -> ${(N / ms) * 1000 >= 100_000 ? 'MET' : 'MISSED'}`;
console.log(`median python regex:   ${pyMed.toFixed(0)} ms = ${pyTarget(pyMed)}`);
console.log(`median python keyword: ${pyKwMed.toFixed(0)} ms = ${pyTarget(pyKwMed)}`);
console.log(`python pool size ${pool.size}, network isolation: ${pool.networkIsolation}`);
const cores = availableParallelism();
console.log(`\nmedian CPU time (load-independent cost; on an idle machine wall >= CPU / ${cores} cores):`);
console.log(`  javascript sequential ${median(jsCpu[1]!).toFixed(0)} ms, 2 in flight ${median(jsCpu[2]!).toFixed(0)} ms`);
console.log(`  python regex ${median(pyCpu).toFixed(0)} ms -> <= ${Math.round((N / median(pyCpu)) * 1000 * cores)} records/s with ${cores} idle cores`);
console.log(`  python keyword ${median(pyKwCpu).toFixed(0)} ms -> <= ${Math.round((N / median(pyKwCpu)) * 1000 * cores)} records/s with ${cores} idle cores`);
