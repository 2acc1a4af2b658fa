import { describe, expect, it } from 'vitest';
import { catalog } from './index.ts';

const base = { projectId: '7d7e3f43-5a4c-4f1e-9c55-0c3a3d3f9a10', heuristicId: 'h1', name: 'n', description: '', taskId: 't1' };

describe('HeuristicCreated v2 (type crowd)', () => {
  it('reads a v1 event written before crowd heuristics existed, unchanged', () => {
    const v1 = { ...base, type: 'lookup_list', lookupListId: 'l1', labelId: 'a', attribute: 'text' };
    const current = catalog.upcast('HeuristicCreated', 1, v1);
    expect(current).toEqual(v1);
    expect(catalog.prepare('HeuristicCreated', current)).toEqual({ data: v1, schema: 2 });
  });

  it('writes crowd heuristics as v2; a build knowing only v1 would refuse them rather than misread them', () => {
    expect(catalog.prepare('HeuristicCreated', { ...base, type: 'crowd' })).toEqual({ data: { ...base, type: 'crowd' }, schema: 2 });
    expect(() => catalog.upcast('HeuristicCreated', 3, {})).toThrow(/newer than v2/);
    expect(() => catalog.prepare('HeuristicCreated', { ...base, type: 'oracle' })).toThrow(/invalid HeuristicCreated/);
  });
});
