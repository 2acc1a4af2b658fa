import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatPosition, START, type Recorded } from '@refinery/events';
import { testBackends, type TestBackend } from '@refinery/events/testing';
import { platformOn, type Platform } from '@refinery/runtime';
import { TOPICS } from '@refinery/integration-events';
import { setupCheckpoints } from '@refinery/projector';
import { dedupeByPosition, deleteTopics, kafkaBroker, readTopics, requireKafkaBrokers, testKafka, type ConsumedMessage } from '../../test/kafka.ts';
import { KafkaRelay, RELAY_CHECKPOINT, type RelayConfig, type RelayOptions } from './relay.ts';
import { toIntegrationMessages, UntranslatableEventError } from './mapping.ts';

/**
 * The relay against the real Kafka broker (scripts/setup-kafka.sh) and a real log (PGlite).
 * Each test uses its own topic prefix, so topics left by earlier runs never interfere.
 */
let brokers: string[];
let backend: TestBackend;
let platform: Platform;
const relays: KafkaRelay[] = [];

beforeAll(async () => {
  brokers = await requireKafkaBrokers();
  backend = testBackends()[0]!; // PGlite: the relay's SQL is the projector's, covered on both backends there
  platform = await platformOn(await backend.open(), 'embedded');
});

/** releases a relay the crash test left hanging */
let releaseHung: (() => void) | undefined;

// A failed test must not leave its relay holding the lease for the next one.
afterEach(async () => {
  releaseHung?.();
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  for (const prefix of prefixes.splice(0)) await deleteTopics(brokers, prefix).catch(() => undefined);
});

afterAll(async () => {
  await platform?.store.close();
  await backend?.cleanup();
});

const prefixes: string[] = [];

function config(overrides: Partial<RelayConfig> = {}): RelayConfig {
  const topicPrefix = `t${randomUUID().slice(0, 8)}.`;
  prefixes.push(topicPrefix);
  return { brokers, topicPrefix, clientId: 'relay-test', partitions: 3, replicationFactor: 1, maxMessageBytes: 1_000_000, ...overrides };
}

function relay(cfg: RelayConfig, options: Partial<RelayOptions> = {}): KafkaRelay {
  const r = new KafkaRelay({
    db: platform.db,
    store: platform.store,
    artifacts: platform.artifacts,
    config: cfg,
    log: process.env.RELAY_TEST_LOG ? (m) => console.error(m) : () => undefined,
    minBackoffMs: 50,
    maxBackoffMs: 500,
    pollIntervalMs: 50,
    ...options,
  });
  relays.push(r);
  return r;
}

/** Each test's relay starts at the current end of the log, so it publishes only that test's events. */
async function resetCheckpoint(): Promise<string> {
  await setupCheckpoints(platform.db, []);
  const head = await platform.store.head();
  await platform.db.query(`delete from projection_checkpoints where name = $1`, [RELAY_CHECKPOINT]).catch(() => undefined);
  await platform.db.query(`insert into projection_checkpoints (name, version, checkpoint) values ($1, 1, $2)`, [RELAY_CHECKPOINT, head]);
  return head;
}

const labeled = (projectId: string, recordId: string, n: number) => ({
  type: 'RecordLabeled',
  data: { projectId, recordId, taskId: 'sentiment', annotator: `a${n % 3}`, labelIds: [n % 2 ? 'pos' : 'neg'], spans: [] },
});

async function label(projectId: string, recordId: string, n: number): Promise<void> {
  await platform.store.append(`record:${projectId}:${recordId}`, [labeled(projectId, recordId, n)], { actor: 'tester' });
}

/** `count` labels over the projects, appended in transactions of 500 (fast set-up). */
async function labelMany(projects: readonly string[], count: number): Promise<void> {
  for (let start = 0; start < count; start += 500) {
    await platform.store.transaction(async (appender) => {
      for (let i = start; i < Math.min(count, start + 500); i++) {
        const p = projects[i % projects.length]!;
        await appender.append(`record:${p}:r${i % 50}`, [labeled(p, `r${i % 50}`, i)], { actor: 'tester' });
      }
    });
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function logEvents(projectIds: readonly string[]): Promise<Recorded[]> {
  const out: Recorded[] = [];
  let at = formatPosition(START);
  for (;;) {
    const batch = await platform.store.readAll(at, { limit: 5000 });
    out.push(...batch.events.filter((e) => projectIds.includes((e.data as { projectId?: string }).projectId ?? '')));
    if (batch.events.length < 5000) return out;
    at = batch.checkpoint;
  }
}

async function caughtUp(r: KafkaRelay): Promise<boolean> {
  const s = r.status();
  return s.state === 'idle' && s.checkpoint === (await platform.store.head());
}

/** After dedupe, each project's messages on the labels topic are exactly its log events, in log order. */
function expectExactlyTheLog(messages: readonly ConsumedMessage[], events: readonly Recorded[]): void {
  const kept = dedupeByPosition(messages);
  const byProject = (list: { projectId: string; id: string }[]) => {
    const m = new Map<string, string[]>();
    for (const x of list) m.set(x.projectId, [...(m.get(x.projectId) ?? []), x.id]);
    return m;
  };
  expect(byProject(kept.map((m) => ({ projectId: m.event.projectId, id: m.event.id })))).toEqual(
    byProject(events.map((e) => ({ projectId: (e.data as { projectId: string }).projectId, id: e.id }))),
  );
}

describe('Kafka relay', () => {
  it('publishes schema-valid integration events in log order per project, keyed and partitioned by project', async () => {
    await resetCheckpoint();
    const cfg = config();
    const projects = [randomUUID(), randomUUID(), randomUUID()];
    for (const p of projects) {
      await platform.store.append(`project:${p}`, [{ type: 'ProjectCreated', data: { projectId: p, name: `p ${p.slice(0, 4)}` } }], { actor: 'tester' });
      await platform.store.append(
        `project:${p}`,
        [
          { type: 'LabelingTaskAdded', data: { projectId: p, taskId: 'sentiment', name: 'Sentiment', kind: 'single_label', attribute: null, allowOverlap: false } },
          { type: 'LabelAdded', data: { projectId: p, taskId: 'sentiment', labelId: 'pos', name: 'positive', color: '#00ff00', hotkey: 'p', description: '' } },
        ],
        { actor: 'tester' },
      );
    }
    await labelMany(projects, 300);
    const r = relay(cfg);
    await r.start();
    await until('the relay to catch up', () => caughtUp(r));

    const labelsTopic = `${cfg.topicPrefix}${TOPICS.labels}`;
    const events = (await logEvents(projects)).filter((e) => e.type !== 'ProjectCreated');
    const messages = await readTopics(brokers, [labelsTopic], (m) => m.length >= events.length);
    expect(messages).toHaveLength(events.length); // no restarts here: exactly once
    expectExactlyTheLog(messages, events);
    // keyed by project, one partition per project
    for (const p of projects) {
      const mine = messages.filter((m) => m.event.projectId === p);
      expect(new Set(mine.map((m) => m.key))).toEqual(new Set([p]));
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
    }
    const first = messages.find((m) => m.event.type === 'record.labeled')!;
    expect(first.event).toMatchObject({ version: 1, parts: 1, part: 0, actor: 'tester', data: { taskId: 'sentiment', spans: [] } });
    const projectTopic = await readTopics(brokers, [`${cfg.topicPrefix}${TOPICS.projects}`], (m) => m.length >= 3);
    expect(projectTopic.map((m) => m.event.type)).toEqual(['project.created', 'project.created', 'project.created']);
    expect(r.status()).toMatchObject({ state: 'idle', lag: 0, lastError: null, deadLettered: 0 });
    const status = await platform.db.query<{ state: string }>(`select state from relay_status where name = 'kafka'`);
    expect(status.rows[0]?.state).toBe('idle');
    await r.stop();
  });

  it('survives a broker restart mid-stream: nothing skipped, nothing reordered within a project', async () => {
    await resetCheckpoint();
    const cfg = config();
    const projects = [randomUUID(), randomUUID()];
    const r = relay(cfg);
    await r.start();
    let n = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await label(projects[n % 2]!, `r${n % 25}`, n);
        n++;
        if (n % 20 === 0) await new Promise((res) => setTimeout(res, 10));
      }
    })();
    await until('some messages to be published', () => r.status().published > 100);
    await kafkaBroker('stop');
    await until('the relay to notice the broker is gone', () => r.status().state === 'retrying', 30_000);
    expect(r.status().lastError).toBeTruthy();
    const checkpointWhileDown = r.status().checkpoint;
    await new Promise((res) => setTimeout(res, 1000));
    expect(r.status().checkpoint).toBe(checkpointWhileDown); // nothing advances while nothing is acknowledged
    await kafkaBroker('start');
    await new Promise((res) => setTimeout(res, 500));
    writing = false;
    await writer;
    await until('the relay to recover and catch up', () => caughtUp(r), 90_000);
    const events = await logEvents(projects);
    const messages = await readTopics(brokers, [`${cfg.topicPrefix}${TOPICS.labels}`], (m) => dedupeByPosition(m).length >= events.length, 90_000);
    expect(events.length).toBe(n);
    expectExactlyTheLog(messages, events);
    expect(r.status()).toMatchObject({ state: 'idle', failures: 0, lastError: null });
    await r.stop();
  });

  it('a crash between publish and checkpoint repeats messages but loses none and keeps the order', async () => {
    await resetCheckpoint();
    const cfg = config();
    const projects = [randomUUID(), randomUUID()];
    await labelMany(projects, 3000);
    // The first instance "dies" right after the broker acknowledged its second chunk: it hangs
    // holding the lease and never moves the checkpoint (a SIGKILLed process looks the same).
    let chunks = 0;
    const dead = new Promise<void>((res) => (releaseHung = res));
    const first = relay(cfg, {
      instanceId: 'crashing',
      batchSize: 1000,
      leaseMs: 1000,
      afterPublish: async () => {
        if (++chunks === 2) await dead;
      },
    });
    await first.start();
    await until('the first instance to publish and hang', () => chunks === 2);
    const checkpointAtCrash = first.status().checkpoint;
    const second = relay(cfg, { instanceId: 'successor', leaseMs: 1000 });
    await second.start();
    await until('the successor to take over and catch up', () => caughtUp(second), 60_000);
    const events = await logEvents(projects);
    const messages = await readTopics(brokers, [`${cfg.topicPrefix}${TOPICS.labels}`], (m) => dedupeByPosition(m).length >= events.length);
    expect(checkpointAtCrash).not.toBe(second.status().checkpoint);
    expect(messages.length).toBeGreaterThan(events.length); // the unacknowledged-by-checkpoint chunk went out twice
    expectExactlyTheLog(messages, events);
    // The hung instance wakes up: its checkpoint write is refused (the successor owns the lease),
    // and it sends nothing more (its lease is stale, so it waits for that write before sending).
    const publishedByFirst = first.status().published;
    releaseHung?.();
    await until('the old instance to notice it lost the lease', () => first.status().state !== 'publishing');
    // (retrying, or already standby once its next round found the lease taken)
    expect(['retrying', 'standby']).toContain(first.status().state);
    expect(first.status().published).toBe(publishedByFirst);
    expect((await platform.db.query<{ owner: string }>(`select owner from projection_checkpoints where name = $1`, [RELAY_CHECKPOINT])).rows[0]?.owner).toBe('successor');
    await first.stop();
    await second.stop();
  });

  it('dead-letters a poison event and one too large for the broker, and publishes everything after them', async () => {
    await resetCheckpoint();
    const cfg = config({ maxMessageBytes: 300_000 });
    // The broker refuses more than 20 kB on the records topic (the relay's own limit is higher).
    const admin = testKafka(brokers).admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: `${cfg.topicPrefix}${TOPICS.records}`, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '20000' }] }],
    });
    await admin.disconnect();
    const projectId = randomUUID();
    const importId = randomUUID();
    const appendImport = (type: string, data: object) => platform.store.append(`import:${projectId}:${importId}`, [{ type, data: { projectId, importId, ...data } }], { actor: 'tester' });
    await appendImport('RecordImportStarted', { format: 'json', attributes: [{ name: 'text', type: 'text' }], primaryKey: null, recordCount: 3, fileHash: 'a'.repeat(64), fileName: null });
    await appendImport('RecordsImported', { records: [{ id: 'big', values: { text: 'x'.repeat(50_000) } }] }); // > broker's 20 kB
    await appendImport('RecordsImported', { records: [{ id: 'huge', values: { text: 'y'.repeat(400_000) } }] }); // > relay's 300 kB
    await appendImport('RecordsImported', { records: [{ id: 'small', values: { text: 'fine' } }] });
    await label(projectId, 'poison', 1);
    await label(projectId, 'after-poison', 2);
    await appendImport('RecordImportCompleted', { recordCount: 3 });
    let transientFailures = 2;
    const r = relay(cfg, {
      translate: async (event) => {
        const data = event.data as { recordId?: string };
        if (data.recordId === 'poison') throw new UntranslatableEventError('simulated: cannot translate this event');
        // A transient fault (not a poison event): retried, never dead-lettered.
        if (data.recordId === 'after-poison' && transientFailures-- > 0) throw new Error('simulated transient failure');
        return toIntegrationMessages(event, { artifacts: platform.artifacts });
      },
    });
    await r.start();
    await until('the relay to catch up', () => caughtUp(r));
    expect(r.status().deadLettered).toBe(3);
    const topics = [TOPICS.records, TOPICS.labels, TOPICS.deadLetter].map((t) => `${cfg.topicPrefix}${t}`);
    // A produce request the broker refuses in part may have landed on other topics already:
    // those repeat (at least once), so the checks apply the consumer's dedupe rule.
    const all = await readTopics(brokers, topics, (m) => dedupeByPosition(m).length >= 6);
    const messages = dedupeByPosition(all);
    const records = messages.filter((m) => m.topic.endsWith(TOPICS.records)).map((m) => m.event);
    expect(records.map((e) => e.type)).toEqual(['record_import.started', 'records.imported', 'record_import.completed']);
    expect(records[1]!.data).toMatchObject({ records: [{ id: 'small' }] });
    expect(messages.filter((m) => m.topic.endsWith(TOPICS.labels)).map((m) => (m.event.data as { recordId: string }).recordId)).toEqual(['after-poison']);
    const letters = [...new Map(all.filter((m) => m.topic.endsWith(TOPICS.deadLetter)).map((m) => [m.event.id, m.event])).values()];
    expect(letters).toHaveLength(3);
    expect(letters.map((l) => l.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ eventType: 'RecordsImported', reason: 'too_large', topic: `${cfg.topicPrefix}records`, message: expect.stringContaining('broker refused') }),
        expect.objectContaining({ eventType: 'RecordsImported', reason: 'too_large', sizeBytes: expect.any(Number), message: expect.stringContaining('exceeds the limit') }),
        expect.objectContaining({ eventType: 'RecordLabeled', reason: 'untranslatable', message: 'simulated: cannot translate this event' }),
      ]),
    );
    expect(letters.every((l) => l.projectId === projectId)).toBe(true);
    await r.stop();
  });

  it('keeps retrying, reports the error and never advances while a broker is unreachable or a topic cannot be created', async () => {
    const start = await resetCheckpoint();
    const projectId = randomUUID();
    await label(projectId, 'r1', 1);
    const unreachable = relay(config({ brokers: ['127.0.0.1:1'] }));
    const noTopics = relay(config({ replicationFactor: 3 }), { instanceId: 'no-topics' });
    await unreachable.start();
    await until('the unreachable broker to be reported', () => unreachable.status().failures >= 2, 30_000);
    expect(unreachable.status()).toMatchObject({ state: 'retrying', published: 0 });
    expect(unreachable.status().lastError).toMatch(/connect|ECONNREFUSED/i);
    await unreachable.stop();
    await noTopics.start();
    await until('the topic failure to be reported', () => noTopics.status().failures >= 2, 30_000);
    expect(noTopics.status()).toMatchObject({ state: 'retrying', published: 0 });
    expect(noTopics.status().lastError).toMatch(/cannot create topic/);
    const row = await platform.db.query<{ checkpoint: string }>(`select checkpoint from projection_checkpoints where name = $1`, [RELAY_CHECKPOINT]);
    expect(row.rows[0]?.checkpoint).toBe(start);
    const status = await platform.db.query<{ state: string; last_error: string }>(`select state, last_error from relay_status where name = 'kafka'`);
    expect(status.rows[0]).toMatchObject({ state: 'retrying', last_error: expect.stringContaining('cannot create topic') });
    // The log takes writes as usual meanwhile.
    await label(projectId, 'r2', 2);
    const started = Date.now();
    await noTopics.stop();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
