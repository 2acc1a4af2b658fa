import { describe, expect, it } from 'vitest';
import type { VotesArtifact } from '@refinery/events';
import { computeWeakLabels, type WeakSupervisionInput } from './weak-supervision-fit.ts';

const votes = (recordIds: string[], v: VotesArtifact['votes'], kind: VotesArtifact['kind'] = 'classification'): VotesArtifact => ({ format: 'refinery.heuristic-votes.v1', kind, recordIds, votes: v });
const base: Omit<WeakSupervisionInput, 'heuristics'> = {
  kind: 'single_label',
  labelIds: ['ham', 'spam'],
  model: 'ours',
  parameters: {},
  recordIds: ['a', 'b', 'c', 'd'],
  reference: new Map(),
};
const finite = (xs: Array<number | number[]>) => xs.flat().every((x) => Number.isFinite(x) && x >= 0 && x <= 1);

describe('computeWeakLabels', () => {
  it('labels only covered records, with finite confidences, and reports votes and agreement per heuristic', () => {
    for (const model of ['ours', 'mv', 'ds'] as const) {
      const out = computeWeakLabels({
        ...base,
        model,
        heuristics: [
          { heuristicId: 'h1', votes: votes(['a', 'b'], ['spam', 'spam']) },
          { heuristicId: 'h2', votes: votes(['b', 'c'], ['spam', 'ham']) },
        ],
      });
      expect(out.artifact.recordIds, model).toEqual(['a', 'b', 'c']);
      expect(out.artifact.labels, model).toEqual(['spam', 'spam', 'ham']);
      expect(finite(out.artifact.confidences), model).toBe(true);
      expect(out.counts, model).toEqual({ records: 4, covered: 3, labeled: 3, manual: 0, byLabel: { spam: 2, ham: 1 } });
      expect(out.votes).toEqual({ h1: 2, h2: 2 });
      expect(out.agreement).toEqual({ h1: 1, h2: 1 });
      expect(out.meanConfidence).toBeGreaterThan(0);
    }
  });

  it('no votes at all, a heuristic without a run, votes for unknown records or removed labels: no weak labels, nothing NaN', () => {
    const out = computeWeakLabels({
      ...base,
      heuristics: [
        { heuristicId: 'never-run', votes: null },
        { heuristicId: 'stale', votes: votes(['gone', 'a'], ['spam', 'removed-label']) },
      ],
    });
    expect(out.artifact.recordIds).toEqual([]);
    expect(out.counts).toEqual({ records: 4, covered: 0, labeled: 0, manual: 0, byLabel: {} });
    expect(out.votes).toEqual({ 'never-run': 0, stale: 0 });
    expect(out.agreement).toEqual({ 'never-run': null, stale: null });
    expect(out.meanConfidence).toBe(0);
    // zero records
    expect(computeWeakLabels({ ...base, recordIds: [], heuristics: [{ heuristicId: 'h', votes: null }] }).counts.records).toBe(0);
  });

  it("the refinery vote needs manual labels: none gives no weak labels; with them, the precise heuristic's label", () => {
    const heuristics = [
      { heuristicId: 'good', votes: votes(['a', 'b', 'c'], ['spam', 'spam', 'ham']) },
      { heuristicId: 'bad', votes: votes(['a', 'c'], ['ham', 'spam']) },
    ];
    expect(computeWeakLabels({ ...base, model: 'refinery', heuristics }).counts.labeled).toBe(0);
    const reference = new Map([
      ['a', { labelIds: ['spam'], spans: [] }],
      ['c', { labelIds: ['ham'], spans: [] }],
    ]);
    const out = computeWeakLabels({ ...base, model: 'refinery', heuristics, reference });
    expect(out.counts.manual).toBe(2);
    expect(out.artifact.recordIds).toEqual(['a', 'b', 'c']);
    expect(out.artifact.labels).toEqual(['spam', 'spam', 'ham']);
    expect(finite(out.artifact.confidences)).toBe(true);
  });

  it('multi-label: a label set per record with one confidence each', () => {
    const out = computeWeakLabels({
      ...base,
      kind: 'multi_label',
      labelIds: ['x', 'y'],
      heuristics: [
        { heuristicId: 'hx', votes: votes(['a', 'b'], ['x', 'x']) },
        { heuristicId: 'hy', votes: votes(['a', 'c'], ['y', 'y']) },
      ],
    });
    expect(out.artifact.kind).toBe('multi_label');
    const byRecord = new Map(out.artifact.recordIds.map((id, i) => [id, { labels: out.artifact.labels[i] as string[], conf: out.artifact.confidences[i] as number[] }]));
    expect(byRecord.get('a')!.labels).toEqual(['x', 'y']);
    // only labels some heuristic voted for on the record
    expect(byRecord.get('b')!.labels).toEqual(['x']);
    expect(byRecord.get('c')!.labels).toEqual(['y']);
    expect(byRecord.has('d')).toBe(false);
    for (const v of byRecord.values()) {
      expect(v.conf).toHaveLength(v.labels.length);
      expect(finite(v.conf)).toBe(true);
      expect(Math.min(...v.conf)).toBeGreaterThanOrEqual(0.5);
    }
  });

  it('spans: character spans mapped to tokens, predicted token spans reassembled with their own confidence', () => {
    const texts = ['Acme sells to Globex', 'nothing here', 'Globex and Acme Corp'];
    const at = (t: string, w: string): [string, number, number] => ['org', t.indexOf(w), t.indexOf(w) + w.length];
    const out = computeWeakLabels({
      kind: 'span',
      labelIds: ['org'],
      model: 'ours',
      parameters: {},
      recordIds: ['a', 'b', 'c'],
      texts,
      reference: new Map([['a', { labelIds: [], spans: [{ labelId: 'org', tokenStart: 0, tokenEnd: 1 }] }]]),
      heuristics: [
        { heuristicId: 'acme', votes: votes(['a', 'c'], [[at(texts[0]!, 'Acme')], [at(texts[2]!, 'Acme Corp')]], 'extraction') },
        { heuristicId: 'globex', votes: votes(['a', 'c'], [[at(texts[0]!, 'Globex')], [at(texts[2]!, 'Globex')]], 'extraction') },
      ],
    });
    expect(out.artifact.kind).toBe('extraction');
    expect(out.artifact.recordIds.length).toBeGreaterThan(0);
    const proposed = new Set(['Acme', 'Globex', 'Acme Corp']);
    out.artifact.recordIds.forEach((id, i) => {
      const text = texts[['a', 'b', 'c'].indexOf(id)]!;
      const spans = out.artifact.labels[i] as Array<[string, number, number, number, number]>;
      expect((out.artifact.confidences[i] as number[]).length).toBe(spans.length);
      for (const [label, start, end, tokenStart, tokenEnd] of spans) {
        expect(label).toBe('org');
        // whole tokens, and text some heuristic proposed
        expect(proposed.has(text.slice(start, end)), text.slice(start, end)).toBe(true);
        expect(tokenEnd).toBeGreaterThan(tokenStart);
      }
    });
    // the manual label of the first text marks only "Acme": the model learns that the Globex
    // heuristic is wrong and keeps the Acme spans; "Acme Corp" covers tokens 2..4 (Globex | and | Acme | Corp)
    expect(out.artifact.recordIds).toEqual(['a', 'c']);
    expect(out.artifact.labels).toEqual([[['org', 0, 4, 0, 1]], [['org', 11, 20, 2, 4]]]);
    expect(finite(out.artifact.confidences)).toBe(true);
    expect(out.counts).toMatchObject({ records: 3, covered: 2, manual: 1 });
  });
});
