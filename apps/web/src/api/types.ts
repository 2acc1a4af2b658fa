/** Wire types of the refinery REST API (see docs in the server app). */

export type AttributeType = 'text' | 'category' | 'integer' | 'float' | 'boolean';

export interface Attribute {
  name: string;
  type: AttributeType;
}

export interface Project {
  id: string;
  name: string;
  /** ISO-8601 timestamp. */
  createdAt: string;
  recordCount: number;
  attributes: Attribute[];
}

export type RecordValue = string | number | boolean | null;

export interface RecordItem {
  id: string;
  seq: number;
  values: Record<string, RecordValue>;
}

export interface RecordsPage {
  records: RecordItem[];
  total: number;
  nextCursor: string | null;
}

/** Returned by every write: the event-log position to pass as `after` for read-your-writes. */
export interface WriteResult {
  revision: string;
  position: string;
}

export interface CreatedProject extends WriteResult {
  id: string;
}

export interface ImportResult {
  importId: string;
  records: number;
  position: string;
}

export type ImportContentType = 'text/csv' | 'application/json' | 'application/x-ndjson';

export interface UploadProgress {
  loaded: number;
  /** Total bytes, or null when the browser cannot compute it. */
  total: number | null;
}
