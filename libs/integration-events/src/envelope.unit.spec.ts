import { describe, expect, it } from 'vitest';
import { decodeIntegrationEvent, IntegrationEventError, integrationJsonSchemas, parseIntegrationEvent } from './envelope.ts';
import { integrationEventDefinitions } from './schemas.ts';

const envelope = {
  id: 'e1',
  type: 'record.labeled',
  version: 1,
  projectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
  position: '12/34',
  part: 0,
  parts: 1,
  occurredAt: '2026-11-27T10:00:00.000Z',
  actor: 'u',
  data: { recordId: 'r', taskId: 't', annotator: 'a', labelIds: ['x'], spans: [] },
};

describe('integration events', () => {
  it('validates the envelope and the data of its type and version', () => {
    expect(decodeIntegrationEvent(JSON.stringify(envelope))).toMatchObject({ type: 'record.labeled', data: { labelIds: ['x'] } });
    expect(() => parseIntegrationEvent({ ...envelope, position: '12' })).toThrow(/invalid envelope: position/);
    expect(() => parseIntegrationEvent({ ...envelope, data: { ...envelope.data, labelIds: 'x' } })).toThrow(/invalid record.labeled v1: labelIds/);
    expect(() => decodeIntegrationEvent('{not json')).toThrow(IntegrationEventError);
  });

  it('skips unknown types and versions only when asked to', () => {
    expect(() => parseIntegrationEvent({ ...envelope, version: 2 })).toThrow(/unknown integration event record.labeled v2/);
    expect(parseIntegrationEvent({ ...envelope, version: 2 }, { unknown: 'skip' })).toBeUndefined();
  });

  it('has one definition per type and version, each with a JSON Schema', () => {
    const keys = integrationEventDefinitions.map((d) => `${d.type}@${d.version}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(Object.keys(integrationJsonSchemas())).toHaveLength(keys.length);
  });
});
