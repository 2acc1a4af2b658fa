import { z } from 'zod';
import { integrationEventDefinitions, type IntegrationData, type IntegrationEventDefinition, type IntegrationEventType } from './schemas.ts';

/**
 * Every message value is one JSON envelope; the message key is the project id (so one project's
 * messages share a partition and keep their order), and the headers repeat `type` and `version`
 * for consumers that route without parsing.
 */
export const envelopeSchema = z.object({
  /** unique per message: the source log event's id, plus `#<part>` when the event was split */
  id: z.string().min(1).max(100),
  type: z.string().min(1).max(100),
  version: z.number().int().positive(),
  projectId: z.uuid(),
  /** position of the source event in the product's log ("<transaction>/<sequence>"); increases within a project */
  position: z.string().regex(/^\d{1,20}\/\d{1,20}$/),
  /** 0-based part and number of parts: an event too large for one message is split (records, weak labels) */
  part: z.number().int().nonnegative(),
  parts: z.number().int().positive(),
  /** when the source event was recorded (ISO-8601) */
  occurredAt: z.string(),
  /** who caused it: a user id, `system`, or a worker name */
  actor: z.string(),
  data: z.unknown(),
});
export type Envelope = z.output<typeof envelopeSchema>;

export type IntegrationEvent<T extends IntegrationEventType = IntegrationEventType> = T extends IntegrationEventType
  ? Omit<Envelope, 'type' | 'data'> & { type: T; data: IntegrationData<T> }
  : never;

const byKey = new Map<string, IntegrationEventDefinition>(integrationEventDefinitions.map((d) => [`${d.type}@${d.version}`, d]));

export function integrationEventDefinition(type: string, version: number): IntegrationEventDefinition | undefined {
  return byKey.get(`${type}@${version}`);
}

export class IntegrationEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrationEventError';
  }
}

/**
 * Validates an envelope and its data against the schema of its type and version.
 * Throws `IntegrationEventError` naming what was wrong; `unknown: 'skip'` returns undefined for a
 * type or version this build does not know (a newer producer), so consumers can move on.
 */
export function parseIntegrationEvent(value: unknown, options: { unknown?: 'throw' | 'skip' } = {}): IntegrationEvent | undefined {
  const envelope = envelopeSchema.safeParse(value);
  if (!envelope.success) throw new IntegrationEventError(`invalid envelope: ${describeIssues(envelope.error)}`);
  const definition = integrationEventDefinition(envelope.data.type, envelope.data.version);
  if (!definition) {
    if (options.unknown === 'skip') return undefined;
    throw new IntegrationEventError(`unknown integration event ${envelope.data.type} v${envelope.data.version}`);
  }
  const data = definition.data.safeParse(envelope.data.data);
  if (!data.success) throw new IntegrationEventError(`invalid ${definition.type} v${definition.version}: ${describeIssues(data.error)}`);
  return { ...envelope.data, data: data.data } as IntegrationEvent;
}

/** Parses a Kafka message value (UTF-8 JSON). */
export function decodeIntegrationEvent(value: Buffer | Uint8Array | string | null, options: { unknown?: 'throw' | 'skip' } = {}): IntegrationEvent | undefined {
  if (value === null) throw new IntegrationEventError('empty message value');
  const text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new IntegrationEventError(`message value is not JSON: ${(err as Error).message}`);
  }
  return parseIntegrationEvent(json, options);
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** The JSON Schema of each type and version (for docs and for consumers in other languages). */
export function integrationJsonSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of integrationEventDefinitions) out[`${d.type}@v${d.version}`] = z.toJSONSchema(d.data, { io: 'output' });
  return out;
}
