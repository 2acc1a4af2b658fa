import { describe, expect, it } from 'vitest';
import type { HeuristicEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';
import { specFor } from '../testing.ts';
import type { TaskDefinition } from '../labeling/config.ts';
import { heuristicDecider, lookupListDecider } from './decider.ts';
import { buildVoteMatrix, computeHeuristicStats } from './stats.ts';

const P = '00000000-0000-4000-8000-000000000001';
const RUN = '00000000-0000-4000-8000-0000000000aa';
const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);
const task: TaskDefinition = {
  id: 't1',
  name: 'Spam',
  kind: 'single_label',
  attribute: null,
  allowOverlap: false,
  labels: new Map([
    ['ham', { id: 'ham', name: 'HAM', color: '#000000', hotkey: null, description: '' }],
    ['spam', { id: 'spam', name: 'SPAM', color: '#000000', hotkey: null, description: '' }],
  ]),
};
const ref = { projectId: P, heuristicId: 'h1' };
const created: HeuristicEvent = {
  type: 'HeuristicCreated',
  data: { ...ref, name: 'lf', description: '', taskId: 't1', type: 'labeling_function', language: 'javascript', code: 'function lf(){}', codeHash: H1 },
};
const given = specFor(heuristicDecider);
const code = (c: string) => (e: unknown) => e instanceof DomainError && e.code === c;

describe('heuristic decider', () => {
  it('creates a labeling function', () => {
    given([])
      .when({ type: 'CreateHeuristic', projectId: P, heuristicId: 'h1', name: 'lf', heuristicType: 'labeling_function', task, language: 'javascript', code: 'function lf(){}', codeHash: H1 })
      .then([created]);
  });
  it('refuses a labeling function without language or code, an unknown task, and a second creation', () => {
    const base = { type: 'CreateHeuristic', projectId: P, heuristicId: 'h1', name: 'lf', heuristicType: 'labeling_function', task } as const;
    given([]).when({ ...base, code: 'x', codeHash: H1 }).thenThrows(code('language_required'));
    given([]).when({ ...base, language: 'python' }).thenThrows(code('code_required'));
    given([]).when({ ...base, task: undefined }).thenThrows(code('task_not_found'));
    given([created]).when({ ...base, language: 'python', code: 'x', codeHash: H1 }).thenThrows(code('heuristic_exists'));
  });
  it('checks lookup-list heuristics: list, label, text attribute', () => {
    const base = { type: 'CreateHeuristic', projectId: P, heuristicId: 'h2', name: 'brands', heuristicType: 'lookup_list', task, lookupListId: 'l1', textAttributes: ['text'], codeHash: H2 } as const;
    given([]).when({ ...base, lookupListExists: false, labelId: 'spam', attribute: 'text' }).thenThrows(code('lookup_list_not_found'));
    given([]).when({ ...base, lookupListExists: true, labelId: 'eggs', attribute: 'text' }).thenThrows(code('unknown_label'));
    given([]).when({ ...base, lookupListExists: true, labelId: 'spam', attribute: 'nope' }).thenThrows(code('invalid_attribute'));
    given([])
      .when({ ...base, lookupListExists: true, labelId: 'spam', attribute: 'text' })
      .then([
        {
          type: 'HeuristicCreated',
          data: { projectId: P, heuristicId: 'h2', name: 'brands', description: '', taskId: 't1', type: 'lookup_list', lookupListId: 'l1', labelId: 'spam', attribute: 'text', codeHash: H2 },
        },
      ]);
  });
  it('changes code (unchanged code is a no-op)', () => {
    given([created]).when({ type: 'ChangeHeuristicCode', code: 'function lf(){return 1}', codeHash: H2 }).then([
      { type: 'HeuristicCodeChanged', data: { ...ref, code: 'function lf(){return 1}', codeHash: H2 } },
    ]);
    given([created]).when({ type: 'ChangeHeuristicCode', code: 'function lf(){}', codeHash: H1 }).then([]);
  });
  it('requests runs of known code versions only; not after deletion', () => {
    given([created]).when({ type: 'RequestHeuristicRun', runId: RUN, codeHash: H1, sample: 10 }).then([
      { type: 'HeuristicRunRequested', data: { ...ref, runId: RUN, codeHash: H1, sample: 10 } },
    ]);
    given([created]).when({ type: 'RequestHeuristicRun', runId: RUN, codeHash: H2 }).thenThrows(code('unknown_code_version'));
    given([created, { type: 'HeuristicDeleted', data: ref }]).when({ type: 'RequestHeuristicRun', runId: RUN, codeHash: H1 }).thenThrows(code('heuristic_deleted'));
    given([]).when({ type: 'RequestHeuristicRun', runId: RUN, codeHash: H1 }).thenThrows(code('heuristic_not_found'));
  });
  it('cancels running runs only', () => {
    const requested: HeuristicEvent = { type: 'HeuristicRunRequested', data: { ...ref, runId: RUN, codeHash: H1 } };
    given([created, requested]).when({ type: 'CancelHeuristicRun', runId: RUN }).then([{ type: 'HeuristicRunCancelled', data: { ...ref, runId: RUN } }]);
    const failed: HeuristicEvent = { type: 'HeuristicRunFailed', data: { ...ref, runId: RUN, error: { kind: 'runtime', message: 'x' }, durationMs: 1 } };
    given([created, requested, failed]).when({ type: 'CancelHeuristicRun', runId: RUN }).thenThrows(code('run_finished'));
    given([created]).when({ type: 'CancelHeuristicRun', runId: RUN }).thenThrows(code('run_not_found'));
  });
  it('takes uploaded votes for external heuristics only', () => {
    const counts = { records: 2, votes: 2, byLabel: { spam: 2 } };
    given([created]).when({ type: 'RecordExternalVotes', runId: RUN, votesArtifact: H2, counts, durationMs: 0 }).thenThrows(code('not_external'));
    const ext: HeuristicEvent = { type: 'HeuristicCreated', data: { ...ref, name: 'ext', description: '', taskId: 't1', type: 'external' } };
    given([ext])
      .when({ type: 'RecordExternalVotes', runId: RUN, votesArtifact: H2, counts, durationMs: 0 })
      .then([
        { type: 'HeuristicRunRequested', data: { ...ref, runId: RUN, codeHash: H2 } },
        { type: 'HeuristicRunCompleted', data: { ...ref, runId: RUN, codeHash: H2, votesArtifact: H2, counts, durationMs: 0 } },
      ]);
    given([ext]).when({ type: 'RequestHeuristicRun', runId: RUN, codeHash: H1 }).thenThrows(code('external_heuristic'));
  });
});

describe('lookup list decider', () => {
  const given = specFor(lookupListDecider);
  it('saves trimmed, de-duplicated terms with defaults; names are unique', () => {
    given([])
      .when({ type: 'SaveLookupList', projectId: P, listId: 'l1', name: 'brands', terms: [' Acme', 'Acme', '', 'Globex'], otherNames: [] })
      .then([{ type: 'LookupListSaved', data: { projectId: P, listId: 'l1', name: 'brands', terms: ['Acme', 'Globex'], caseInsensitive: true, wholeWord: true } }]);
    given([]).when({ type: 'SaveLookupList', projectId: P, listId: 'l1', name: 'brands', terms: [], otherNames: ['brands'] }).thenThrows(code('lookup_list_name_taken'));
  });
});

describe('heuristic statistics', () => {
  it('matches a hand-computed example', () => {
    // 6 records, labels 0 = HAM, 1 = SPAM; reference: r0 HAM, r1 SPAM, r2 SPAM, r3 none, r4 HAM, r5 none
    //        r0    r1    r2    r3    r4    r5
    // A:     HAM   SPAM  .     SPAM  .     .
    // B:     HAM   HAM   SPAM  .     .     .
    // C:     .     .     SPAM  SPAM  SPAM  .
    const col = (pairs: Array<[number, number]>) => ({ records: Int32Array.from(pairs.map((p) => p[0])), labels: Int32Array.from(pairs.map((p) => p[1])) });
    const m = buildVoteMatrix(6, 2, [
      col([[3, 1], [0, 0], [1, 1]]),
      col([[0, 0], [1, 0], [2, 1]]),
      col([[2, 1], [3, 1], [4, 1]]),
    ]);
    const reference = Int32Array.from([0, 1, 1, -1, 0, -1]);
    const [a, b, c] = computeHeuristicStats(m, reference);
    // A: hits r0 r1 r3 = 3; overlaps r0 (B) r1 (B) r3 (C) = 3; conflicts r1 (B says HAM) = 1
    //    checked r0 r1 = 2, both correct; recall: labels voted HAM+SPAM, reference HAM 2 + SPAM 2 = 4 -> 2/4
    expect(a).toMatchObject({ coverage: 0.5, hits: 3, overlaps: 3, conflicts: 1, checked: 2, correct: 2, precision: 1, recall: 0.5 });
    expect(a!.byLabel[1]).toMatchObject({ hits: 2, checked: 1, correct: 1, referenceCount: 2, precision: 1, recall: 0.5 });
    // B: hits r0 r1 r2; overlaps r0 r1 r2; conflicts r1; checked 3, correct r0 r2 = 2; recall 2/4
    expect(b).toMatchObject({ hits: 3, overlaps: 3, conflicts: 1, checked: 3, correct: 2, precision: 2 / 3, recall: 0.5 });
    expect(b!.byLabel[0]).toMatchObject({ hits: 2, checked: 2, correct: 1, precision: 0.5, recall: 0.5 });
    // C: votes only SPAM: hits r2 r3 r4; overlaps r2 r3; conflicts none; checked r2 r4, correct r2; recall 1/2
    expect(c).toMatchObject({ coverage: 0.5, hits: 3, overlaps: 2, conflicts: 0, checked: 2, correct: 1, precision: 0.5, recall: 0.5 });
    expect(c!.byLabel[0]).toMatchObject({ hits: 0, precision: null, recall: 0 });
  });
  it('handles an empty matrix', () => {
    const m = buildVoteMatrix(0, 2, []);
    expect(computeHeuristicStats(m, new Int32Array(0))).toEqual([]);
  });
});

describe('statistics from columns', () => {
  it('computeColumnStats equals the row-major computation on random matrices', async () => {
    const { computeColumnStats } = await import('./stats.ts');
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    for (let trial = 0; trial < 20; trial++) {
      const n = 1 + Math.floor(rnd() * 300);
      const L = 1 + Math.floor(rnd() * 4);
      const H = Math.floor(rnd() * 6);
      const columns = Array.from({ length: H }, () => {
        const records: number[] = [];
        const labels: number[] = [];
        for (let i = 0; i < n; i++) if (rnd() < 0.4) (records.push(i), labels.push(Math.floor(rnd() * L)));
        return { records: Int32Array.from(records), labels: Int32Array.from(labels) };
      });
      const reference = Int32Array.from({ length: n }, () => (rnd() < 0.3 ? Math.floor(rnd() * L) : -1));
      expect(computeColumnStats(n, L, columns, reference)).toEqual(computeHeuristicStats(buildVoteMatrix(n, L, columns), reference));
    }
  });

  it('encodeColumn / decode round-trip positions (sparse: varint deltas with large gaps; dense: bitmap) and labels (1 to 8 bits)', async () => {
    const { encodeColumn, decodeColumnSeqs, decodeColumnCodes } = await import('./stats.ts');
    const roundTrip = (seqs: number[], labels: string[], format: number) => {
      const enc = encodeColumn(seqs, labels);
      expect(enc.seqs[0]).toBe(format);
      expect(Array.from(decodeColumnSeqs(enc.seqs, seqs.length))).toEqual(seqs);
      expect(Array.from(decodeColumnCodes(enc.codes, seqs.length, enc.labels.length), (c) => enc.labels[c])).toEqual(labels);
    };
    roundTrip([1, 2, 130, 131, 20_000, 2 ** 40, 2 ** 40 + 1], ['a', 'b', 'a', 'c', 'c', 'a', 'b'], 0);
    const dense = Array.from({ length: 5000 }, (_, i) => 1000 + i * 3 + (i % 2));
    roundTrip(dense, dense.map((_, i) => `l${i % 2}`), 1);
    roundTrip(dense, dense.map((_, i) => `l${i % 3}`), 1);
    roundTrip(dense, dense.map((_, i) => `l${i % 11}`), 1);
    roundTrip(dense, dense.map((_, i) => `l${i % 200}`), 1);
    roundTrip([], [], 0);
    expect(() => encodeColumn([3, 2], ['a', 'a'])).toThrow(/ascend/);
  });
});
