/**
 * Kafka relay: throughput to the local broker and label write → message on the topic latency.
 *
 * Throughput: `--events` RecordLabeled events over 50 projects are appended first (not timed);
 * a relay then starts at the beginning of the log with a fresh topic prefix and the time until
 * its checkpoint reaches the head (every message acknowledged by the broker, acks = all) is taken.
 *
 * Latency: with the relay running and caught up, labels are appended at `--rate` labels/s for
 * `--seconds`; a kafkajs consumer on the labels topic notes when each arrives. Latency = arrival
 * time − the moment before the append (same process, same clock).
 *
 * Needs the broker: `bash scripts/setup-kafka.sh start` and KAFKA_BROKERS (default 127.0.0.1:19092).
 *
 *   npm run bench:relay -- [--backend pglite-mem|postgres] [--events 100000] [--runs 3] [--rate 200] [--seconds 20]
 *                          [--cpu-profile <file prefix>]  (a V8 CPU profile of each timed relay phase: <prefix>-<run>.cpuprofile)
 *
 * With `--backend postgres` (BENCH_DATABASE_URL, default the test server; a fresh database) the
 * log is read from the server, as in the scale-out deployment. The server's snapshot horizon is
 * shared by every database on it: a long transaction elsewhere holds back what any reader may see,
 * so each run first waits until the log's head covers its appends, then starts the clock.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { platformOn, type Platform } from '@refinery/runtime';
import { KafkaRelay, RELAY_CHECKPOINT, type RelayConfig } from '@refinery/workers';
import { decodeIntegrationEvent, TOPICS } from '@refinery/integration-events';
import { argNumber, argList, parseArgs } from './lib/args.ts';
import { openBenchDatabase, type BackendName } from './lib/databases.ts';
import { machineInfo } from './lib/machine.ts';
import { emitJson, markdownTable, note } from './lib/report.ts';
import { percentile, round } from './lib/stats.ts';

const args = parseArgs(process.argv.slice(2));
const backend = argList(args, 'backend', ['pglite-mem'])[0] as BackendName;
const eventCount = argNumber(args, 'events', 100_000);
const runs = argNumber(args, 'runs', 3);
const rate = argNumber(args, 'rate', 200);
const seconds = argNumber(args, 'seconds', 20);
const cpuProfile = args.get('cpu-profile')?.[0];
const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:19092').split(',');
const PROJECTS = 50;

function relayConfig(prefix: string): RelayConfig {
  return { brokers, topicPrefix: prefix, clientId: 'relay-bench', partitions: 6, replicationFactor: 1, maxMessageBytes: 1_000_000 };
}

function labelEvent(projectId: string, recordId: string, n: number) {
  return {
    type: 'RecordLabeled',
    data: { projectId, recordId, taskId: 'sentiment', annotator: `annotator-${n % 7}`, labelIds: [n % 2 ? 'positive' : 'negative'], spans: [] },
  };
}

async function appendLabels(platform: Platform, projects: readonly string[], count: number): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    await platform.store.transaction(async (appender) => {
      for (let i = start; i < Math.min(count, start + 1000); i++) {
        const p = projects[i % projects.length]!;
        const recordId = `r${Math.floor(i / projects.length)}`;
        await appender.append(`record:${p}:${recordId}`, [labelEvent(p, recordId, i)], { actor: 'bench' });
      }
    });
  }
}

async function setCheckpoint(platform: Platform, checkpoint: string): Promise<void> {
  await platform.db.query('delete from projection_checkpoints where name = $1', [RELAY_CHECKPOINT]).catch(() => undefined);
  await platform.db.query('insert into projection_checkpoints (name, version, checkpoint) values ($1, 1, $2)', [RELAY_CHECKPOINT, checkpoint]);
}

/** The visible head once it covers every committed event (on the server, older open transactions elsewhere can hold it back). */
async function settledHead(platform: Platform, timeoutMs: number): Promise<string> {
  const newest = await platform.store.newestCommitted();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const head = await platform.store.head();
    if (head === newest) return head;
    if (Date.now() > deadline) throw new Error(`the log's visible head ${head} did not reach ${newest} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function waitCaughtUp(platform: Platform, relay: KafkaRelay, timeoutMs: number, target?: string): Promise<void> {
  const head = target ?? (await platform.store.head());
  const deadline = Date.now() + timeoutMs;
  while (relay.status().checkpoint !== head) {
    if (Date.now() > deadline) throw new Error(`relay not caught up after ${timeoutMs} ms: ${JSON.stringify(relay.status())}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let profiled = 0;

async function throughputRun(platform: Platform, prefix: string): Promise<{ events: number; ms: number; perSecond: number; messages: number; cpuMs: number; perCpuSecond: number; loadavg: number[] }> {
  const projects = Array.from({ length: PROJECTS }, () => randomUUID());
  const before = await platform.store.head();
  await appendLabels(platform, projects, eventCount);
  const target = await settledHead(platform, 120_000);
  await setCheckpoint(platform, before);
  const relay = new KafkaRelay({ db: platform.db, store: platform.store, artifacts: platform.artifacts, config: relayConfig(prefix), log: note });
  const session = cpuProfile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await relay.start();
  await waitCaughtUp(platform, relay, 600_000, target);
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${cpuProfile}-${++profiled}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const messages = relay.status().published;
  await relay.stop();
  // CPU time of this process (relay + embedded database, not the broker): the machine is shared, so wall time depends on the neighbours.
  return { events: eventCount, ms, perSecond: eventCount / (ms / 1000), messages, cpuMs, perCpuSecond: eventCount / (cpuMs / 1000), loadavg: os.loadavg().map((x) => round(x, 1)) };
}

async function latencyRun(platform: Platform): Promise<{ sent: number; received: number; p50: number; p95: number; p99: number; max: number }> {
  const prefix = `lat${randomUUID().slice(0, 8)}.`;
  await setCheckpoint(platform, await platform.store.head());
  const relay = new KafkaRelay({ db: platform.db, store: platform.store, artifacts: platform.artifacts, config: relayConfig(prefix), log: note });
  await relay.start();
  // idle = topics created and nothing left to publish
  for (let i = 0; relay.status().state !== 'idle'; i++) {
    if (i > 6000) throw new Error(`relay not idle: ${JSON.stringify(relay.status())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const kafka = new Kafka({ clientId: 'relay-bench-consumer', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  // Timing starts once the consumer has joined its group (listener first: the join can be quick).
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topics: [`${prefix}${TOPICS.labels}`], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = decodeIntegrationEvent(message.value)!;
      const recordId = (event.data as { recordId: string }).recordId;
      const t0 = sentAt.get(recordId);
      if (t0 !== undefined) {
        latencies.push(performance.now() - t0);
        sentAt.delete(recordId);
      }
    },
  });
  await joined;
  const projects = Array.from({ length: 20 }, () => randomUUID());
  const total = rate * seconds;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = projects[i % projects.length]!;
    const recordId = `lat-${i}`;
    sentAt.set(recordId, performance.now());
    void platform.store.append(`record:${p}:${recordId}`, [labelEvent(p, recordId, i)], { actor: 'bench' });
  }
  const deadline = performance.now() + 30_000;
  while (latencies.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await consumer.disconnect();
  await relay.stop();
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    sent: total,
    received: latencies.length,
    p50: round(percentile(sorted, 50), 1),
    p95: round(percentile(sorted, 95), 1),
    p99: round(percentile(sorted, 99), 1),
    max: round(sorted[sorted.length - 1] ?? NaN, 1),
  };
}

async function main(): Promise<void> {
  const machine = machineInfo();
  emitJson({ bench: 'relay', machine, backend, eventCount, runs, rate, seconds, brokers });
  const database = await openBenchDatabase(backend);
  const platform = await platformOn(database.db, backend === 'postgres' ? 'server' : 'embedded');
  try {
    // Topic creation is set-up, not throughput: a relay on the empty log creates the topics first.
    const prefix = `bench${randomUUID().slice(0, 8)}.`;
    const warm = new KafkaRelay({ db: platform.db, store: platform.store, artifacts: platform.artifacts, config: relayConfig(prefix), log: note });
    await warm.start();
    await waitCaughtUp(platform, warm, 60_000);
    await warm.stop();
    const throughput: Awaited<ReturnType<typeof throughputRun>>[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await throughputRun(platform, prefix);
      note(`throughput run ${i + 1}: ${r.events} events in ${Math.round(r.ms)} ms = ${Math.round(r.perSecond)} events/s (${Math.round(r.cpuMs)} ms CPU in this process = ${Math.round(r.perCpuSecond)} events per CPU-second; load ${r.loadavg.join(' ')})`);
      emitJson({ kind: 'throughput', run: i + 1, ...r });
      throughput.push(r);
    }
    const latency = await latencyRun(platform);
    note(`latency at ${rate}/s for ${seconds} s: p50 ${latency.p50} ms, p99 ${latency.p99} ms (${latency.received}/${latency.sent} received)`);
    emitJson({ kind: 'latency', rate, seconds, ...latency });
    const median = [...throughput].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(throughput.length / 2)] ?? {
      perSecond: NaN,
      perCpuSecond: NaN,
    };
    console.log(
      '\n' +
        markdownTable(
          ['measure', 'result', 'target', 'met'],
          [
            ['throughput (median of runs)', `${Math.round(median.perSecond).toLocaleString('en-US')} events/s (${throughput.map((t) => Math.round(t.perSecond)).join(', ')})`, '≥ 20,000 events/s', median.perSecond >= 20_000 ? 'yes' : 'no'],
            ['relay process CPU per event (median run)', `${Math.round(median.perCpuSecond).toLocaleString('en-US')} events per CPU-second`, '', ''],
            [`latency at ${rate} labels/s, p50 / p95 / p99 / max`, `${latency.p50} / ${latency.p95} / ${latency.p99} / ${latency.max} ms (${latency.received}/${latency.sent} received)`, 'p99 ≤ 500 ms', latency.p99 <= 500 && latency.received === latency.sent ? 'yes' : 'no'],
          ],
        ),
    );
    console.log(`\nmachine: nproc ${machine.nproc}, load ${machine.loadavg.join(' ')}, ${machine.uname}; backend ${backend}; commit ${machine.commit}`);
  } finally {
    await platform.store.close();
    await database.dispose();
  }
}

await main();
