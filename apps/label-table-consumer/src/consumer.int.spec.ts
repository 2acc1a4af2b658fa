import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '@refinery/events';
import { testBackends, type TestBackend } from '@refinery/events/testing';
import { CatchUpWaiter } from '@refinery/projector';
import { startProjector, type ProjectorHandle } from '@refinery/projector-app';
import { platformOn, type Platform } from '@refinery/runtime';
import { KafkaRelay } from '@refinery/workers';
import { deleteTopics, requireKafkaBrokers } from '@refinery/workers/testing';
import { startLabelTableConsumer, type LabelTableConsumer } from './consumer.ts';
import { compareRows, type LabelRow } from './label-table.ts';

/**
 * The example consumer against the real broker: the label table it rebuilds from the topics
 * equals the product's own read model (rm_record_labels, manual and gold rows).
 */
let brokers: string[];
let backend: TestBackend;
let platform: Platform;
let projector: ProjectorHandle;
let relay: KafkaRelay;
let consumer: LabelTableConsumer | undefined;
const topicPrefix = `c${randomUUID().slice(0, 8)}.`;

beforeAll(async () => {
  brokers = await requireKafkaBrokers();
  backend = testBackends()[0]!;
  platform = await platformOn(await backend.open(), 'embedded');
  projector = await startProjector(platform, { log: () => undefined });
  relay = new KafkaRelay({
    db: platform.db,
    store: platform.store,
    artifacts: platform.artifacts,
    config: { brokers, topicPrefix, clientId: 'consumer-test', partitions: 3, replicationFactor: 1, maxMessageBytes: 1_000_000 },
    log: process.env.RELAY_TEST_LOG ? (m) => console.error(m) : () => undefined,
    pollIntervalMs: 50,
  });
  await relay.start();
});

afterAll(async () => {
  await consumer?.stop();
  await relay?.stop();
  if (brokers) await deleteTopics(brokers, topicPrefix).catch(() => undefined);
  await projector?.stop();
  await platform?.store.close();
  await backend?.cleanup();
});

const at = (p: string) => `project:${p}`;
const rec = (p: string, r: string) => `record:${p}:${r}`;
const span = (labelId: string, start: number, end: number, tokenStart: number, tokenEnd: number) => ({ labelId, start, end, tokenStart, tokenEnd });

async function append(streamId: string, events: NewEvent[], actor = 'tester'): Promise<string> {
  return (await platform.store.append(streamId, events, { actor })).position;
}

/** A labeling history with every kind of change the table must follow. */
async function labelingHistory(p: string, options: { deleteAtEnd?: boolean } = {}): Promise<string> {
  await append(at(p), [{ type: 'ProjectCreated', data: { projectId: p, name: 'reviews' } }]);
  await append(at(p), [
    { type: 'LabelingTaskAdded', data: { projectId: p, taskId: 'sentiment', name: 'Sentiment', kind: 'single_label', attribute: null, allowOverlap: false } },
    { type: 'LabelingTaskAdded', data: { projectId: p, taskId: 'topics', name: 'Topics', kind: 'multi_label', attribute: null, allowOverlap: false } },
    { type: 'LabelingTaskAdded', data: { projectId: p, taskId: 'entities', name: 'Entities', kind: 'span', attribute: 'text', allowOverlap: false } },
    ...['pos', 'neg', 'neu'].map((labelId) => ({ type: 'LabelAdded', data: { projectId: p, taskId: 'sentiment', labelId, name: labelId, color: '#112233', hotkey: null, description: '' } })),
  ]);
  const annotators = ['ann-a', 'ann-b', 'ann-c'];
  for (let r = 0; r < 30; r++) {
    for (const [i, annotator] of annotators.entries()) {
      if ((r + i) % 4 === 0) continue;
      const labelIds = [['pos', 'neg', 'neu'][(r * (i + 1)) % 3]!];
      await append(rec(p, `r${r}`), [{ type: 'RecordLabeled', data: { projectId: p, recordId: `r${r}`, taskId: 'sentiment', annotator, labelIds, spans: [] } }]);
    }
    await append(rec(p, `r${r}`), [
      { type: 'RecordLabeled', data: { projectId: p, recordId: `r${r}`, taskId: 'topics', annotator: 'ann-a', labelIds: r % 2 ? ['price', 'quality'] : ['shipping'], spans: [] } },
      { type: 'RecordLabeled', data: { projectId: p, recordId: `r${r}`, taskId: 'entities', annotator: 'ann-b', labelIds: [], spans: [span('brand', 0, 5, 0, 1), span('product', 10, 18, 2, 4)] } },
    ]);
  }
  // Relabels replace, an empty answer clears, gold is set, replaced and cleared.
  await append(rec(p, 'r1'), [{ type: 'RecordLabeled', data: { projectId: p, recordId: 'r1', taskId: 'sentiment', annotator: 'ann-b', labelIds: ['pos'], spans: [] } }]);
  await append(rec(p, 'r2'), [{ type: 'RecordLabeled', data: { projectId: p, recordId: 'r2', taskId: 'sentiment', annotator: 'ann-b', labelIds: [], spans: [] } }]);
  await append(rec(p, 'r3'), [{ type: 'GoldLabelSet', data: { projectId: p, recordId: 'r3', taskId: 'sentiment', labelIds: ['neg'], spans: [] } }], 'expert-1');
  await append(rec(p, 'r3'), [{ type: 'GoldLabelSet', data: { projectId: p, recordId: 'r3', taskId: 'sentiment', labelIds: ['pos'], spans: [] } }], 'expert-2');
  await append(rec(p, 'r4'), [{ type: 'GoldLabelSet', data: { projectId: p, recordId: 'r4', taskId: 'sentiment', labelIds: ['neu'], spans: [] } }], 'expert-1');
  await append(rec(p, 'r5'), [{ type: 'GoldLabelSet', data: { projectId: p, recordId: 'r5', taskId: 'sentiment', labelIds: ['neg'], spans: [] } }], 'expert-1');
  await append(rec(p, 'r5'), [{ type: 'GoldLabelCleared', data: { projectId: p, recordId: 'r5', taskId: 'sentiment' } }], 'expert-1');
  // Configuration changes that rewrite existing labels.
  await append(at(p), [{ type: 'LabelsMerged', data: { projectId: p, taskId: 'sentiment', sourceLabelIds: ['neu'], targetLabelId: 'neg' } }]);
  await append(at(p), [{ type: 'LabelsMerged', data: { projectId: p, taskId: 'topics', sourceLabelIds: ['price'], targetLabelId: 'quality' } }]);
  await append(at(p), [{ type: 'LabelRemoved', data: { projectId: p, taskId: 'entities', labelId: 'product' } }]);
  await append(at(p), [{ type: 'LabelingTaskRemoved', data: { projectId: p, taskId: 'topics' } }]);
  await append(rec(p, 'r6'), [{ type: 'RecordLabeled', data: { projectId: p, recordId: 'r6', taskId: 'sentiment', annotator: 'ann-c', labelIds: ['neg'], spans: [] } }]);
  if (options.deleteAtEnd) return append(at(p), [{ type: 'ProjectDeleted', data: { projectId: p } }]);
  return append(rec(p, 'r7'), [{ type: 'RecordLabeled', data: { projectId: p, recordId: 'r7', taskId: 'sentiment', annotator: 'ann-a', labelIds: ['pos'], spans: [] } }]);
}

async function readModelRows(projectIds: readonly string[]): Promise<LabelRow[]> {
  const r = await platform.db.query<{
    project_id: string;
    record_id: string;
    task_id: string;
    source: 'manual' | 'gold';
    annotator: string;
    label_id: string;
    span_start: number | null;
    span_end: number | null;
    token_start: number | null;
    token_end: number | null;
  }>(
    `select project_id::text, record_id, task_id, source, annotator, label_id, span_start, span_end, token_start, token_end
     from rm_record_labels where source in ('manual', 'gold') and project_id::text = any($1::text[])`,
    [[...projectIds]],
  );
  return r.rows
    .map((x) => ({
      projectId: x.project_id,
      recordId: x.record_id,
      taskId: x.task_id,
      source: x.source,
      annotator: x.annotator,
      labelId: x.label_id,
      spanStart: x.span_start,
      spanEnd: x.span_end,
      tokenStart: x.token_start,
      tokenEnd: x.token_end,
    }))
    .sort(compareRows);
}

describe('label-table-consumer', () => {
  it('rebuilds from the topics the same label table as the read model', async () => {
    const kept = randomUUID();
    const deleted = randomUUID();
    await labelingHistory(kept);
    const last = await labelingHistory(deleted, { deleteAtEnd: true });
    await new CatchUpWaiter(platform.db).waitFor(last, ['record_labels'], 60_000);
    const expected = await readModelRows([kept, deleted]);
    expect(expected.length).toBeGreaterThan(80);
    expect(expected.every((r) => r.projectId === kept)).toBe(true); // the deleted project left nothing
    expect(expected.some((r) => r.source === 'gold')).toBe(true);
    expect(expected.some((r) => r.spanStart !== null)).toBe(true);

    const head = await platform.store.head();
    for (let i = 0; i < 1200 && relay.status().checkpoint !== head; i++) await new Promise((r) => setTimeout(r, 50));
    expect(relay.status()).toMatchObject({ checkpoint: head, lastError: null });

    consumer = await startLabelTableConsumer({ brokers, topicPrefix, log: () => undefined });
    const deadline = Date.now() + 60_000;
    const tableRows = () => consumer!.table.rows().filter((r) => r.projectId === kept || r.projectId === deleted);
    while (Date.now() < deadline && JSON.stringify(tableRows()) !== JSON.stringify(expected)) await new Promise((r) => setTimeout(r, 200));
    expect(tableRows()).toEqual(expected);
    expect(consumer.invalid).toBe(0);
  });
});
