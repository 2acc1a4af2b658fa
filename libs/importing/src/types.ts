export type AttributeType = 'text' | 'category' | 'integer' | 'float' | 'boolean';

export interface AttributeSpec {
  name: string;
  type: AttributeType;
}

export type ImportFormat = 'csv' | 'json' | 'jsonl';

export type AttributeValue = string | number | boolean | null;

export interface ImportLimits {
  /** Maximum size of the uploaded file in bytes. */
  maxBytes: number;
  /** Maximum size of one JSONL line / one CSV record / one JSON array element, in bytes. */
  maxLineBytes: number;
  /** Maximum number of columns (attributes). */
  maxColumns: number;
  /** Maximum number of records. */
  maxRecords: number;
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = Object.freeze({
  maxBytes: 200 * 1024 * 1024,
  maxLineBytes: 1024 * 1024,
  maxColumns: 256,
  maxRecords: 5_000_000,
});

export interface ImportPlan {
  format: ImportFormat;
  /** In first-seen column order. */
  attributes: AttributeSpec[];
  recordCount: number;
  /** Attribute whose values become record ids. */
  primaryKey?: string;
}

export interface AnalyzeOptions {
  format: ImportFormat;
  primaryKey?: string;
  limits?: Partial<ImportLimits>;
  /**
   * Attributes the project already has. Their type never changes: the existing type wins
   * when every new value converts to it, otherwise `attribute_type_conflict` is thrown.
   */
  existingAttributes?: AttributeSpec[];
}

export interface ImportedRecord {
  /** String(value of the primary key attribute), or null when the plan has no primary key. */
  key: string | null;
  /** Every attribute of the plan is present; missing values are null. */
  values: Record<string, AttributeValue>;
}

export type ImportErrorCode =
  | 'unsupported_format'
  | 'empty_file'
  | 'invalid_utf8'
  | 'file_too_large'
  | 'line_too_long'
  | 'malformed_json'
  | 'not_an_object'
  | 'unsupported_value'
  | 'malformed_csv'
  | 'inconsistent_columns'
  | 'invalid_header'
  | 'too_many_columns'
  | 'too_many_records'
  | 'unknown_primary_key'
  | 'missing_primary_key'
  | 'duplicate_primary_key'
  | 'attribute_type_conflict'
  | 'plan_mismatch';

export class ImportError extends Error {
  readonly code: ImportErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ImportErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ImportError';
    this.code = code;
    this.details = details;
  }
}

export const ATTRIBUTE_TYPES: readonly AttributeType[] = ['text', 'category', 'integer', 'float', 'boolean'];
export const IMPORT_FORMATS: readonly ImportFormat[] = ['csv', 'json', 'jsonl'];

export function resolveLimits(partial: Partial<ImportLimits> | undefined): ImportLimits {
  const limits: ImportLimits = { ...DEFAULT_IMPORT_LIMITS };
  if (partial) {
    for (const key of Object.keys(DEFAULT_IMPORT_LIMITS) as (keyof ImportLimits)[]) {
      const value = partial[key];
      if (value === undefined) continue;
      if (typeof value !== 'number' || !(value > 0)) {
        throw new TypeError(`limits.${key} must be a positive number, got ${String(value)}`);
      }
      limits[key] = value;
    }
  }
  return limits;
}

export function assertFormat(format: unknown): asserts format is ImportFormat {
  if (!IMPORT_FORMATS.includes(format as ImportFormat)) {
    throw new ImportError('unsupported_format', `Unsupported import format ${JSON.stringify(format)}`, {
      format,
      allowed: [...IMPORT_FORMATS],
    });
  }
}

/**
 * Maps an HTTP Content-Type to an import format. Parameters such as `charset` are ignored.
 */
export function formatFromContentType(contentType: string | undefined): ImportFormat | undefined {
  if (!contentType) return undefined;
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  switch (mediaType) {
    case 'text/csv':
      return 'csv';
    case 'application/json':
      return 'json';
    case 'application/x-ndjson':
    case 'application/ndjson':
    case 'application/jsonl':
    case 'application/x-jsonl':
    case 'application/jsonlines':
    case 'application/x-jsonlines':
      return 'jsonl';
    default:
      return undefined;
  }
}
