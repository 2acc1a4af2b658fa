/**
 * Projector failover: how long after the active projector process is SIGKILLed does the
 * standby resume its work, and is any event lost or applied twice?
 *
 *   npm run bench:failover
 *   npm run bench:failover -- --kills 5 --rate 100 --records-per-event 5 --lease-ms 5000
 *   options: --kills 5 (SIGKILLs of the active projector)   --rate 100 (RecordsImported events/s appended
 *            throughout)   --records-per-event 5   --lease-ms (REFINERY_PROJECTOR_LEASE_MS for the
 *            projectors; unset = the product default)   --settle-ms 3000 (pause between kills)
 *   env: BENCH_DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/refinery_test);
 *        a fresh database refinery_bench_failover_<random>, dropped afterwards.
 *
 * Two projector processes (bench/src/failover-projector.ts: the product's projections plus a
 * probe projection writing one row per applied event, without a unique key) run against the
 * server while this process appends at a steady rate. Each round kills whichever process holds
 * the leases, measures (database clock) the time until the survivor (a) applies its first event
 * and (b) holds every projection's lease, then starts a replacement standby. Afterwards the
 * probe must hold each appended event exactly once and rm_records every appended record.
 * stdout: JSON lines, then a markdown table; progress goes to stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { catalog, hasReached, importStreamId, openPostgres, PostgresEventStore, type SqlDatabase } from '@refinery/events';
import { allProjections } from '@refinery/read-models';
import { argNumber, parseArgs } from './lib/args.ts';
import { benchDatabaseUrl, serverUnreachable } from './lib/databases.ts';
import { loadavg, machineInfo } from './lib/machine.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { round, summarize } from './lib/stats.ts';

const TARGET_MS = 10_000;
const PROBE_TABLE = 'bench_failover_probe';
const CHILD = fileURLToPath(new URL('./failover-projector.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Projector {
  child: ChildProcess;
  id: string;
  exited: Promise<void>;
}

function startProjector(env: Record<string, string>): Promise<Projector> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`projector did not start within 60 s:\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /failover projector (\S+) lease/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, id: m[1]!, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
      process.stderr.write(c);
    });
    void exited.then(() => reject(new Error(`projector exited before starting:\n${out}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const kills = argNumber(args, 'kills', 5);
  const rate = argNumber(args, 'rate', 100);
  const recordsPerEvent = argNumber(args, 'records-per-event', 5);
  const settleMs = argNumber(args, 'settle-ms', 3000);
  const leaseArg = args.get('lease-ms')?.[0];
  const url = benchDatabaseUrl();
  const unreachable = await serverUnreachable(url);
  if (unreachable) throw new Error(`the failover benchmark needs a PostgreSQL server (BENCH_DATABASE_URL): ${unreachable}`);

  const admin = await openPostgres(url, { maxConnections: 1 });
  const name = `refinery_bench_failover_${randomBytes(5).toString('hex')}`;
  await admin.query(`create database ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const env: Record<string, string> = { DATABASE_URL: u.toString(), DATABASE_MAX_CONNECTIONS: '4', ...(leaseArg ? { REFINERY_PROJECTOR_LEASE_MS: leaseArg } : {}) };
  const db: SqlDatabase = await openPostgres(u.toString(), { maxConnections: 4 });
  const store = await PostgresEventStore.open(db, { catalog });
  const projectors: Projector[] = [];
  let appending = true;
  let appendedEvents = 0;
  let appendedRecords = 0;
  try {
    note(`database ${name}; starting two projectors${leaseArg ? ` (lease ${leaseArg} ms)` : ' (default lease)'}`);
    projectors.push(await startProjector(env));
    projectors.push(await startProjector(env));

    // Steady load: RecordsImported events on a few projects, `rate` per second.
    const projects = Array.from({ length: 4 }, () => ({ projectId: randomUUID(), importId: randomUUID(), revision: undefined as bigint | undefined }));
    const appender = (async () => {
      const t0 = performance.now();
      while (appending) {
        const p = projects[appendedEvents % projects.length]!;
        const records = Array.from({ length: recordsPerEvent }, (_, i) => ({ id: `r${appendedEvents}-${i}`, values: { text: `record ${appendedEvents}/${i}` } }));
        const r = await store.append(importStreamId(p.projectId, p.importId), [{ type: 'RecordsImported', data: { projectId: p.projectId, importId: p.importId, records } }], {
          actor: 'bench',
          expectedRevision: p.revision ?? 'no_stream',
        });
        p.revision = r.revision;
        appendedEvents++;
        appendedRecords += recordsPerEvent;
        const due = t0 + (appendedEvents * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
    })();

    const owners = async () =>
      (await db.query<{ name: string; owner: string | null }>('select name, owner from projection_checkpoints')).rows;
    const rounds: { kill: number; firstEventMs: number; allLeasesMs: number; leaseMs: string }[] = [];
    await sleep(settleMs);
    for (let k = 1; k <= kills; k++) {
      // The active one is whichever holds the probe's lease (its product runner started first in that process).
      const rows = await owners();
      const probeOwner = rows.find((r) => r.name === 'failover_probe')?.owner ?? '';
      const active = projectors.find((p) => probeOwner === `${p.id}-probe`);
      if (!active) throw new Error(`no live projector holds the probe lease (owner ${probeOwner})`);
      const survivor = projectors.find((p) => p !== active)!;
      const killedAt = (await db.query<{ t: Date }>('select clock_timestamp() as t')).rows[0]!.t;
      active.child.kill('SIGKILL');
      await active.exited;
      projectors.splice(projectors.indexOf(active), 1);
      let firstEventMs = -1;
      let allLeasesMs = -1;
      const deadline = Date.now() + 60_000;
      while ((firstEventMs < 0 || allLeasesMs < 0) && Date.now() < deadline) {
        if (firstEventMs < 0) {
          const r = await db.query<{ ms: string | null }>(
            `select (extract(epoch from min(applied_at) - $2::timestamptz) * 1000)::text as ms from ${PROBE_TABLE} where instance = $1 and applied_at > $2`,
            [survivor.id, killedAt],
          );
          if (r.rows[0]?.ms) firstEventMs = Number(r.rows[0].ms);
        }
        if (allLeasesMs < 0) {
          const r = await owners();
          const mine = r.filter((x) => allProjections.some((p) => p.name === x.name) && x.owner === survivor.id);
          if (mine.length === allProjections.length) {
            const t = await db.query<{ ms: string }>('select (extract(epoch from clock_timestamp() - $1::timestamptz) * 1000)::text as ms', [killedAt]);
            allLeasesMs = Number(t.rows[0]!.ms);
          }
        }
        await sleep(50);
      }
      const lease = (await db.query<{ s: string }>(`select coalesce(max(extract(epoch from lease_until - updated_at))::text, '?') as s from projection_checkpoints`)).rows[0]!.s;
      rounds.push({ kill: k, firstEventMs: round(firstEventMs, 0), allLeasesMs: round(allLeasesMs, 0), leaseMs: lease });
      emitJson({ bench: 'failover', kill: k, firstEventMs, allLeasesMs, loadavg: loadavg() });
      note(`kill ${k}: survivor applied its first event after ${round(firstEventMs, 0)} ms, held every lease after ${round(allLeasesMs, 0)} ms`);
      projectors.push(await startProjector(env));
      await sleep(settleMs);
    }
    appending = false;
    await appender;

    // Every appended event exactly once in the probe, every record in rm_records.
    const head = await store.head();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await db.query<{ name: string; checkpoint: string }>('select name, checkpoint from projection_checkpoints');
      if (r.rows.length >= allProjections.length + 1 && r.rows.every((x) => hasReached(x.checkpoint, head))) break;
      if (Date.now() > deadline) throw new Error('the projectors did not catch up within 60 s after the load');
      await sleep(100);
    }
    const probe = (await db.query<{ n: string; distinct: string }>(`select count(*)::text as n, count(distinct event_id)::text as distinct from ${PROBE_TABLE}`)).rows[0]!;
    const logged = (await db.query<{ n: string }>(`select count(*)::text as n from events where type = 'RecordsImported'`)).rows[0]!.n;
    const records = (await db.query<{ n: string }>('select count(*)::text as n from rm_records')).rows[0]!.n;
    const stats = (await db.query<{ n: string }>('select coalesce(sum(record_count), 0)::text as n from rm_project_stats')).rows[0]!.n;
    const exactlyOnce = Number(probe.n) === appendedEvents && Number(probe.distinct) === appendedEvents && Number(logged) === appendedEvents;
    const allRecords = Number(records) === appendedRecords && Number(stats) === appendedRecords;

    const first = summarize(rounds.map((r) => r.firstEventMs));
    const leases = summarize(rounds.map((r) => r.allLeasesMs));
    const resumed = rounds.map((r) => Math.max(r.firstEventMs, r.allLeasesMs));
    const worst = Math.max(...resumed);
    const median = summarize(resumed).median;
    emitJson({
      bench: 'failover',
      summary: true,
      machine: machineInfo(),
      kills,
      rate,
      lease: leaseArg ?? 'default',
      firstEvent: first,
      allLeases: leases,
      medianResumeMs: median,
      worstResumeMs: worst,
      appendedEvents,
      probeRows: Number(probe.n),
      probeDistinct: Number(probe.distinct),
      loggedEvents: Number(logged),
      appendedRecords,
      rmRecords: Number(records),
      rmProjectStats: Number(stats),
      exactlyOnce,
      allRecords,
      targetMet: median <= TARGET_MS && exactlyOnce && allRecords,
    });
    console.log(
      markdownTable(
        ['kill', 'first event applied by the survivor (ms)', 'survivor holds every lease (ms)'],
        rounds.map((r) => [r.kill, r.firstEventMs, r.allLeasesMs]),
      ),
    );
    console.log(
      `\nmedian resume ${round(median, 0)} ms, worst ${round(worst, 0)} ms (target ≤ ${TARGET_MS} ms: ${median <= TARGET_MS ? 'met' : 'NOT met'}${worst > TARGET_MS ? ', worst case above it' : ''})`,
    );
    console.log(
      `events appended ${appendedEvents}, in the log ${logged}, probe rows ${probe.n} (distinct ${probe.distinct}): ${exactlyOnce ? 'exactly once' : 'LOST OR DOUBLED'}; ` +
        `records appended ${appendedRecords}, rm_records ${records}, rm_project_stats ${stats}: ${allRecords ? 'all there' : 'MISMATCH'}`,
    );
    if (!exactlyOnce || !allRecords) process.exitCode = 1;
  } finally {
    appending = false;
    for (const p of projectors) p.child.kill('SIGKILL');
    await Promise.all(projectors.map((p) => p.exited));
    await store.close();
    await db.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.close();
  }
}

await main();
