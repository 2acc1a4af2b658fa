import { describe, expect, it } from 'vitest';
import { catalog, type ArtifactStore, type Recorded } from '@refinery/events';
import { integrationEventDefinition, parseIntegrationEvent } from '@refinery/integration-events';
import { toIntegrationMessages, UntranslatableEventError } from './mapping.ts';
import { translateForRelay, VERBATIM_TYPES } from './hot-path.ts';

const P = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const noArtifacts: ArtifactStore = { put: async () => '', get: async () => undefined, has: async () => false };
const ctx = { artifacts: noArtifacts };

type JsonSchema = { properties: Record<string, unknown>; required?: string[] };

function recorded(type: string, data: object, meta: Partial<Recorded['meta']> = {}): Recorded {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    type,
    data,
    streamId: `record:${P}:r1`,
    revision: 0n,
    position: '10/1',
    meta: { actor: 'user-1', at: '2026-11-27T10:00:00.000Z', schema: catalog.definition(type).version, ...meta },
  } as Recorded;
}

const longest = { recordId: 'r'.repeat(512), taskId: 't'.repeat(64), annotator: 'a'.repeat(200), labelIds: ['l'.repeat(64), 'x'] };
const spans = [
  { labelId: 'l'.repeat(64), start: 0, end: 5, tokenStart: 0, tokenEnd: 1 },
  { labelId: 'x', start: 7, end: 9, tokenStart: 2, tokenEnd: 3 },
];

describe('relay hot path (label events without re-validation)', () => {
  it('publishes only fields whose catalog schema is the published schema, and nothing else', () => {
    for (const [logType, { publishes, copied }] of Object.entries(VERBATIM_TYPES)) {
      const log = catalog.definition(logType).schema.toJSONSchema() as JsonSchema;
      const published = integrationEventDefinition(publishes, 1)!.data.toJSONSchema() as JsonSchema;
      for (const field of copied) {
        // Same constraints (lengths, item shapes, integer offsets...): a value the catalog accepted is valid here.
        expect({ field, schema: log.properties[field] }).toEqual({ field, schema: published.properties[field] });
        expect(log.required).toContain(field);
        expect(published.required).toContain(field);
      }
      // Every published field is either copied or set by the hot path itself (decidedBy, checked there).
      const own = logType === 'GoldLabelSet' ? ['decidedBy'] : [];
      expect(Object.keys(published.properties).sort()).toEqual([...copied, ...own].sort());
    }
  });

  it('produces exactly the message of the validating translation, valid against the published schema', async () => {
    const cases = [
      recorded('RecordLabeled', { projectId: P, recordId: 'r1', taskId: 't', annotator: 'ann', labelIds: ['a'], spans: [] }),
      recorded('RecordLabeled', { projectId: P, ...longest, spans }),
      recorded('RecordLabeled', { projectId: P, recordId: 'r1', taskId: 't', annotator: 'ann', labelIds: [], spans: [] }),
      recorded('GoldLabelSet', { projectId: P, recordId: 'r1', taskId: 't', labelIds: ['a'], spans: [] }),
      recorded('GoldLabelSet', { projectId: P, recordId: longest.recordId, taskId: longest.taskId, labelIds: longest.labelIds, spans }, { actor: 'e'.repeat(200) }),
    ];
    for (const event of cases) {
      catalog.prepare(event.type, event.data); // the case is data the log would accept
      const fast = await translateForRelay(event, ctx);
      expect(fast).toEqual(await toIntegrationMessages(event, ctx));
      for (const m of fast) expect(parseIntegrationEvent(JSON.parse(m.value))).toMatchObject({ type: m.type, version: m.version, projectId: P });
    }
  });

  it('leaves an actor the schema refuses, and data of an older schema version, to the validating translation', async () => {
    const gold = { projectId: P, recordId: 'r1', taskId: 't', labelIds: ['a'], spans: [] };
    await expect(translateForRelay(recorded('GoldLabelSet', gold, { actor: '' }), ctx)).rejects.toThrow(UntranslatableEventError);
    await expect(translateForRelay(recorded('GoldLabelSet', gold, { actor: 'x'.repeat(201) }), ctx)).rejects.toThrow(/decidedBy/);
    // Not validated as the current version (upcast on read): the hot path must not vouch for it.
    const bad = recorded('RecordLabeled', { projectId: P, recordId: '', taskId: 't', annotator: 'ann', labelIds: [], spans: [] }, { schema: 0 });
    await expect(translateForRelay(bad, ctx)).rejects.toThrow(/recordId/);
  });

  it('hands every other type to the validating translation', async () => {
    const event = recorded('LabelRemoved', { projectId: P, taskId: 't', labelId: 'l' });
    expect(await translateForRelay(event, ctx)).toEqual(await toIntegrationMessages(event, ctx));
  });
});
