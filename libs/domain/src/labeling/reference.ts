import type { Span } from '@refinery/events';

export type ReferenceBasis = 'gold' | 'single' | 'unanimous';

export interface ReferenceLabel {
  basis: ReferenceBasis | null;
  labelIds: string[];
  spans: Span[];
  /** two or more annotators answered differently and no gold decision settles it */
  disagreement: boolean;
  annotators: number;
}

const signature = (a: { labelIds: string[]; spans: Span[] }) =>
  JSON.stringify([a.labelIds, a.spans.map((s) => [s.labelId, s.start, s.end])]);

/**
 * The reference label of a record for a task: the gold decision if there is one; otherwise
 * the answer of a single annotator, or the unanimous answer of several; otherwise none
 * (annotators disagree).
 */
export function referenceLabel(answers: readonly { labelIds: string[]; spans: Span[] }[], gold?: { labelIds: string[]; spans: Span[] }): ReferenceLabel {
  const given = answers.filter((a) => a.labelIds.length || a.spans.length);
  const distinct = new Set(given.map(signature));
  const disagreement = distinct.size > 1;
  if (gold) return { basis: 'gold', labelIds: gold.labelIds, spans: gold.spans, disagreement, annotators: given.length };
  if (given.length === 0) return { basis: null, labelIds: [], spans: [], disagreement: false, annotators: 0 };
  if (disagreement) return { basis: null, labelIds: [], spans: [], disagreement, annotators: given.length };
  return { basis: given.length === 1 ? 'single' : 'unanimous', labelIds: given[0]!.labelIds, spans: given[0]!.spans, disagreement, annotators: given.length };
}
