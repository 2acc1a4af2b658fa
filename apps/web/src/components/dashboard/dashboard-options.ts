import type { ConfusionMatrix, DistributionSeries, ProgressPoint, TaskMetrics } from '../../api/metrics';

/** Chart options as plain data (the chart library reads them; kept free of its types so this stays testable). */
export type ChartOption = Record<string, unknown>;

const SOURCE_NAMES = { gold: 'Gold', reference: 'Reference', weak_supervision: 'Weak supervision' } as const;

/** A series' display name: the annotator or heuristic, else the source. */
export function seriesName(s: Pick<DistributionSeries, 'source' | 'sourceId' | 'name'>): string {
  if (s.source === 'manual') return s.name ?? s.sourceId ?? 'annotator';
  if (s.source === 'heuristic') return `${s.name ?? s.sourceId ?? 'heuristic'} (heuristic)`;
  if (s.source === 'crowd') return `${s.sourceId ?? 'crowd'} (crowd)`;
  return SOURCE_NAMES[s.source];
}

const FALLBACK_COLORS = ['#2563eb', '#059669', '#dc2626', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#4b5563'];
const labelColor = (task: TaskMetrics, i: number) => task.labels[i]?.color ?? FALLBACK_COLORS[i % FALLBACK_COLORS.length];
const tooltip = { trigger: 'axis', axisPointer: { type: 'shadow' } };

/** Stacked bars: one bar per source (annotator, reference, heuristic…), one stack segment per label. */
export function distributionOption(task: TaskMetrics): ChartOption {
  const sources = task.distribution;
  return {
    tooltip,
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: sources.map(seriesName), axisLabel: { interval: 0, rotate: sources.length > 5 ? 20 : 0 } },
    yAxis: { type: 'value', minInterval: 1 },
    series: task.labels.map((label, i) => ({
      type: 'bar',
      name: label.name,
      stack: 'labels',
      itemStyle: { color: labelColor(task, i) },
      data: sources.map((s) => s.counts[label.id] ?? 0),
    })),
  };
}

/** Heatmap: reference label (rows) against the source's vote (columns, the last "no vote"). */
export function confusionOption(task: TaskMetrics, m: ConfusionMatrix): ChartOption {
  const names = new Map(task.labels.map((l) => [l.id, l.name]));
  const rows = m.labelIds.map((id) => names.get(id) ?? id);
  const cols = [...rows, 'no vote'];
  const data: [number, number, number][] = [];
  let max = 1;
  m.matrix.forEach((row, r) =>
    row.forEach((n, c) => {
      data.push([c, r, n]);
      if (n > max) max = n;
    }),
  );
  return {
    tooltip: { position: 'top' },
    grid: { left: 8, right: 8, top: 8, bottom: 56, containLabel: true },
    xAxis: { type: 'category', data: cols, name: 'vote', nameLocation: 'middle', nameGap: 28, splitArea: { show: true } },
    yAxis: { type: 'category', data: rows, name: 'reference', inverse: true, splitArea: { show: true } },
    visualMap: { min: 0, max, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, inRange: { color: ['#f0fdf4', '#059669'] } },
    series: [{ type: 'heatmap', data, label: { show: true } }],
  };
}

/** Stacked histogram of weak-supervision confidence per label. */
export function confidenceOption(task: TaskMetrics): ChartOption {
  const hist = task.confidence;
  if (!hist) return {};
  const bins = Array.from({ length: hist.bins }, (_, i) => `${(i / hist.bins).toFixed(2)}–${((i + 1) / hist.bins).toFixed(2)}`);
  return {
    tooltip,
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: bins, name: 'confidence', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'value', minInterval: 1 },
    series: task.labels.map((label, i) => ({
      type: 'bar',
      name: label.name,
      stack: 'confidence',
      itemStyle: { color: labelColor(task, i) },
      data: hist.byLabel[label.id] ?? new Array<number>(hist.bins).fill(0),
    })),
  };
}

/** Answers per day, one line per annotator (gold decisions as their own series). */
export function progressOption(points: readonly ProgressPoint[]): ChartOption {
  const days = [...new Set(points.map((p) => p.day))].sort();
  const series = new Map<string, { name: string; data: number[] }>();
  for (const p of points) {
    const key = `${p.source}:${p.annotator}`;
    let s = series.get(key);
    if (!s) {
      s = { name: `${p.name ?? p.annotator}${p.source === 'gold' ? ' (gold)' : ''}`, data: days.map(() => 0) };
      series.set(key, s);
    }
    s.data[days.indexOf(p.day)]! += p.answers;
  }
  return {
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 8, right: 8, top: 32, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: days },
    yAxis: { type: 'value', minInterval: 1 },
    series: [...series.values()].map((s) => ({ type: days.length > 1 ? 'line' : 'bar', name: s.name, data: s.data })),
  };
}
