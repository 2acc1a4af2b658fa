import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { decodeIntegrationEvent, TOPICS } from '@refinery/integration-events';
import { LabelTable } from './label-table.ts';

export interface LabelTableConsumerOptions {
  brokers: readonly string[];
  /** the relay's KAFKA_TOPIC_PREFIX (default `refinery.`) */
  topicPrefix?: string;
  /** a new group id reads the topics from the beginning (the default: a fresh one per start) */
  groupId?: string;
  clientId?: string;
  log?: (message: string) => void;
}

export interface LabelTableConsumer {
  readonly table: LabelTable;
  /** messages that failed schema validation (logged and skipped) */
  readonly invalid: number;
  stop(): Promise<void>;
}

/**
 * Rebuilds a label table from the relay's `labels` topic. Every message is
 * validated against its published schema (libs/integration-events); unknown types and newer
 * versions are skipped, so the consumer keeps working when the producer adds types.
 *
 * The table lives in memory, so each start reads the topics from the beginning (fresh group id).
 * A consumer that persists its table would commit offsets only after writing it, and keep the
 * last applied position per project with the rows (see docs/integrations.md).
 */
export async function startLabelTableConsumer(options: LabelTableConsumerOptions): Promise<LabelTableConsumer> {
  const prefix = options.topicPrefix ?? 'refinery.';
  const log = options.log ?? ((m: string) => console.error(m));
  const kafka = new Kafka({ clientId: options.clientId ?? 'label-table-consumer', brokers: [...options.brokers], logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: options.groupId ?? `label-table-${process.pid}-${Date.now()}`, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const table = new LabelTable();
  let invalid = 0;
  await consumer.connect();
  // One topic is enough: `labels` also carries project.deleted, in order with the labels.
  await consumer.subscribe({ topics: [`${prefix}${TOPICS.labels}`], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      let event;
      try {
        event = decodeIntegrationEvent(message.value, { unknown: 'skip' });
      } catch (err) {
        invalid++;
        log(`label-table-consumer: skipping invalid message ${topic}/${partition}@${message.offset}: ${(err as Error).message}`);
        return;
      }
      if (event) table.apply(topic, event);
    },
  });
  return {
    table,
    get invalid() {
      return invalid;
    },
    stop: () => consumer.disconnect(),
  };
}
