import { describe, expect, it } from 'vitest';
import type { IntegrationEvent } from '@refinery/integration-events';
import { LabelTable } from './label-table.ts';

const P = '0b7a2c1e-4f3d-4a8b-9c6d-1e2f3a4b5c6d';
let seq = 0;
function msg(type: string, data: object, position = `100/${++seq}`, part = 0): IntegrationEvent {
  return { id: `e${seq}`, type, version: 1, projectId: P, position, part, parts: part + 1, occurredAt: '2026-11-27T10:00:00Z', actor: 'expert', data } as IntegrationEvent;
}
const labeled = (recordId: string, annotator: string, labelIds: string[]) => msg('record.labeled', { recordId, taskId: 't', annotator, labelIds, spans: [] });

describe('LabelTable', () => {
  it('replaces an answer, clears it with an empty one, and keeps one gold answer per record', () => {
    const table = new LabelTable();
    table.apply('labels', labeled('r1', 'a', ['x']));
    table.apply('labels', labeled('r1', 'a', ['y', 'z']));
    table.apply('labels', labeled('r2', 'a', ['x']));
    table.apply('labels', labeled('r2', 'a', []));
    table.apply('labels', msg('gold_label.set', { recordId: 'r1', taskId: 't', decidedBy: 'e1', labelIds: ['x'], spans: [] }));
    table.apply('labels', msg('gold_label.set', { recordId: 'r1', taskId: 't', decidedBy: 'e2', labelIds: ['y'], spans: [] }));
    expect(table.rows().map((r) => `${r.recordId} ${r.source} ${r.annotator} ${r.labelId}`)).toEqual(['r1 gold e2 y', 'r1 manual a y', 'r1 manual a z']);
  });

  it('skips repeats: a message not after the last applied one of its topic and project changes nothing', () => {
    const table = new LabelTable();
    const first = labeled('r1', 'a', ['x']);
    const second = labeled('r1', 'a', ['y']);
    table.apply('labels', first);
    table.apply('labels', second);
    // a relay restart sends both again
    expect(table.apply('labels', first)).toBe(false);
    expect(table.apply('labels', second)).toBe(false);
    expect(table.rows().map((r) => r.labelId)).toEqual(['y']);
    expect(table.duplicatesSkipped).toBe(2);
    // the same position on another topic is not a repeat
    expect(table.apply('other', first)).toBe(true);
  });

  it('follows merges, removals and deletions', () => {
    const table = new LabelTable();
    table.apply('labels', labeled('r1', 'a', ['x', 'y']));
    table.apply('labels', labeled('r2', 'b', ['x']));
    table.apply('labels', msg('labels.merged', { taskId: 't', sourceLabelIds: ['x'], targetLabelId: 'y' }));
    expect(table.rows().map((r) => `${r.recordId} ${r.labelId}`)).toEqual(['r1 y', 'r2 y']);
    table.apply('labels', msg('label.removed', { taskId: 't', labelId: 'y' }));
    expect(table.rows()).toEqual([]);
    table.apply('labels', labeled('r3', 'a', ['x']));
    table.apply('labels', msg('labeling_task.removed', { taskId: 't' }));
    expect(table.rows()).toEqual([]);
    table.apply('labels', labeled('r4', 'a', ['x']));
    table.apply('labels', msg('project.deleted', {}));
    expect(table.rows()).toEqual([]);
  });
});
