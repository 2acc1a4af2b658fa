import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineEvent, EventCatalog, type EventOf, type NewEvent } from '@refinery/events';

/**
 * A label-assigned-like event for benchmarks (the product catalog has no labeling events
 * yet): ~300 bytes of JSON data, validated by a zod schema of realistic strictness.
 */
export const BenchLabelAssigned = defineEvent({
  type: 'BenchLabelAssigned',
  schema: z.object({
    projectId: z.uuid(),
    recordId: z.string().min(1).max(512),
    labelingTaskId: z.uuid(),
    labelId: z.uuid(),
    labelName: z.string().min(1).max(200),
    source: z.enum(['manual', 'weak_supervision', 'model']),
    confidence: z.number().min(0).max(1),
    span: z.object({ start: z.number().int().nonnegative(), end: z.number().int().nonnegative(), text: z.string() }).nullable(),
    assignedBy: z.uuid(),
  }),
});
export type BenchLabelAssigned = EventOf<typeof BenchLabelAssigned>;

export const benchCatalog = new EventCatalog([BenchLabelAssigned]);

const LABELS = ['positive', 'negative', 'neutral', 'mixed', 'off-topic'] as const;

/** Fixed ids per generator, like one project/task/user labeling many records. */
export function labelEventFactory(): (n: number) => NewEvent<BenchLabelAssigned> {
  const projectId = randomUUID();
  const labelingTaskId = randomUUID();
  const assignedBy = randomUUID();
  const labelIds = LABELS.map(() => randomUUID());
  return (n) => {
    const k = n % LABELS.length;
    return {
      type: 'BenchLabelAssigned',
      data: {
        projectId,
        recordId: `rec-${String(n).padStart(9, '0')}`,
        labelingTaskId,
        labelId: labelIds[k]!,
        labelName: LABELS[k]!,
        source: 'manual',
        confidence: Math.round(((n * 7919) % 1000) / 10) / 100,
        span: { start: n % 97, end: (n % 97) + 12, text: 'battery life' },
        assignedBy,
      },
    };
  };
}

/** bytes of JSON of one generated event's data */
export function sampleDataBytes(): number {
  return Buffer.byteLength(JSON.stringify(labelEventFactory()(12345).data));
}
