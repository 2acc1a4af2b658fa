import { describe, expect, it } from 'vitest';
import type { HeuristicEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';
import { specFor } from '../testing.ts';
import type { TaskDefinition } from '../labeling/config.ts';
import { crowdVote } from './crowd.ts';
import { heuristicDecider } from './decider.ts';

const P = '00000000-0000-4000-8000-000000000001';
const RUN = '00000000-0000-4000-8000-0000000000aa';
const labels = new Map([
  ['ham', { id: 'ham', name: 'HAM', color: '#000000', hotkey: null, description: '' }],
  ['spam', { id: 'spam', name: 'SPAM', color: '#000000', hotkey: null, description: '' }],
]);
const task: TaskDefinition = { id: 't1', name: 'Spam', kind: 'single_label', attribute: null, allowOverlap: false, labels };
const spanTask: TaskDefinition = { id: 't2', name: 'Names', kind: 'span', attribute: 'text', allowOverlap: false, labels };
const given = specFor(heuristicDecider);
const code = (c: string) => (e: unknown) => e instanceof DomainError && e.code === c;

describe('crowdVote', () => {
  it('votes the label most pseudonyms gave', () => {
    expect(crowdVote([['spam', 2], ['ham', 1]])).toBe('spam');
    expect(crowdVote([['ham', 1]])).toBe('ham');
    expect(crowdVote(new Map([['ham', 3], ['spam', 4]]))).toBe('spam');
  });
  it('abstains without answers and on a tie at the top', () => {
    expect(crowdVote([])).toBeNull();
    expect(crowdVote([['spam', 0]])).toBeNull();
    expect(crowdVote([['spam', 2], ['ham', 2]])).toBeNull();
    expect(crowdVote([['spam', 1], ['ham', 1], ['eggs', 3]])).toBe('eggs');
    expect(crowdVote([['eggs', 3], ['spam', 3], ['ham', 1]])).toBeNull();
  });
});

describe('crowd heuristics (decider)', () => {
  const ref = { projectId: P, heuristicId: 'h1' };
  const created: HeuristicEvent = { type: 'HeuristicCreated', data: { ...ref, name: 'crowd', description: '', taskId: 't1', type: 'crowd' } };
  it('are created for classification tasks without any definition', () => {
    given([]).when({ type: 'CreateHeuristic', projectId: P, heuristicId: 'h1', name: 'crowd', heuristicType: 'crowd', task }).then([created]);
    given([]).when({ type: 'CreateHeuristic', projectId: P, heuristicId: 'h1', name: 'crowd', heuristicType: 'crowd', task: spanTask }).thenThrows(code('crowd_needs_classification'));
    given([]).when({ type: 'CreateHeuristic', projectId: P, heuristicId: 'h1', name: 'crowd', heuristicType: 'crowd', task: undefined }).thenThrows(code('task_not_found'));
  });
  it('are neither run nor fed uploaded votes; they can be renamed and deleted', () => {
    given([created]).when({ type: 'RequestHeuristicRun', runId: RUN, codeHash: 'a'.repeat(64) }).thenThrows(code('crowd_heuristic'));
    given([created]).when({ type: 'RecordExternalVotes', runId: RUN, votesArtifact: 'b'.repeat(64), counts: { records: 0, votes: 0, byLabel: {} }, durationMs: 0 }).thenThrows(code('not_external'));
    given([created]).when({ type: 'ChangeHeuristicCode', code: 'x', codeHash: 'c'.repeat(64) }).thenThrows(code('not_a_labeling_function'));
    given([created]).when({ type: 'RenameHeuristic', name: 'the crowd' }).then([{ type: 'HeuristicRenamed', data: { ...ref, name: 'the crowd', description: '' } }]);
    given([created]).when({ type: 'DeleteHeuristic' }).then([{ type: 'HeuristicDeleted', data: ref }]);
  });
});
