#!/usr/bin/env -S npx tsx
import { writeFileSync } from 'node:fs';
import { startLabelTableConsumer } from './consumer.ts';

/**
 * label-table-consumer: reads refinery's integration events from Kafka and keeps a label table.
 *
 *   KAFKA_BROKERS=127.0.0.1:19092 npx tsx apps/label-table-consumer/src/main.ts [out.csv]
 *
 * Prints a summary every 5 s; with a file argument it also writes the table there as CSV
 * (rewritten every 5 s and on exit).
 */
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
if (brokers.length === 0) {
  console.error('set KAFKA_BROKERS (host:port, comma-separated), e.g. KAFKA_BROKERS=127.0.0.1:19092');
  process.exit(2);
}
const out = process.argv[2];
const consumer = await startLabelTableConsumer({ brokers, topicPrefix: process.env.KAFKA_TOPIC_PREFIX ?? 'refinery.' });

function csv(value: unknown): string {
  const s = value === null ? '' : String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function report(): void {
  const rows = consumer.table.rows();
  console.log(`label-table-consumer: ${rows.length} label rows from ${consumer.table.applied} messages (${consumer.table.duplicatesSkipped} repeats skipped, ${consumer.invalid} invalid)`);
  if (!out) return;
  const header = 'project_id,record_id,task_id,source,annotator,label_id,span_start,span_end,token_start,token_end';
  const lines = rows.map((r) => [r.projectId, r.recordId, r.taskId, r.source, r.annotator, r.labelId, r.spanStart, r.spanEnd, r.tokenStart, r.tokenEnd].map(csv).join(','));
  writeFileSync(out, [header, ...lines].join('\n') + '\n');
}

const timer = setInterval(report, 5000);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    clearInterval(timer);
    report();
    void consumer.stop().then(() => process.exit(0));
  });
}
