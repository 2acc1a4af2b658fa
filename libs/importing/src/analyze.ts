import { checkBytes, yieldToEventLoop } from './bytes.ts';
import { FastPathRejected, csvRowsSync, diagnoseCsv } from './csv.ts';
import { ColumnStats, KIND_BOOLEAN, KIND_STRING, classifyString, convertValue, convertsTo } from './inference.ts';
import type { RawScalar } from './inference.ts';
import { jsonArrayRows, jsonlRows } from './json.ts';
import type { JsonRow } from './json.ts';
import { ImportError, assertFormat, resolveLimits } from './types.ts';
import type { AnalyzeOptions, AttributeSpec, AttributeType, ImportLimits, ImportPlan } from './types.ts';

const YIELD_EVERY = 16_384;

export const ALLOWED_VALUES = ['string', 'number', 'boolean', 'null'] as const;

/** State shared by the CSV and JSON scans of pass 1. */
class Analysis {
  readonly columns = new Map<string, ColumnStats>();
  readonly existing = new Map<string, AttributeType>();
  recordCount = 0;
  /** raw primary key value -> line of first occurrence */
  readonly keys = new Map<string, number>();
  firstMissingKeyLine: number | undefined;
  /** Whether some key may read differently once converted to a numeric/boolean type ("01", "1.50", "TRUE"). */
  nonCanonicalKeys = false;

  constructor(
    readonly limits: ImportLimits,
    readonly primaryKey: string | undefined,
    existingAttributes: AttributeSpec[] | undefined,
  ) {
    for (const a of existingAttributes ?? []) this.existing.set(a.name, a.type);
  }

  countRecord(line: number): void {
    this.recordCount++;
    if (this.recordCount > this.limits.maxRecords) {
      throw new ImportError('too_many_records', `The file has more than ${this.limits.maxRecords} records (line ${line})`, {
        line,
        limit: this.limits.maxRecords,
      });
    }
  }

  addColumn(name: string, line: number, column?: number): ColumnStats {
    if (this.columns.size >= this.limits.maxColumns) {
      throw new ImportError(
        'too_many_columns',
        `The file has more than ${this.limits.maxColumns} columns (line ${line})`,
        { line, limit: this.limits.maxColumns, ...(column !== undefined ? { actual: column } : {}) },
      );
    }
    const stats = new ColumnStats(name);
    this.columns.set(name, stats);
    return stats;
  }

  checkExisting(name: string, value: RawScalar, line: number): void {
    const type = this.existing.get(name);
    if (type !== undefined && !convertsTo(value, type)) {
      throw new ImportError(
        'attribute_type_conflict',
        `Attribute "${name}" is of type ${type} in the project, but line ${line} has the value ${JSON.stringify(value)} which is not a valid ${type}`,
        { attribute: name, existingType: type, line, value },
      );
    }
  }

  /** `value` undefined/null/'' means the record has no key. */
  addKey(value: RawScalar | null | undefined, line: number): void {
    if (value === undefined || value === null || value === '') {
      this.firstMissingKeyLine ??= line;
      return;
    }
    const key = String(value);
    if (!this.nonCanonicalKeys && typeof value === 'string' && !isCanonical(key)) this.nonCanonicalKeys = true;
    const firstLine = this.keys.get(key);
    if (firstLine !== undefined) throw duplicateKey(this.primaryKey!, key, firstLine, line);
    this.keys.set(key, line);
  }

  finish(format: ImportPlan['format']): ImportPlan {
    if (this.recordCount === 0) {
      throw new ImportError('empty_file', 'The file contains no records', {});
    }
    const fromCsv = format === 'csv';
    const attributes: AttributeSpec[] = [];
    for (const stats of this.columns.values()) {
      attributes.push({ name: stats.name, type: this.existing.get(stats.name) ?? stats.inferredType(fromCsv) });
    }
    const plan: ImportPlan = { format, attributes, recordCount: this.recordCount };
    const pk = this.primaryKey;
    if (pk !== undefined) {
      const spec = attributes.find((a) => a.name === pk);
      if (!spec) throw unknownPrimaryKey(pk, attributes.map((a) => a.name));
      if (this.firstMissingKeyLine !== undefined) throw missingKey(pk, this.firstMissingKeyLine);
      this.checkNormalizedKeys(pk, spec.type);
      plan.primaryKey = pk;
    }
    return plan;
  }

  /**
   * Record ids are String(typed value): for numeric/boolean keys, distinct raw values may
   * collide after conversion ("1.0" and "1" as float), so check again with the final type.
   */
  private checkNormalizedKeys(pk: string, type: AttributeType): void {
    if (type === 'text' || type === 'category' || !this.nonCanonicalKeys) return;
    const normalized = new Map<string, number>();
    for (const [raw, line] of this.keys) {
      const key = String(convertValue(raw, type));
      const firstLine = normalized.get(key);
      if (firstLine !== undefined) throw duplicateKey(pk, key, Math.min(firstLine, line), Math.max(firstLine, line));
      normalized.set(key, line);
    }
  }
}

/** True when converting `s` to the type it looks like gives back the same string. */
function isCanonical(s: string): boolean {
  const kind = classifyString(s);
  if (kind === KIND_STRING) return true;
  if (kind === KIND_BOOLEAN) return s === 'true' || s === 'false';
  return String(Number(s)) === s;
}

function duplicateKey(pk: string, value: string, firstLine: number, line: number): ImportError {
  return new ImportError(
    'duplicate_primary_key',
    `Duplicate value ${JSON.stringify(value)} of primary key "${pk}" on lines ${firstLine} and ${line}`,
    { primaryKey: pk, value, firstLine, line },
  );
}

function missingKey(pk: string, line: number): ImportError {
  return new ImportError('missing_primary_key', `The record on line ${line} has no value for the primary key "${pk}"`, {
    primaryKey: pk,
    line,
  });
}

function unknownPrimaryKey(pk: string, available: string[]): ImportError {
  return new ImportError(
    'unknown_primary_key',
    `The primary key "${pk}" is not an attribute of the file; available: ${available.map((a) => JSON.stringify(a)).join(', ')}`,
    { primaryKey: pk, available },
  );
}

export function describeJsonValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Pass 1: validates the whole file and infers attribute types without keeping records.
 * Throws ImportError.
 */
export async function analyzeImport(bytes: Buffer, opts: AnalyzeOptions): Promise<ImportPlan> {
  assertFormat(opts.format);
  const limits = resolveLimits(opts.limits);
  const start = checkBytes(bytes, limits);
  const analysis = new Analysis(limits, opts.primaryKey, opts.existingAttributes);
  if (opts.format === 'csv') await analyzeCsv(bytes, start, analysis);
  else await analyzeJson(opts.format === 'jsonl' ? jsonlRows(bytes, start, limits.maxLineBytes) : jsonArrayRows(bytes, start, limits.maxLineBytes), analysis);
  return analysis.finish(opts.format);
}

async function analyzeJson(rows: Generator<JsonRow>, a: Analysis): Promise<void> {
  const pk = a.primaryKey;
  let sinceYield = 0;
  for (const { line, index, value } of rows) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const found = describeJsonValue(value);
      throw new ImportError('not_an_object', `Record ${index + 1} on line ${line} is ${found === 'array' ? 'an array' : `a ${found}`}, expected a JSON object`, {
        line,
        index,
        found,
        expected: 'object',
      });
    }
    a.countRecord(line);
    const obj = value as Record<string, unknown>;
    for (const name in obj) {
      const v = obj[name];
      let stats = a.columns.get(name);
      if (stats === undefined) {
        if (name === '') {
          throw new ImportError('invalid_header', `The record on line ${line} has an empty attribute name`, {
            line,
            name,
            reason: 'empty',
          });
        }
        stats = a.addColumn(name, line);
      }
      if (v === null) continue;
      if (typeof v === 'object') {
        const found = describeJsonValue(v);
        throw new ImportError(
          'unsupported_value',
          `Attribute "${name}" on line ${line} is ${found === 'array' ? 'an array' : 'an object'}; only strings, numbers, booleans and null are allowed`,
          { line, index, attribute: name, found, allowed: [...ALLOWED_VALUES] },
        );
      }
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw new ImportError('unsupported_value', `Attribute "${name}" on line ${line} is a number out of range`, {
          line,
          index,
          attribute: name,
          found: 'non-finite number',
          allowed: [...ALLOWED_VALUES],
        });
      }
      const scalar = v as RawScalar;
      if (a.existing.size > 0) a.checkExisting(name, scalar, line);
      stats.addJson(scalar);
    }
    if (pk !== undefined) a.addKey(obj[pk] as RawScalar | null | undefined, line);
    if (++sinceYield === YIELD_EVERY) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
  }
}

async function analyzeCsv(bytes: Buffer, start: number, a: Analysis): Promise<void> {
  try {
    await analyzeCsvRows(bytes, start, a);
  } catch (err) {
    if (err instanceof FastPathRejected) await diagnoseCsv(bytes, start, a.limits.maxLineBytes, err);
    throw err;
  }
}

async function analyzeCsvRows(bytes: Buffer, start: number, a: Analysis): Promise<void> {
  const limits = a.limits;
  let header: ColumnStats[] | undefined;
  let headerLine = 1;
  let pkIndex = -1;
  const hasExisting = a.existing.size > 0;
  let sinceYield = 0;
  for (const row of csvRowsSync(bytes, start, limits.maxLineBytes)) {
    if (++sinceYield === YIELD_EVERY) {
      sinceYield = 0;
      await yieldToEventLoop();
    }
    const { fields, line } = row;
    if (row.size > limits.maxLineBytes) {
      throw new ImportError(
        'line_too_long',
        `The CSV record on line ${line} is ${row.size} bytes; at most ${limits.maxLineBytes} bytes are allowed per record`,
        { line, size: row.size, limit: limits.maxLineBytes },
      );
    }
    if (header === undefined) {
      headerLine = line;
      if (fields.length > limits.maxColumns) {
        throw new ImportError(
          'too_many_columns',
          `The header has ${fields.length} columns; at most ${limits.maxColumns} are allowed`,
          { line, limit: limits.maxColumns, actual: fields.length },
        );
      }
      const seen = new Map<string, number>();
      fields.forEach((name, i) => {
        if (name.trim() === '') {
          throw new ImportError('invalid_header', `Column ${i + 1} of the header (line ${line}) has an empty name`, {
            line,
            column: i + 1,
            name,
            reason: 'empty',
          });
        }
        const first = seen.get(name);
        if (first !== undefined) {
          throw new ImportError(
            'invalid_header',
            `The header (line ${line}) names columns ${first + 1} and ${i + 1} both ${JSON.stringify(name)}; column names must be unique`,
            { line, column: i + 1, firstColumn: first + 1, name, reason: 'duplicate' },
          );
        }
        seen.set(name, i);
      });
      header = fields.map((name) => a.addColumn(name, line));
      if (a.primaryKey !== undefined) {
        pkIndex = fields.indexOf(a.primaryKey);
        if (pkIndex === -1) throw unknownPrimaryKey(a.primaryKey, fields);
      }
      continue;
    }
    if (fields.length !== header.length) {
      throw new ImportError(
        'inconsistent_columns',
        `Line ${line} has ${fields.length} columns, but the header (line ${headerLine}) has ${header.length}`,
        { line, expected: header.length, actual: fields.length },
      );
    }
    a.countRecord(line);
    for (let i = 0; i < fields.length; i++) {
      const cell = fields[i]!;
      if (cell === '') continue;
      const stats = header[i]!;
      if (hasExisting) a.checkExisting(stats.name, cell, line);
      stats.addCsv(cell);
    }
    if (pkIndex !== -1) {
      const key = fields[pkIndex];
      if (key === undefined || key === '') throw missingKey(a.primaryKey!, line);
      a.addKey(key, line);
    }
  }
  if (header === undefined) throw new ImportError('empty_file', 'The file is empty', {});
}
