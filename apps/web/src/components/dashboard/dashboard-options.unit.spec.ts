import { describe, expect, it } from 'vitest';
import type { TaskMetrics } from '../../api/metrics';
import { confidenceOption, confusionOption, distributionOption, progressOption, seriesName } from './dashboard-options';

const task: TaskMetrics = {
  taskId: 't',
  name: 'Sentiment',
  kind: 'single_label',
  labels: [
    { id: 'p', name: 'positive', color: '#059669' },
    { id: 'n', name: 'negative', color: '#dc2626' },
  ],
  distribution: [
    { source: 'manual', sourceId: 'u1', name: 'Ann', counts: { p: 2, n: 1 }, total: 3 },
    { source: 'reference', sourceId: null, name: null, counts: { n: 4 }, total: 4 },
    { source: 'heuristic', sourceId: 'h1', name: 'mentions love', counts: { p: 5 }, total: 5 },
  ],
  confusion: [{ source: 'heuristic', sourceId: 'h1', name: 'mentions love', labelIds: ['p', 'n'], matrix: [[1, 0, 2], [3, 4, 5]], voted: 8, correct: 5 }],
  confidence: { bins: 2, byLabel: { p: [1, 2] }, total: 3 },
};

describe('dashboard chart options', () => {
  it('names series by annotator, heuristic or source', () => {
    expect(task.distribution.map(seriesName)).toEqual(['Ann', 'Reference', 'mentions love (heuristic)']);
    expect(seriesName({ source: 'crowd', sourceId: 'crowd-7f3a', name: null })).toBe('crowd-7f3a (crowd)');
    expect(seriesName({ source: 'weak_supervision', sourceId: null, name: null })).toBe('Weak supervision');
  });

  it('distribution: one stacked series per label, one bar per source, zeros where a source lacks a label', () => {
    const o = distributionOption(task) as { xAxis: { data: string[] }; series: { name: string; data: number[]; itemStyle: { color: string } }[] };
    expect(o.xAxis.data).toEqual(['Ann', 'Reference', 'mentions love (heuristic)']);
    expect(o.series.map((s) => [s.name, s.data, s.itemStyle.color])).toEqual([
      ['positive', [2, 0, 5], '#059669'],
      ['negative', [1, 4, 0], '#dc2626'],
    ]);
  });

  it('confusion: heatmap cells [vote, reference, count] with a "no vote" column', () => {
    const o = confusionOption(task, task.confusion[0]!) as { xAxis: { data: string[] }; yAxis: { data: string[] }; visualMap: { max: number }; series: { data: number[][] }[] };
    expect(o.xAxis.data).toEqual(['positive', 'negative', 'no vote']);
    expect(o.yAxis.data).toEqual(['positive', 'negative']);
    expect(o.visualMap.max).toBe(5);
    expect(o.series[0]!.data).toContainEqual([2, 1, 5]);
    expect(o.series[0]!.data).toHaveLength(6);
  });

  it('confidence: bins labelled by range, a label without weak labels is all zeros', () => {
    const o = confidenceOption(task) as { xAxis: { data: string[] }; series: { data: number[] }[] };
    expect(o.xAxis.data).toEqual(['0.00–0.50', '0.50–1.00']);
    expect(o.series.map((s) => s.data)).toEqual([[1, 2], [0, 0]]);
  });

  it('progress: days in order, one series per annotator and source', () => {
    const o = progressOption([
      { taskId: 't', day: '2026-11-27', source: 'manual', annotator: 'u1', name: 'Ann', answers: 3 },
      { taskId: 't', day: '2026-11-26', source: 'manual', annotator: 'u1', name: 'Ann', answers: 2 },
      { taskId: 't', day: '2026-11-27', source: 'gold', annotator: 'u1', name: 'Ann', answers: 1 },
    ]) as { xAxis: { data: string[] }; series: { name: string; data: number[]; type: string }[] };
    expect(o.xAxis.data).toEqual(['2026-11-26', '2026-11-27']);
    expect(o.series.map((s) => [s.name, s.data, s.type])).toEqual([
      ['Ann', [2, 3], 'line'],
      ['Ann (gold)', [0, 1], 'line'],
    ]);
  });
});
