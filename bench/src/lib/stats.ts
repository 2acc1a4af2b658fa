export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summarize: no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: [...values] };
}

/** nearest-rank percentile of unsorted values */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;

/** 12345.6 -> "12,346" */
export const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
