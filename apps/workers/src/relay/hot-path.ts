import { catalog, type Recorded } from '@refinery/events';
import { integrationEventDefinition, type Envelope } from '@refinery/integration-events';
import { toIntegrationMessages, UntranslatableEventError, type MappingContext, type OutgoingMessage } from './mapping.ts';

/**
 * The relay's translation: the label events (almost all of the volume) on a short path, every
 * other type through `toIntegrationMessages`.
 *
 * The short path skips the schema check of the published data: each field it publishes is copied
 * verbatim from a log event that the catalog validated (and stripped of unknown keys) on append,
 * against a schema identical to the published one. `hot-path.unit.spec.ts` holds that identity
 * (catalog schema = published schema, field by field) and checks the output against the published
 * schema, so loosening either schema fails the test instead of publishing an invalid message.
 * The one field that does not come from the event's data (`decidedBy`, the actor) is checked here.
 */
export const VERBATIM_TYPES = {
  RecordLabeled: { publishes: 'record.labeled', copied: ['recordId', 'taskId', 'annotator', 'labelIds', 'spans'] },
  GoldLabelSet: { publishes: 'gold_label.set', copied: ['recordId', 'taskId', 'labelIds', 'spans'] },
} as const;

const recordLabeled = integrationEventDefinition('record.labeled', 1)!;
const goldLabelSet = integrationEventDefinition('gold_label.set', 1)!;
const recordLabeledSchema = catalog.definition('RecordLabeled').version;
const goldLabelSetSchema = catalog.definition('GoldLabelSet').version;

interface LabelData {
  projectId: string;
  recordId: string;
  taskId: string;
  annotator: string;
  labelIds: string[];
  spans: unknown[];
}

export async function translateForRelay(event: Recorded, ctx: MappingContext): Promise<OutgoingMessage[]> {
  return translateLabelEvent(event) ?? toIntegrationMessages(event, ctx);
}

/** The short path, synchronous (no promise per event); undefined for an event it does not take. */
export function translateLabelEvent(event: Recorded): OutgoingMessage[] | undefined {
  // Only data of the catalog's current version was validated as such (older versions are upcast on read).
  if (event.type === 'RecordLabeled' && event.meta.schema === recordLabeledSchema) {
    const d = event.data as LabelData;
    const data = { recordId: d.recordId, taskId: d.taskId, annotator: d.annotator, labelIds: d.labelIds, spans: d.spans };
    return [message(event, d.projectId, recordLabeled.type, recordLabeled.version, recordLabeled.topic, data)];
  }
  if (event.type === 'GoldLabelSet' && event.meta.schema === goldLabelSetSchema) {
    const d = event.data as LabelData;
    const decidedBy = event.meta.actor;
    if (typeof decidedBy === 'string' && decidedBy.length >= 1 && decidedBy.length <= 200) {
      const data = { recordId: d.recordId, taskId: d.taskId, decidedBy, labelIds: d.labelIds, spans: d.spans };
      return [message(event, d.projectId, goldLabelSet.type, goldLabelSet.version, goldLabelSet.topic, data)];
    }
    // an actor the schema does not accept: the full path names the problem and dead-letters it
  }
  return undefined;
}

function message(event: Recorded, projectId: string, type: string, version: number, topic: OutgoingMessage['topic'], data: object): OutgoingMessage {
  if (typeof projectId !== 'string') throw new UntranslatableEventError(`${event.type} ${event.id} has no projectId`);
  const envelope: Envelope = {
    id: event.id,
    type,
    version,
    projectId,
    position: event.position,
    part: 0,
    parts: 1,
    occurredAt: event.meta.at,
    actor: event.meta.actor,
    data,
  };
  return { topic, key: projectId, value: JSON.stringify(envelope), type, version, eventId: event.id, part: 0 };
}
