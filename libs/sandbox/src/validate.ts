import type { HeuristicKind, RawError, RawVote, SandboxRecord, Span, Vote } from './types.ts';
import { HeuristicError } from './types.ts';

export interface VoteSpec {
  kind: HeuristicKind;
  labels: readonly string[];
  targetAttribute?: string;
}

const MAX_LABELS_IN_MESSAGE = 20;

function allowedList(labels: readonly string[]): string {
  const shown = labels.slice(0, MAX_LABELS_IN_MESSAGE).map((l) => JSON.stringify(l));
  if (labels.length > MAX_LABELS_IN_MESSAGE) shown.push(`… (${labels.length} in total)`);
  return shown.join(', ');
}

/** Checks the sandbox output against the task (labels, span ranges) and converts token spans. */
export class VoteValidator {
  private readonly labelSet: Set<string>;

  constructor(readonly spec: VoteSpec) {
    if (spec.labels.length === 0) throw new TypeError('a heuristic needs at least one label');
    if (spec.kind === 'extraction' && !spec.targetAttribute) {
      throw new TypeError('an extraction heuristic needs a targetAttribute');
    }
    this.labelSet = new Set(spec.labels);
  }

  private fail(record: SandboxRecord, message: string): never {
    throw new HeuristicError({ kind: 'invalid_output', message, recordId: record.id });
  }

  private checkLabel(record: SandboxRecord, label: string): void {
    if (!this.labelSet.has(label)) {
      this.fail(
        record,
        `record ${JSON.stringify(record.id)}: unknown label ${JSON.stringify(label)}; allowed labels: ${allowedList(this.spec.labels)}`,
      );
    }
  }

  finalize(records: readonly SandboxRecord[], raw: readonly RawVote[]): Vote[] {
    if (raw.length !== records.length) {
      throw new HeuristicError({
        kind: 'invalid_output',
        message: `sandbox returned ${raw.length} votes for ${records.length} records`,
      });
    }
    const out: Vote[] = new Array<Vote>(records.length);
    const classification = this.spec.kind === 'classification';
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const v = raw[i];
      if (v === null || v === undefined) {
        out[i] = classification ? null : [];
      } else if (typeof v === 'string') {
        if (!classification) {
          this.fail(record, `record ${JSON.stringify(record.id)}: an extraction function must return or yield spans, got the string ${JSON.stringify(v)}`);
        }
        this.checkLabel(record, v);
        out[i] = v;
      } else if (typeof v !== 'object') {
        this.fail(record, `record ${JSON.stringify(record.id)}: malformed sandbox output ${JSON.stringify(v)}`);
      } else if (Array.isArray(v)) {
        if (classification) {
          this.fail(record, `record ${JSON.stringify(record.id)}: a classification function must return a label name or nothing, got a list`);
        }
        out[i] = this.spans(record, v);
      } else {
        this.fail(record, `record ${JSON.stringify(record.id)}: ${String((v as { invalid?: unknown }).invalid ?? 'malformed sandbox output')}`);
      }
    }
    return out;
  }

  /** Classification votes of `runLines` (abstentions left out by the sandbox). */
  finalizeSparse(ids: readonly string[], raw: readonly RawVote[]): { ids: string[]; labels: string[] } {
    if (this.spec.kind !== 'classification') throw new TypeError('sparse votes are for classification only');
    if (raw.length !== ids.length) {
      throw new HeuristicError({ kind: 'invalid_output', message: `sandbox returned ${raw.length} votes for ${ids.length} records` });
    }
    const labels: string[] = new Array<string>(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i];
      const record = { id: ids[i]!, attributes: {} };
      if (typeof v === 'string') {
        this.checkLabel(record, v);
        labels[i] = v;
      } else if (Array.isArray(v)) {
        this.fail(record, `record ${JSON.stringify(record.id)}: a classification function must return a label name or nothing, got a list`);
      } else if (v !== null && typeof v === 'object' && 'invalid' in v) {
        this.fail(record, `record ${JSON.stringify(record.id)}: ${String(v.invalid)}`);
      } else {
        this.fail(record, `record ${JSON.stringify(record.id)}: malformed sandbox output ${JSON.stringify(v)}`);
      }
    }
    return { ids: [...ids], labels };
  }

  private spans(record: SandboxRecord, raw: Array<[string, number, number, 0 | 1]>): Span[] {
    const attr = this.spec.targetAttribute!;
    const text = record.attributes[attr];
    const spans: Span[] = [];
    for (let k = 0; k < raw.length; k++) {
      const item: unknown = raw[k];
      if (!Array.isArray(item) || typeof item[0] !== 'string') {
        this.fail(record, `record ${JSON.stringify(record.id)}: malformed sandbox output for span #${k}`);
      }
      const [label, a, b, isToken] = item as [string, number, number, 0 | 1];
      this.checkLabel(record, label);
      const where = `record ${JSON.stringify(record.id)}, span #${k} (${JSON.stringify(label)})`;
      if (!Number.isInteger(a) || !Number.isInteger(b)) this.fail(record, `${where}: offsets must be integers, got ${a}..${b}`);
      if (typeof text !== 'string') {
        this.fail(record, `${where}: target attribute ${JSON.stringify(attr)} is not a text on this record`);
      }
      if (isToken) {
        const tokens = record.tokens?.[attr];
        if (!tokens) this.fail(record, `${where}: token offsets used but the record has no tokens for ${JSON.stringify(attr)}`);
        if (!(a >= 0 && a < b && b <= tokens.length)) {
          this.fail(record, `${where}: token span ${a}..${b} is invalid (need 0 <= tokenStart < tokenEnd <= ${tokens.length})`);
        }
        spans.push({ label, start: tokens[a]!.start, end: tokens[b - 1]!.end });
      } else {
        if (!(a >= 0 && a < b && b <= text.length)) {
          this.fail(record, `${where}: span ${a}..${b} is out of range (need 0 <= start < end <= ${text.length}, the length of ${JSON.stringify(attr)})`);
        }
        spans.push({ label, start: a, end: b });
      }
    }
    return spans;
  }
}

export function errorFromRaw(err: RawError, records: readonly SandboxRecord[], offset = 0): HeuristicError {
  const record = err.index === undefined ? undefined : records[err.index + offset];
  let message = err.message;
  if (record && !message.includes(JSON.stringify(record.id))) message = `record ${JSON.stringify(record.id)}: ${message}`;
  if (err.line !== undefined && !/\(line \d+/.test(message)) message += ` (line ${err.line}${err.column !== undefined ? `, column ${err.column}` : ''})`;
  return new HeuristicError({
    kind: err.kind,
    message,
    ...(record ? { recordId: record.id } : {}),
    ...(err.line !== undefined ? { line: err.line } : {}),
    ...(err.column !== undefined ? { column: err.column } : {}),
  });
}
