/** Public types shared by the JavaScript/TypeScript and Python runners. */

export type HeuristicKind = 'classification' | 'extraction';
export type HeuristicLanguage = 'javascript' | 'typescript' | 'python';

export interface HeuristicSource {
  language: HeuristicLanguage;
  /** The user's source. It must define a function named `lf`. */
  code: string;
  kind: HeuristicKind;
  /** Allowed label names. Any other label returned by the function fails the run. */
  labels: string[];
  /** Extraction only: the text attribute that span offsets refer to. */
  targetAttribute?: string;
}

export interface Token {
  text: string;
  /** Character offset (UTF-16 code units, like JavaScript string indices), inclusive. */
  start: number;
  /** Character offset, exclusive. */
  end: number;
}

export type AttributeValue = string | number | boolean | null;

export interface SandboxRecord {
  id: string;
  attributes: Record<string, AttributeValue>;
  /** Tokens per text attribute, e.g. `{ text: [{ text: 'Hello', start: 0, end: 5 }, ...] }`. */
  tokens?: Record<string, Token[]>;
}

export interface Span {
  label: string;
  /** Character offset into `record.attributes[targetAttribute]`, inclusive. */
  start: number;
  /** Character offset, exclusive. */
  end: number;
}

/**
 * One vote per record.
 * classification: a label name, or `null` = abstain.
 * extraction: a list of character spans (empty = abstain). Token spans are converted to characters.
 */
export type Vote = string | null | Span[];

export interface LookupList {
  terms: string[];
  /** Match ignoring case (default true). */
  caseInsensitive?: boolean;
  /** Only match whole words: no letter, digit or `_` directly before or after (default true). */
  wholeWord?: boolean;
}

export interface SandboxLimits {
  /** JavaScript: isolate heap limit in MB (default 64). Python: see `PythonPoolOptions.memoryMb`. */
  memoryMb: number;
  /**
   * Time limit per record in ms (default 50). Enforced as a budget per batch call
   * (perRecordMs × records + batchOverheadMs); when it runs out, the slow record is found by
   * re-running records alone with perRecordMs each (docs/sandbox.md).
   */
  perRecordMs: number;
  /** Extra ms allowed per batch call for (de)serialisation (default 50 JS, 2000 Python). */
  batchOverheadMs: number;
  /** Time limit for compiling and running the top level of the user's code (default 1000). */
  setupMs: number;
}

export const DEFAULT_LIMITS: SandboxLimits = Object.freeze({
  memoryMb: 64,
  perRecordMs: 50,
  batchOverheadMs: 50,
  setupMs: 1000,
});

/**
 * Records as text, one per line: `<id as a JSON string>,<attributes as a JSON object>` (JSON
 * text never holds a raw line break), e.g. what PostgreSQL's `to_json(id)::text || ',' ||
 * "values"::text` gives. The text goes to the sandbox as it is and is parsed there (off the
 * caller's thread, no re-encoding); the host parses it only to report an error.
 */
export interface RecordLines {
  text: string;
  count: number;
}

/** Classification votes that are not abstentions, in record order. */
export interface SparseVotes {
  ids: string[];
  labels: string[];
}

export interface HeuristicRunner {
  /** Votes in the order of `records`. Rejects with a `HeuristicError` if any record fails. */
  runBatch(records: SandboxRecord[]): Promise<Vote[]>;
  /**
   * Classification only, records without tokens: the same as `runBatch` for records given as
   * lines of JSON (see `RecordLines`); resolves with the votes that are not abstentions.
   */
  runLines?(batch: RecordLines): Promise<SparseVotes>;
  close(): Promise<void>;
}

/** Parses `RecordLines` on the host (error reports, tests). */
export function linesToRecords(batch: RecordLines): SandboxRecord[] {
  if (batch.count === 0 || batch.text === '') return [];
  const flat = JSON.parse(`[${batch.text.replace(/\n/g, ',')}]`) as unknown[];
  if (flat.length !== batch.count * 2) throw new TypeError(`record lines: expected ${batch.count} records, found ${flat.length / 2}`);
  const out: SandboxRecord[] = new Array(batch.count);
  for (let i = 0; i < batch.count; i++) {
    const id = flat[2 * i];
    const attributes = flat[2 * i + 1];
    if (typeof id !== 'string' || attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) {
      throw new TypeError(`record lines: line ${i + 1} is not "<id>",{attributes}`);
    }
    out[i] = { id, attributes: attributes as SandboxRecord['attributes'] };
  }
  return out;
}

export type HeuristicErrorKind = 'syntax' | 'runtime' | 'timeout' | 'memory' | 'invalid_output';

export interface HeuristicErrorInfo {
  kind: HeuristicErrorKind;
  message: string;
  recordId?: string;
  /** 1-based line in the user's source. */
  line?: number;
  /** 1-based column in the user's source. */
  column?: number;
}

export class HeuristicError extends Error implements HeuristicErrorInfo {
  readonly kind: HeuristicErrorKind;
  readonly recordId?: string;
  readonly line?: number;
  readonly column?: number;

  constructor(info: HeuristicErrorInfo) {
    super(info.message);
    this.name = 'HeuristicError';
    this.kind = info.kind;
    if (info.recordId !== undefined) this.recordId = info.recordId;
    if (info.line !== undefined) this.line = info.line;
    if (info.column !== undefined) this.column = info.column;
  }

  toJSON(): HeuristicErrorInfo {
    const out: HeuristicErrorInfo = { kind: this.kind, message: this.message };
    if (this.recordId !== undefined) out.recordId = this.recordId;
    if (this.line !== undefined) out.line = this.line;
    if (this.column !== undefined) out.column = this.column;
    return out;
  }
}

/**
 * What the sandboxes send back per record (JSON):
 * `null` | label string | `[[label, a, b, isToken 0/1], ...]` | `{ invalid: description }`.
 */
export type RawVote = null | string | Array<[string, number, number, 0 | 1]> | { invalid: string };

/** Error as reported by a sandbox for a batch: `index` is the record's position in the batch. */
export interface RawError {
  kind: HeuristicErrorKind;
  message: string;
  index?: number;
  line?: number;
  column?: number;
}

export type RawBatchResult = { votes: RawVote[] } | { error: RawError };
/** `runLines`: the ids and raw votes of the records that did not abstain. */
export type RawSparseResult = { ids: string[]; votes: RawVote[] } | { error: RawError };
