import { describe, expect, it } from 'vitest';
import type { ArtifactStore, Recorded } from '@refinery/events';
import { toIntegrationMessages } from './mapping.ts';

const P = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const noArtifacts: ArtifactStore = { put: async () => '', get: async () => undefined, has: async () => false };

describe('integration event mapping of crowd heuristics', () => {
  it('does not publish a crowd heuristic (heuristic.created v1 has no type crowd), nor dead-letters it', async () => {
    const event = { id: '00000000-0000-4000-8000-000000000001', type: 'HeuristicCreated', streamId: `heuristic:${P}:h`, revision: 0n, position: '10/1', meta: { actor: 'u', at: '2026-11-27T10:00:00.000Z', schema: 2 } };
    const crowd = { ...event, data: { projectId: P, heuristicId: 'h', name: 'crowd', description: '', taskId: 't', type: 'crowd' } } as unknown as Recorded;
    expect(await toIntegrationMessages(crowd, { artifacts: noArtifacts })).toEqual([]);
    const external = { ...event, data: { projectId: P, heuristicId: 'h', name: 'ext', description: '', taskId: 't', type: 'external' } } as unknown as Recorded;
    expect(await toIntegrationMessages(external, { artifacts: noArtifacts })).toHaveLength(1);
  });
});
