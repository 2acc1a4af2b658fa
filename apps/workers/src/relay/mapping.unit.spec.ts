import { describe, expect, it } from 'vitest';
import { catalog, type ArtifactStore, type Recorded } from '@refinery/events';
import { parseIntegrationEvent, TOPICS } from '@refinery/integration-events';
import { RELAYED_EVENT_TYPES, toIntegrationMessages, UntranslatableEventError } from './mapping.ts';

const P = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const noArtifacts: ArtifactStore = { put: async () => '', get: async () => undefined, has: async () => false };

function recorded(type: string, data: object, n = 1): Recorded {
  return { id: `00000000-0000-4000-8000-00000000000${n}`, type, data, streamId: `x:${P}`, revision: 0n, position: `10/${n}`, meta: { actor: 'user-1', at: '2026-11-27T10:00:00.000Z', schema: 1 } } as Recorded;
}

describe('integration event mapping', () => {
  it('reads only event types that exist in the catalog', () => {
    for (const type of RELAYED_EVENT_TYPES) expect(catalog.types).toContain(type);
  });

  it('turns a label into one schema-valid message keyed by the project', async () => {
    const [m, ...rest] = await toIntegrationMessages(
      recorded('RecordLabeled', { projectId: P, recordId: 'r1', taskId: 't', annotator: 'ann', labelIds: ['a'], spans: [] }),
      { artifacts: noArtifacts },
    );
    expect(rest).toEqual([]);
    expect(m).toMatchObject({ topic: TOPICS.labels, key: P, type: 'record.labeled', version: 1 });
    const event = parseIntegrationEvent(JSON.parse(m!.value));
    expect(event).toMatchObject({ type: 'record.labeled', projectId: P, position: '10/1', part: 0, parts: 1, actor: 'user-1', data: { recordId: 'r1', labelIds: ['a'] } });
  });

  it('never publishes code or UI details, and sends project deletion to every topic', async () => {
    const created = await toIntegrationMessages(
      recorded('HeuristicCreated', { projectId: P, heuristicId: 'h', name: 'n', description: '', taskId: 't', type: 'labeling_function', language: 'python', code: 'SECRET()', codeHash: 'a'.repeat(64) }),
      { artifacts: noArtifacts },
    );
    expect(created[0]!.value).not.toContain('SECRET');
    const deleted = await toIntegrationMessages(recorded('ProjectDeleted', { projectId: P }), { artifacts: noArtifacts });
    expect(new Set(deleted.map((m) => m.topic))).toEqual(new Set(Object.values(TOPICS).filter((t) => t !== TOPICS.deadLetter)));
  });

  it('splits a large record batch into ordered parts', async () => {
    const records = Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, values: { text: 'x'.repeat(1000) } }));
    const parts = await toIntegrationMessages(recorded('RecordsImported', { projectId: P, importId: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', records }), { artifacts: noArtifacts, partBytes: 64 * 1024 });
    expect(parts.length).toBeGreaterThan(4);
    const events = parts.map((m) => parseIntegrationEvent(JSON.parse(m.value))!);
    expect(events.map((e) => e.part)).toEqual(parts.map((_, i) => i));
    expect(events.every((e) => e.parts === parts.length && e.id.endsWith(`#${e.part}`))).toBe(true);
    expect(events.flatMap((e) => (e.data as { records: { id: string }[] }).records.map((r) => r.id))).toEqual(records.map((r) => r.id));
  });

  it('publishes the votes of a full run as weak labels, from its artifact', async () => {
    const votes = { format: 'refinery.heuristic-votes.v1', kind: 'classification', recordIds: Array.from({ length: 4500 }, (_, i) => `r${i}`), votes: Array.from({ length: 4500 }, () => 'pos') };
    const artifacts: ArtifactStore = { ...noArtifacts, get: async () => ({ bytes: new TextEncoder().encode(JSON.stringify(votes)), contentType: 'application/json' }) };
    const data = { projectId: P, heuristicId: 'h', runId: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', codeHash: 'a'.repeat(64), votesArtifact: 'b'.repeat(64), counts: { records: 4500, votes: 4500, byLabel: { pos: 4500 } }, durationMs: 5 };
    const messages = await toIntegrationMessages(recorded('HeuristicRunCompleted', data), { artifacts });
    expect(messages.map((m) => m.topic)).toEqual([TOPICS.heuristicRuns, TOPICS.weakLabels, TOPICS.weakLabels, TOPICS.weakLabels]);
    const chunks = messages.slice(1).map((m) => parseIntegrationEvent(JSON.parse(m.value))!.data as { chunk: number; chunks: number; votes: unknown[] });
    expect(chunks.map((c) => [c.chunk, c.chunks, c.votes.length])).toEqual([[0, 3, 2000], [1, 3, 2000], [2, 3, 500]]);
    // a preview run replaces nothing: no weak labels
    expect(await toIntegrationMessages(recorded('HeuristicRunCompleted', { ...data, sample: 10 }), { artifacts })).toHaveLength(1);
  });

  it('publishes the weak labels of a weak-supervision run with their confidences', async () => {
    const result = { format: 'refinery.weak-labels.v1', kind: 'multi_label', recordIds: ['r1', 'r2'], labels: [['a', 'b'], ['b']], confidences: [[0.9, 0.6], [0.7]] };
    const artifacts: ArtifactStore = { ...noArtifacts, get: async () => ({ bytes: new TextEncoder().encode(JSON.stringify(result)), contentType: 'application/json' }) };
    const data = {
      projectId: P,
      taskId: 't',
      runId: '2a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      model: 'ours',
      parameters: {},
      heuristics: [{ heuristicId: 'h1', runId: null, votesArtifact: null, votes: 0 }],
      resultArtifact: 'c'.repeat(64),
      counts: { records: 2, covered: 2, labeled: 2, byLabel: { a: 1, b: 2 } },
      meanConfidence: 0.73,
      agreement: { h1: null },
      durationMs: 3,
    };
    const messages = await toIntegrationMessages(recorded('WeakSupervisionCompleted', data), { artifacts });
    const events = messages.map((m) => parseIntegrationEvent(JSON.parse(m.value))!);
    expect(events.map((e) => e.type)).toEqual(['weak_supervision.completed', 'weak_supervision_labels.published']);
    expect(events[0]!.data).toMatchObject({ heuristicIds: ['h1'], meanConfidence: 0.73 });
    expect(events[1]!.data).toMatchObject({
      kind: 'multi_label',
      chunk: 0,
      chunks: 1,
      records: [
        { recordId: 'r1', labels: [{ labelId: 'a', confidence: 0.9 }, { labelId: 'b', confidence: 0.6 }], spans: [] },
        { recordId: 'r2', labels: [{ labelId: 'b', confidence: 0.7 }], spans: [] },
      ],
    });
  });

  it('refuses to send data that does not match the published schema', async () => {
    await expect(toIntegrationMessages(recorded('RecordLabeled', { projectId: P, recordId: '', taskId: 't', annotator: 'a', labelIds: [], spans: [] }), { artifacts: noArtifacts })).rejects.toThrow(
      UntranslatableEventError,
    );
  });
});
