import { checkBytes } from './bytes.ts';
import { FastPathRejected, csvRowsSync, diagnoseCsv } from './csv.ts';
import { convertValue } from './inference.ts';
import type { RawScalar } from './inference.ts';
import { jsonArrayRows, jsonlRows } from './json.ts';
import { ImportError, assertFormat } from './types.ts';
import type { AttributeType, AttributeValue, ImportedRecord, ImportPlan } from './types.ts';

/** Pass 2 does not re-apply the analyze-time limits: the plan says the file was accepted. */
const UNLIMITED = {
  maxBytes: Number.POSITIVE_INFINITY,
  maxLineBytes: Number.POSITIVE_INFINITY,
  maxColumns: Number.POSITIVE_INFINITY,
  maxRecords: Number.POSITIVE_INFINITY,
};

function mismatch(message: string, details: Record<string, unknown>): ImportError {
  return new ImportError('plan_mismatch', `The file does not match the import plan: ${message}`, details);
}

function setValue(values: Record<string, AttributeValue>, name: string, value: AttributeValue): void {
  if (name === '__proto__') Object.defineProperty(values, name, { value, enumerable: true, writable: true, configurable: true });
  else values[name] = value;
}

function convertOrThrow(raw: RawScalar, type: AttributeType, name: string, line: number): AttributeValue {
  const value = convertValue(raw, type);
  if (value === undefined) throw mismatch(`value ${JSON.stringify(raw)} of "${name}" on line ${line} is not a valid ${type}`, { line, attribute: name, type });
  return value;
}

/**
 * Pass 2: streams the records of a file analysed by `analyzeImport`, with values converted to
 * the plan's attribute types, in batches of `batchSize` (file order).
 */
export async function* readRecords(bytes: Buffer, plan: ImportPlan, batchSize = 1000): AsyncGenerator<ImportedRecord[]> {
  assertFormat(plan.format);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const start = checkBytes(bytes, UNLIMITED);
  const names = plan.attributes.map((a) => a.name);
  const types = plan.attributes.map((a) => a.type);
  const pk = plan.primaryKey;
  const pkIndex = pk === undefined ? -1 : names.indexOf(pk);
  if (pk !== undefined && pkIndex === -1) throw mismatch(`the primary key "${pk}" is not an attribute of the plan`, { primaryKey: pk });
  const n = names.length;
  let batch: ImportedRecord[] = [];
  let count = 0;

  const keyOf = (values: Record<string, AttributeValue>, line: number): string | null => {
    if (pkIndex === -1) return null;
    const v = values[pk!];
    if (v === null || v === undefined) throw mismatch(`the record on line ${line} has no primary key`, { line });
    return String(v);
  };

  if (plan.format === 'csv') {
    let header: string[] | undefined;
    let columnIndex: number[] = [];
    const rows = csvRowsSync(bytes, start, 0);
    for (;;) {
      let next: IteratorResult<{ fields: string[]; line: number }>;
      try {
        next = rows.next();
      } catch (err) {
        if (err instanceof FastPathRejected) await diagnoseCsv(bytes, start, 0, err);
        throw err;
      }
      if (next.done) break;
      const { fields, line } = next.value;
      if (header === undefined) {
        header = fields;
        columnIndex = names.map((name) => header!.indexOf(name));
        const missing = names.filter((_, i) => columnIndex[i] === -1);
        if (missing.length > 0) throw mismatch(`the header lacks ${missing.join(', ')}`, { missing });
        continue;
      }
      if (fields.length !== header.length) throw mismatch(`line ${line} has ${fields.length} columns instead of ${header.length}`, { line });
      const values: Record<string, AttributeValue> = {};
      for (let i = 0; i < n; i++) {
        const cell = fields[columnIndex[i]!]!;
        setValue(values, names[i]!, cell === '' ? null : convertOrThrow(cell, types[i]!, names[i]!, line));
      }
      batch.push({ key: keyOf(values, line), values });
      count++;
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  } else {
    const rows = plan.format === 'jsonl' ? jsonlRows(bytes, start, Number.POSITIVE_INFINITY) : jsonArrayRows(bytes, start, Number.POSITIVE_INFINITY);
    for (const { line, value } of rows) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw mismatch(`line ${line} is not an object`, { line });
      const obj = value as Record<string, unknown>;
      const values: Record<string, AttributeValue> = {};
      for (let i = 0; i < n; i++) {
        const name = names[i]!;
        const v = Object.hasOwn(obj, name) ? obj[name] : undefined;
        let converted: AttributeValue;
        if (v === undefined || v === null) converted = null;
        else if (typeof v === 'object') throw mismatch(`"${name}" on line ${line} is not a scalar`, { line, attribute: name });
        else converted = convertOrThrow(v as RawScalar, types[i]!, name, line);
        setValue(values, name, converted);
      }
      batch.push({ key: keyOf(values, line), values });
      count++;
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
  if (count !== plan.recordCount) throw mismatch(`the file has ${count} records, the plan ${plan.recordCount}`, { expected: plan.recordCount, actual: count });
}
