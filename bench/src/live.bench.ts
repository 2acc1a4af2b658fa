/**
 * Live sessions under load: simulated annotators, each a Yjs client of one shared team session
 * plus HTTP label writes, for a fixed time. For every write, the time from sending the PUT to the
 * label appearing in each OTHER client's document (mirrored by the server once projected).
 *
 * The product runs in a child process (API + projector + database, as `refinery start` wires
 * them) so its resident memory is measured apart from the simulated clients.
 *
 *   npm run bench:live -- [--backends pglite-disk,postgres] [--annotators 50] [--rate 5] [--seconds 60] [--live off] [--awareness-echo on]
 *
 * `--live off` is the control: the same accounts and paced writes, no Yjs clients.
 * `LIVE_BENCH_STATEMENTS=1`: the server counts its SQL statements by caller (printed at the end).
 * `--awareness-echo on`: clients send every awareness change back as stock y-websocket does
 * (the product's web client sends only its own; see sendOwnAwarenessOnly).
 *
 * Targets: 0 errors, visible to the other clients p99 ≤ 150 ms, server RSS ≤ 500 MB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
  process.stdout.write(`READY ${api.url} ${cluster || '-'}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
  });
  const { projectedAfterMs, mirroredAfterMs, mirroredBatches } = api.live.stats;
  const byCaller = [...statements.byText].sort((a, b) => b[1].n - a[1].n).slice(0, 40).map(([k, v]) => [k, v.n, round(v.ms, 0)]);
  process.stdout.write(`STATS ${JSON.stringify({ projectedAfterMs, mirroredAfterMs, mirroredBatches, statements: statements.count, byCaller })}\n`);
  await api.close();
  await projector.stop();
  await platform.store.close();
  await bench.dispose();
  process.exit(0);
}

/** What the server measured of its label mirror (printed when it stops). */
let serverStats: { projectedAfterMs: number[]; mirroredAfterMs: number[]; mirroredBatches: number; statements: number; byCaller: [string, number, number][] } | undefined;

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

interface Annotator {
  name: string;
  userId: string;
  token: string;
  doc: Y.Doc;
  provider: WebsocketProvider;
}

async function run(backend: BackendName, annotatorCount: number, rate: number, seconds: number, withLive: boolean, echo: boolean) {
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
  const annotators: Annotator[] = [];
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

    // write → first seen per (record, annotator) and observer
    const sentAt = new Map<string, number>();
    /** when the PUT was answered: ack → visible isolates the live path from the write path */
    const ackAt = new Map<string, number>();
    const fromAck: number[] = [];
    const putMs: number[] = [];
    let seenPairs = 0; // (write, observer) pairs seen so far
    const latencies: number[] = [];
    const perWriteMax = new Map<string, number>();
    note(`${backend}: connecting ${annotatorCount} Yjs clients`);
    for (const a of accounts) {
      const doc = new Y.Doc();
      if (!withLive) {
        // control run: the same writes without live clients (no latency to other clients then)
        annotators.push({ ...a, doc, provider: { awareness: { setLocalState: () => undefined }, destroy: () => undefined } as unknown as WebsocketProvider });
        continue;
      }
      const provider = new WebsocketProvider(`${url.replace('http', 'ws')}/api/live/projects/${project.id}/sessions`, session.id, doc, {
        WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
        disableBc: true,
        params: { token: a.token },
      });
      if (!echo) sendOwnAwarenessOnly(provider);
      // These annotators label over HTTP and never edit the document, so nothing of theirs is to
      // be sent: without the provider's 'update' listener Yjs does not re-encode every update
      // the server sends (a quarter of the 50 simulated clients' CPU, on the server's 2 cores).
      doc.off('update', (provider as unknown as { _updateHandler: (u: Uint8Array, o: unknown) => void })._updateHandler);
      await new Promise<void>((resolve) => provider.once('sync', () => resolve()));
      provider.on('connection-close', () => fail(`${a.name}: connection closed`));
      const mine = a.userId;
      const seenHere = new Set<string>(); // writes this observer saw
      doc.getMap<{ annotators: string[] }>('labels').observe((event) => {
        const now = performance.now();
        for (const recordId of event.keysChanged) {
          const entry = doc.getMap<{ annotators: string[] }>('labels').get(recordId);
          for (const who of entry?.annotators ?? []) {
            if (who === mine) continue;
            const key = `${recordId}|${who}`;
            const t0 = sentAt.get(key);
            if (t0 === undefined) continue;
            if (seenHere.has(key)) continue;
            seenHere.add(key);
            seenPairs++;
            const ms = now - t0;
            latencies.push(ms);
            const acked = ackAt.get(key);
            fromAck.push(acked === undefined ? 0 : Math.max(0, now - acked));
            perWriteMax.set(key, Math.max(perWriteMax.get(key) ?? 0, ms));
          }
        }
      });
      annotators.push({ ...a, doc, provider });
    }
    const rssBefore = rssSamples.length ? rssSamples[rssSamples.length - 1]! : 0;

    note(`${backend}: ${annotatorCount} annotators × ${rate} labels/s for ${seconds} s`);
    const cpuBefore = { server: processCpuMs(child.pid!), client: process.cpuUsage(), postgres: cluster ? postgresCpuMs(cluster) : 0 };
    const started = performance.now();
    const end = started + seconds * 1000;
    let writes = 0;
    let skipped = 0;
    // Each annotator writes on a 1/rate schedule and waits for its PUT (as a person's screen does);
    // a slot that passes while a write is still pending is skipped and counted, not queued.
    const loops = annotators.map(async (a, i) => {
      const interval = 1000 / rate;
      let due = started + (i / annotatorCount) * interval;
      for (let j = 0; due < end; j++) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const recordId = `r${(i * Math.ceil(records / annotatorCount) + j) % records}`;
        a.provider.awareness.setLocalState({ record: recordId });
        const key = `${recordId}|${a.userId}`;
        sentAt.set(key, performance.now());
        try {
          await call('PUT', `/api/projects/${project.id}/records/${recordId}/labels/${task.id}`, { labelIds: [labels[j % 2]!] }, a.token);
          ackAt.set(key, performance.now());
          putMs.push(performance.now() - sentAt.get(key)!);
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
      clients: round((clientCpu.user + clientCpu.system) / 1000 / Math.max(1, writes), 2),
    };
    // stragglers: everything should be visible everywhere within a couple of seconds
    const expected = withLive ? writes * (annotatorCount - 1) : 0;
    const deadline = performance.now() + 10_000;
    while (seenPairs < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const missing = expected - seenPairs;
    if (missing > 0) fail(`${missing} (write, observer) pairs never saw the label`);
    const maxima = [...perWriteMax.values()];
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
      rssBeforeMb: round(rssBefore, 0),
      rssMaxMb: round(rssSamples.reduce((m, x) => Math.max(m, x), 0), 0),
      loadavg: loadavg(),
    };
  } finally {
    clearInterval(rssTimer);
    for (const a of annotators) {
      a.provider.destroy();
      a.doc.destroy();
    }
    child.stdin!.end();
    await new Promise((r) => child.once('exit', r));
  }
}

/** The server's own split of the delay: append → projected, append → in the documents (per mirrored batch). */
function serverSplit(): Record<string, number> {
  if (!serverStats) return {};
  return {
    mirroredBatches: serverStats.mirroredBatches,
    projectedP50: round(percentile(serverStats.projectedAfterMs, 50), 1),
    projectedP99: round(percentile(serverStats.projectedAfterMs, 99), 1),
    mirroredP50: round(percentile(serverStats.mirroredAfterMs, 50), 1),
    mirroredP99: round(percentile(serverStats.mirroredAfterMs, 99), 1),
    statements: serverStats.statements,
  };
}

if (process.argv.includes('--serve')) {
  await serve(arg('serve', 'pglite-disk') as BackendName);
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
    const r = await run(backend, annotatorCount, rate, seconds, arg('live', 'on') !== 'off', arg('awareness-echo', 'off') === 'on');
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
