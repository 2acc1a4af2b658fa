/** Calls and types of the audit timeline routes (docs/audit.md). */
import { request } from '../../api/client';

export interface HistoryEntry {
  eventId: string;
  position: string;
  type: string;
  streamId: string;
  actor: string;
  actorName: string | null;
  at: string;
  recordId: string | null;
  taskId: string | null;
  aspect: string | null;
  before: unknown;
  after: unknown;
  summary: string;
}

export interface HistoryPage {
  items: HistoryEntry[];
  nextCursor: string | null;
}

export function fetchRecordHistory(projectId: string, recordId: string, options: { cursor?: string | null; after?: string | null; limit?: number } = {}): Promise<HistoryPage> {
  return request<HistoryPage>('GET', `/api/projects/${encodeURIComponent(projectId)}/records/${encodeURIComponent(recordId)}/history`, {
    query: { cursor: options.cursor ?? null, after: options.after ?? null, limit: options.limit ?? 20 },
  });
}

/** Label ids of an answer value (`{ labelIds, spans }`), spans as `label[start–end]`; null when there was none. */
export function answerLabels(value: unknown): string[] | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as { labelIds?: unknown; spans?: unknown };
  if (!Array.isArray(v.labelIds) && !Array.isArray(v.spans)) return null;
  const ids = Array.isArray(v.labelIds) ? v.labelIds.map(String) : [];
  const spans = Array.isArray(v.spans) ? (v.spans as { labelId: string; start: number; end: number }[]).map((s) => `${s.labelId}[${s.start}–${s.end}]`) : [];
  return [...ids, ...spans];
}
