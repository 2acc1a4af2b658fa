/**
 * Live sessions under load: simulated annotators, each a Yjs client of one shared team session
 * plus HTTP label writes, for a fixed time. For every write, the time from sending the PUT to the
 * label appearing in each OTHER client's document (mirrored by the server once projected).
 *
 * The product runs in a child process (API + projector + database, as `refinery start` wires
 * them) so its resident memory is measured apart from the simulated clients. The Yjs clients run
 * in child processes of their own (`--observers`, `--observer-processes`, default 2, each with a
 * share of the clients), the HTTP writers in this process: each side's work does not
 * hold up the other's timing, as with people on their own machines. Times are epoch ms in both.
 *
 *   npm run bench:live -- [--backends pglite-disk,postgres] [--annotators 50] [--rate 5] [--seconds 60] [--live off] [--awareness-echo on] [--observer-processes 2]
 *
 * `--live off` is the control: the same accounts and paced writes, no Yjs clients.
 * `LIVE_BENCH_STATEMENTS=1`: the server counts its SQL statements by caller (printed at the end).
 * `--awareness-echo on`: clients send every awareness change back as stock y-websocket does
 * (the product's web client sends only its own; see sendOwnAwarenessOnly).
 *
 * Targets: 0 errors, visible to the other clients p99 ≤ 150 ms, server RSS ≤ 500 MB.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { WebSocket } from 'ws';
import { loadConfig, platformOn } from '@refinery/runtime';
import { startProjector } from '@refinery/projector-app';
import { startApiServer } from '@refinery/api';
import { openBenchDatabase, serverUnreachable, type BackendName } from './lib/databases.ts';
import { httpCall } from './lib/http.ts';
import { machineInfo, loadavg, postgresCpuMs, processCpuMs } from './lib/machine.ts';
import { countStatements } from './lib/profile.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { percentile, round } from './lib/stats.ts';

const TOKEN = 'rfy_bench_live_sessions_token_0123456789ab';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

// --- the product, in a child process -------------------------------------------------------

async function serve(backend: BackendName): Promise<void> {
  const bench = await openBenchDatabase(backend, { maxConnections: 20 });
  const statements = countStatements(bench.db, process.env['LIVE_BENCH_STATEMENTS'] === '1');
  const platform = await platformOn(bench.db, backend === 'postgres' ? 'server' : 'embedded');
  const projector = await startProjector(platform, { log: () => undefined });
  const api = await startApiServer(platform, { ...loadConfig({ REFINERY_ADMIN_TOKEN: TOKEN }), port: 0, readWaitMs: 30_000 }, {
    onAdvanced: (l) => projector.runner.onAdvanced(l),
    localCheckpoints: () => projector.runner.localCheckpoints(),
    log: (m) => process.stderr.write(`server: ${m}\n`),
    live: { maxConnectionsPerUser: 100 },
  });
  const cluster = backend === 'postgres' ? ((await bench.db.query<{ name: string }>("select current_setting('cluster_name') as name")).rows[0]?.name ?? '') : '';
  // how long the server's event loop was held up (every request and update waits behind it)
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  process.stdout.write(`READY ${api.url} ${cluster || '-'}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
  });
  const { projectedAfterMs, mirroredAfterMs, mirroredBatches } = api.live.stats;
  const byCaller = [...statements.byText].sort((a, b) => b[1].n - a[1].n).slice(0, 40).map(([k, v]) => [k, v.n, round(v.ms, 0)]);
  const eventLoopDelayMs = { p50: round(loopDelay.percentile(50) / 1e6, 1), p99: round(loopDelay.percentile(99) / 1e6, 1), max: round(loopDelay.max / 1e6, 1) };
  process.stdout.write(`STATS ${JSON.stringify({ projectedAfterMs, mirroredAfterMs, mirroredBatches, statements: statements.count, byCaller, eventLoopDelayMs })}\n`);
  await api.close();
  await projector.stop();
  await platform.store.close();
  await bench.dispose();
  process.exit(0);
}

/** What the server measured of its label mirror (printed when it stops). */
let serverStats:
  | { projectedAfterMs: number[]; mirroredAfterMs: number[]; mirroredBatches: number; statements: number; byCaller: [string, number, number][]; eventLoopDelayMs: Record<string, number> }
  | undefined;

/** (a function: the server's output handler sets it, which TypeScript's narrowing does not see) */
function lastServerStats(): typeof serverStats {
  return serverStats;
}

function startServer(backend: BackendName): Promise<{ child: ChildProcess; url: string; cluster: string }> {
  // LIVE_BENCH_CPU_PROF=<dir>: a V8 CPU profile of the server process, for finding where time goes
  const profile = process.env['LIVE_BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['LIVE_BENCH_CPU_PROF']}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(import.meta.url), '--serve', backend], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /READY (\S+) (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, cluster: m[2] === '-' ? '' : m[2]! });
      const stats = /STATS (.+)\n/.exec(out);
      if (stats) serverStats = JSON.parse(stats[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

// --- the simulated annotators ----------------------------------------------------------------

/**
 * As the web client does (apps/web/src/composables/useLiveSession.ts): y-websocket sends every
 * awareness change it applies, the other clients' included, back to the server, which drops
 * them (only a connection's own presence is its to set). Sending only local changes removes
 * those echoes: one message per client and presence flush fewer in each direction.
 */
function sendOwnAwarenessOnly(provider: WebsocketProvider): void {
  const p = provider as unknown as { _awarenessUpdateHandler: (changes: unknown, origin: unknown) => void };
  const send = p._awarenessUpdateHandler;
  provider.awareness.off('update', send);
  p._awarenessUpdateHandler = (changes, origin) => {
    if (origin !== provider) send(changes, origin); // the provider is the origin of what the server sent
  };
  provider.awareness.on('update', p._awarenessUpdateHandler);
}

/** Epoch milliseconds with sub-millisecond resolution, comparable between the two bench processes. */
const epochNow = () => performance.timeOrigin + performance.now();

interface Plan {
  rate: number;
  seconds: number;
  records: number;
  annotatorCount: number;
}
/** The record annotator `i` labels in its `j`th slot (the writers' and the observers' presence follow the same plan). */
const recordOf = (plan: Plan, i: number, j: number) => `r${(i * Math.ceil(plan.records / plan.annotatorCount) + j) % plan.records}`;

interface ObserverSpec {
  url: string;
  projectId: string;
  sessionId: string;
  accounts: { name: string; userId: string; token: string }[];
  echo: boolean;
  withLive: boolean;
  /** the accounts (by index) whose clients this process runs */
  slice: [number, number];
}

interface Observers {
  child: ChildProcess;
  /** the written keys (`record|annotator`) → epoch ms at which each other client first saw it */
  finish(written: string[]): Promise<{ firstSeen: Record<string, number[]>; errors: string[]; eventLoopDelayMs: Record<string, number> }>;
}

/**
 * The Yjs clients run in a process of their own, as browsers do: their work (50 documents
 * applying every update) must not hold up the HTTP writers' event loop, where the write is
 * timed. Both processes stamp epoch time.
 */
function startObservers(spec: ObserverSpec): Promise<Observers> {
  // a larger young generation: the clients' decoding garbage dies there instead of filling the old one
  const child = fork(fileURLToPath(import.meta.url), ['--observers'], { execArgv: ['--max-semi-space-size=64', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the observers process exited with ${code}`)));
    child.once('message', () =>
      resolve({
        child,
        finish: (written) =>
          new Promise((done) => {
            child.once('message', (m) => done(m as { firstSeen: Record<string, number[]>; errors: string[]; eventLoopDelayMs: Record<string, number> }));
            child.send({ finish: written });
          }),
      }),
    );
    child.send({ spec });
  });
}

/** The observers process: connects every annotator's Yjs client, moves their presence along the plan, records first sights. */
async function observe(): Promise<void> {
  const spec = await new Promise<ObserverSpec>((resolve) => process.once('message', (m) => resolve((m as { spec: ObserverSpec }).spec)));
  const errors: string[] = [];
  // Numbers, not strings, for (record, annotator): 50 clients × every label would otherwise fill
  // the heap with keys, and the collector's pauses would show up as late sights.
  const annotatorIndex = new Map(spec.accounts.map((a, i) => [a.userId, i]));
  const recordIndex = new Map<string, number>();
  const recordIds: string[] = [];
  const keyOf = (recordId: string, who: number) => {
    let r = recordIndex.get(recordId);
    if (r === undefined) {
      r = recordIds.push(recordId) - 1;
      recordIndex.set(recordId, r);
    }
    return r * spec.accounts.length + who;
  };
  const firstSeen = new Map<number, number[]>();
  const clients: { doc: Y.Doc; provider: WebsocketProvider; index: number }[] = [];
  const [from, to] = spec.slice;
  for (let index = from; index < to; index++) {
    const a = spec.accounts[index]!;
    if (!spec.withLive) break;
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`${spec.url.replace('http', 'ws')}/api/live/projects/${spec.projectId}/sessions`, spec.sessionId, doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      params: { token: a.token },
    });
    if (!spec.echo) sendOwnAwarenessOnly(provider);
    // These annotators label over HTTP and never edit the document, so nothing of theirs is to
    // be sent: without the provider's 'update' listener Yjs does not re-encode every update
    // the server sends (a quarter of the simulated clients' CPU, on the server's 2 cores).
    doc.off('update', (provider as unknown as { _updateHandler: (u: Uint8Array, o: unknown) => void })._updateHandler);
    await new Promise<void>((resolve) => provider.once('sync', () => resolve()));
    provider.on('connection-close', () => errors.push(`${a.name}: connection closed`));
    const mine = a.userId;
    const seenHere = new Set<number>(); // writes this client saw
    const labels = doc.getMap<{ annotators: string[] }>('labels');
    labels.observe((event) => {
      const now = epochNow();
      for (const recordId of event.keysChanged) {
        for (const who of labels.get(recordId)?.annotators ?? []) {
          if (who === mine) continue;
          const w = annotatorIndex.get(who);
          if (w === undefined) continue;
          const key = keyOf(recordId, w);
          if (seenHere.has(key)) continue;
          seenHere.add(key);
          let times = firstSeen.get(key);
          if (!times) firstSeen.set(key, (times = []));
          times.push(now);
        }
      }
    });
    clients.push({ doc, provider, index });
  }
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  process.send!({ ready: true });
  process.on('message', (m: { start?: number; plan?: Plan; finish?: string[] }) => {
    if (m.start !== undefined && m.plan) {
      // each annotator's presence moves to the record it labels next, on the writers' schedule
      const plan = m.plan;
      const interval = 1000 / plan.rate;
      clients.forEach((c) => {
        const i = c.index;
        let j = 0;
        const next = () => {
          const due = m.start! + (i / plan.annotatorCount) * interval + j * interval;
          if (due - m.start! >= plan.seconds * 1000) return;
          setTimeout(() => {
            c.provider.awareness.setLocalState({ record: recordOf(plan, i, j) });
            j++;
            next();
          }, Math.max(0, due - epochNow()));
        };
        next();
      });
    }
    if (m.finish) {
      const keys = new Map(
        m.finish.map((k) => {
          const [recordId, who] = k.split('|') as [string, string];
          return [k, keyOf(recordId, annotatorIndex.get(who)!)];
        }),
      );
      const written = m.finish;
      // this process's clients, less the writer's own
      const expected = (k: string) => clients.length - (clients.some((c) => spec.accounts[c.index]!.userId === k.split('|')[1]) ? 1 : 0);
      const deadline = performance.now() + 10_000;
      const check = () => {
        const complete = written.every((k) => (firstSeen.get(keys.get(k)!)?.length ?? 0) >= expected(k));
        if (!complete && performance.now() < deadline) return void setTimeout(check, 100);
        const eventLoopDelayMs = { p99: round(loopDelay.percentile(99) / 1e6, 1), max: round(loopDelay.max / 1e6, 1) };
        process.send!({ firstSeen: Object.fromEntries(written.map((k) => [k, firstSeen.get(keys.get(k)!) ?? []])), errors, eventLoopDelayMs }, () => {
          for (const c of clients) c.provider.destroy();
          process.exit(0);
        });
      };
      check();
    }
  });
}

async function run(backend: BackendName, annotatorCount: number, rate: number, seconds: number, withLive: boolean, echo: boolean, observerProcesses: number) {
  const { child, url, cluster } = await startServer(backend);
  let errors = 0;
  const errorSamples: string[] = [];
  const fail = (what: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(what);
  };
  const call = async (method: string, path: string, body?: unknown, token = TOKEN, type = 'application/json') =>
    (await httpCall(url, method, path, { body, type, token })) as Record<string, unknown> & { id: string; position: string; token: string };
  const rssSamples: number[] = [];
  const rssTimer = setInterval(() => {
    try {
      rssSamples.push(rssMb(child.pid!));
    } catch {
      // the server is gone; the run reports it
    }
  }, 500);
  let observers: Observers[] | undefined;
  try {
    for (let i = 0; ; i++) {
      const me = await fetch(`${url}/api/auth/me`, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (me.status === 200) break;
      if (i > 1200) throw new Error('the seeded admin token is not accepted after 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const perAnnotator = rate * seconds;
    const records = Math.max(1000, Math.ceil((annotatorCount * perAnnotator) / 5));
    const project = await call('POST', '/api/projects', { name: 'live bench' });
    // the creator's membership may take a moment to be projected on a loaded machine
    for (let i = 0; ; i++) {
      const r = await fetch(`${url}/api/projects/${project.id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (r.status === 200) break;
      if (i > 1200) throw new Error(`the new project is not readable after 120 s: ${r.status}; ${await (await fetch(`${url}/readyz`)).text()}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const lines = Array.from({ length: records }, (_, i) => JSON.stringify({ id: `r${i}`, text: `comment number ${i}` })).join('\n');
    await call('POST', `/api/projects/${project.id}/imports?primaryKey=id`, lines, TOKEN, 'application/x-ndjson');
    const task = await call('POST', `/api/projects/${project.id}/tasks`, { name: 'Spam', kind: 'single_label' });
    const labels = [(await call('POST', `/api/projects/${project.id}/tasks/${task.id}/labels`, { name: 'spam' })).id, (await call('POST', `/api/projects/${project.id}/tasks/${task.id}/labels`, { name: 'ham' })).id];
    note(`${backend}: creating ${annotatorCount} annotator accounts`);
    const accounts: { name: string; userId: string; token: string }[] = [];
    for (let i = 0; i < annotatorCount; i++) {
      const name = `annotator${i}`;
      const inv = await call('POST', '/api/invitations', { email: `${name}@bench.example`, projectId: project.id, role: 'annotator' });
      const res = await fetch(`${url}/api/invitations/${inv.token}/accept`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: `${name}-password-xyz` }) });
      const accepted = (await res.json()) as { user: { id: string }; csrfToken: string };
      const cookie = res.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const created = await fetch(`${url}/api/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': accepted.csrfToken }, body: JSON.stringify({ name: 'bench' }) });
      accounts.push({ name, userId: accepted.user.id, token: ((await created.json()) as { token: string }).token });
    }
    const session = await call('POST', `/api/projects/${project.id}/sessions`, { name: 'Team', distribution: { overlap: 5 } });

    // write → first seen per (record, annotator) and observer; times are epoch ms (both processes)
    const sentAt = new Map<string, number>();
    /** when the PUT was answered: ack → visible isolates the live path from the write path */
    const ackAt = new Map<string, number>();
    const putMs: number[] = [];
    note(`${backend}: connecting ${annotatorCount} Yjs clients`);
    const groups = Math.max(1, Math.min(annotatorCount, observerProcesses));
    observers = await Promise.all(
      Array.from({ length: groups }, (_, g) => startObservers({ url, projectId: project.id, sessionId: session.id, accounts, echo, withLive, slice: [Math.floor((g * annotatorCount) / groups), Math.floor(((g + 1) * annotatorCount) / groups)] })),
    );
    const observersCpuMs = () => observers!.reduce((sum, o) => sum + processCpuMs(o.child.pid!), 0);
    const rssBefore = rssSamples.length ? rssSamples[rssSamples.length - 1]! : 0;

    note(`${backend}: ${annotatorCount} annotators × ${rate} labels/s for ${seconds} s`);
    const cpuBefore = { server: processCpuMs(child.pid!), client: process.cpuUsage(), observers: observersCpuMs(), postgres: cluster ? postgresCpuMs(cluster) : 0 };
    const writerLoop = monitorEventLoopDelay({ resolution: 5 });
    writerLoop.enable();
    const started = performance.now();
    const end = started + seconds * 1000;
    const plan = { rate, seconds, records, annotatorCount };
    for (const o of observers) o.child.send({ start: performance.timeOrigin + started, plan });
    let writes = 0;
    let skipped = 0;
    // Each annotator writes on a 1/rate schedule and waits for its PUT (as a person's screen does);
    // a slot that passes while a write is still pending is skipped and counted, not queued.
    const written: string[] = [];
    const loops = accounts.map(async (a, i) => {
      const interval = 1000 / rate;
      let due = started + (i / annotatorCount) * interval;
      for (let j = 0; due < end; j++) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const recordId = recordOf(plan, i, j);
        const key = `${recordId}|${a.userId}`;
        const t0 = epochNow();
        sentAt.set(key, t0);
        try {
          await call('PUT', `/api/projects/${project.id}/records/${recordId}/labels/${task.id}`, { labelIds: [labels[j % 2]!] }, a.token);
          const t1 = epochNow();
          ackAt.set(key, t1);
          putMs.push(t1 - t0);
          written.push(key);
          writes++;
        } catch (err) {
          fail(String(err));
        }
        due += interval;
        const now = performance.now();
        if (now > due) {
          const behind = Math.floor((now - due) / interval);
          skipped += behind;
          due += behind * interval;
        }
      }
    });
    await Promise.all(loops);
    const elapsed = (performance.now() - started) / 1000;
    const clientCpu = process.cpuUsage(cpuBefore.client);
    // CPU per label write of each party: what the 2 cores of this machine spend, and on what
    const cpuMsPerLabel = {
      server: round((processCpuMs(child.pid!) - cpuBefore.server) / Math.max(1, writes), 2),
      postgres: cluster ? round((postgresCpuMs(cluster) - cpuBefore.postgres) / Math.max(1, writes), 2) : null,
      writers: round((clientCpu.user + clientCpu.system) / 1000 / Math.max(1, writes), 2),
      observers: round((observersCpuMs() - cpuBefore.observers) / Math.max(1, writes), 2),
    };
    // stragglers: everything should be visible everywhere within a couple of seconds (the observers wait up to 10 s)
    const parts = await Promise.all(observers.map((o) => o.finish(withLive ? written : [])));
    const seen = {
      firstSeen: Object.fromEntries((withLive ? written : []).map((k) => [k, parts.flatMap((p) => p.firstSeen[k] ?? [])])),
      errors: parts.flatMap((p) => p.errors),
      eventLoopDelayMs: { p99: Math.max(...parts.map((p) => p.eventLoopDelayMs['p99'] ?? 0)), max: Math.max(...parts.map((p) => p.eventLoopDelayMs['max'] ?? 0)) },
    };
    for (const e of seen.errors) fail(e);
    const latencies: number[] = [];
    const fromAck: number[] = [];
    const maxima: number[] = [];
    let missing = 0;
    for (const key of withLive ? written : []) {
      const times = seen.firstSeen[key] ?? [];
      missing += annotatorCount - 1 - times.length;
      let max = 0;
      for (const t of times) {
        const ms = t - sentAt.get(key)!;
        latencies.push(ms);
        fromAck.push(Math.max(0, t - ackAt.get(key)!));
        max = Math.max(max, ms);
      }
      if (times.length) maxima.push(max);
    }
    if (missing > 0) fail(`${missing} (write, observer) pairs never saw the label`);
    return {
      backend,
      annotators: annotatorCount,
      targetRate: annotatorCount * rate,
      achievedRate: round(writes / elapsed, 1),
      writes,
      skippedSlots: skipped,
      observations: latencies.length,
      errors,
      errorSamples: [...errorSamples],
      p50: round(percentile(latencies, 50), 1),
      p95: round(percentile(latencies, 95), 1),
      p99: round(percentile(latencies, 99), 1),
      max: round(latencies.reduce((m, x) => Math.max(m, x), 0), 1),
      allSeenP99: round(percentile(maxima, 99), 1),
      putP50: round(percentile(putMs, 50), 1),
      putP99: round(percentile(putMs, 99), 1),
      ackToVisibleP50: round(percentile(fromAck, 50), 1),
      ackToVisibleP99: round(percentile(fromAck, 99), 1),
      cpuMsPerLabel,
      eventLoopDelayMs: { writers: { p99: round(writerLoop.percentile(99) / 1e6, 1), max: round(writerLoop.max / 1e6, 1) }, observers: seen.eventLoopDelayMs },
      rssBeforeMb: round(rssBefore, 0),
      rssMaxMb: round(rssSamples.reduce((m, x) => Math.max(m, x), 0), 0),
      loadavg: loadavg(),
    };
  } finally {
    clearInterval(rssTimer);
    for (const o of observers ?? []) o.child.kill();
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
  }
}

/** The server's own split of the delay: append → projected, append → in the documents (per mirrored batch). */
function serverSplit(): Record<string, unknown> {
  if (!serverStats) return {};
  return {
    mirroredBatches: serverStats.mirroredBatches,
    projectedP50: round(percentile(serverStats.projectedAfterMs, 50), 1),
    projectedP99: round(percentile(serverStats.projectedAfterMs, 99), 1),
    mirroredP50: round(percentile(serverStats.mirroredAfterMs, 50), 1),
    mirroredP99: round(percentile(serverStats.mirroredAfterMs, 99), 1),
    statements: serverStats.statements,
    eventLoopDelayMs: serverStats.eventLoopDelayMs,
  };
}

if (process.argv.includes('--serve')) {
  await serve(arg('serve', 'pglite-disk') as BackendName);
} else if (process.argv.includes('--observers')) {
  await observe();
} else {
  const backends = arg('backends', 'pglite-disk').split(',') as BackendName[];
  const annotatorCount = Number(arg('annotators', '50'));
  const rate = Number(arg('rate', '5'));
  const seconds = Number(arg('seconds', '60'));
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
    serverStats = undefined;
    const r = await run(backend, annotatorCount, rate, seconds, arg('live', 'on') !== 'off', arg('awareness-echo', 'off') === 'on', Number(arg('observer-processes', '2')));
    emitJson({ bench: 'live', ...r, server: serverSplit() });
    const byCaller = lastServerStats()?.byCaller ?? [];
    if (byCaller.length) console.log(markdownTable(['statement @ caller', 'count', 'ms'], byCaller.map(([k, n, ms]) => [k.replaceAll('|', '/'), n, ms])));
    const met = r.errors === 0 && r.p99 <= 150 && r.rssMaxMb <= 500;
    rows.push([r.backend, r.annotators, r.targetRate, r.achievedRate, r.writes, r.errors, r.p50, r.p95, r.p99, r.max, r.allSeenP99, r.ackToVisibleP50, r.ackToVisibleP99, r.rssBeforeMb, r.rssMaxMb, met ? 'met' : '**missed**']);
  }
  console.log(
    '\n' +
      markdownTable(
        ['backend', 'annotators', 'target labels/s', 'achieved', 'writes', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'p99 all others saw it', 'ack→visible p50', 'ack→visible p99', 'server RSS idle MB', 'server RSS max MB', '0 errors, p99 ≤ 150 ms, RSS ≤ 500 MB'],
        rows,
      ),
  );
  process.exit(0);
}
