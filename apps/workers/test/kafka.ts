import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { comparePositions, parsePosition } from '@refinery/events';
import { decodeIntegrationEvent, type IntegrationEvent } from '@refinery/integration-events';

/**
 * Test support for the Kafka relay: the real broker started by scripts/setup-kafka.sh.
 * Tests fail loudly (never skip) when it is missing: CI starts it in .ci/run.
 */
export async function requireKafkaBrokers(): Promise<string[]> {
  // Default: the broker scripts/setup-kafka.sh starts (README test command, .ci/run).
  const raw = process.env.KAFKA_BROKERS?.trim() || '127.0.0.1:19092';
  const brokers = raw.split(',').map((b) => b.trim());
  const admin = testKafka(brokers).admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } catch (err) {
    throw new Error(`the Kafka broker at ${raw} is not reachable (${(err as Error).message}): the relay tests need the real broker; start it with \`bash scripts/setup-kafka.sh start\` (or point KAFKA_BROKERS at one)`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return brokers;
}

export function testKafka(brokers: readonly string[]): Kafka {
  return new Kafka({ clientId: 'refinery-tests', brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Stops or starts the test broker through its script (same environment as the test process). */
export async function kafkaBroker(action: 'stop' | 'start'): Promise<void> {
  await promisify(execFile)('bash', [path.join(repoRoot, 'scripts/setup-kafka.sh'), action], { timeout: 120_000 });
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  event: IntegrationEvent;
}

/**
 * Reads topics from the beginning until `until` says enough (or the timeout passes); every value
 * is parsed and validated against its published schema on the way (an invalid one fails the test).
 */
export async function readTopics(
  brokers: readonly string[],
  topics: readonly string[],
  until: (messages: readonly ConsumedMessage[]) => boolean,
  timeoutMs = 60_000,
): Promise<ConsumedMessage[]> {
  const consumer: Consumer = testKafka(brokers).consumer({ groupId: `test-${Math.random().toString(36).slice(2)}`, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const messages: ConsumedMessage[] = [];
  let failure: Error | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        try {
          const event = decodeIntegrationEvent(message.value)!;
          messages.push({ topic, partition, offset: message.offset, key: message.key?.toString() ?? '', event });
        } catch (err) {
          failure = err as Error;
        }
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!failure && !until(messages) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
  }
  if (failure) throw failure;
  return messages;
}

/**
 * The consumer's rule for at-least-once delivery: per topic and project, skip a message whose
 * (position, part) is not after the last one applied. Returns the messages that survive, in order.
 */
export function dedupeByPosition<T extends { topic: string; event: IntegrationEvent }>(messages: readonly T[]): T[] {
  const last = new Map<string, { position: string; part: number }>();
  const out: T[] = [];
  for (const m of messages) {
    const key = `${m.topic} ${m.event.projectId}`;
    const seen = last.get(key);
    if (seen) {
      const c = comparePositions(parsePosition(m.event.position), parsePosition(seen.position));
      if (c < 0 || (c === 0 && m.event.part <= seen.part)) continue;
    }
    last.set(key, { position: m.event.position, part: m.event.part });
    out.push(m);
  }
  return out;
}

/** Deletes the topics a test created (every topic starting with `prefix`), so the test broker does not fill up over runs. */
export async function deleteTopics(brokers: readonly string[], prefix: string): Promise<void> {
  const admin = testKafka(brokers).admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
