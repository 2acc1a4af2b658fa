import { describe, expect, it } from 'vitest';
import { DEFAULT_IMPORT_LIMITS, ImportError, analyzeImport, formatFromContentType, readRecords } from './index.ts';
import type { AnalyzeOptions, ImportFormat, ImportPlan, ImportedRecord } from './index.ts';

const buf = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

async function plan(format: ImportFormat, s: string | Buffer, opts: Partial<AnalyzeOptions> = {}): Promise<ImportPlan> {
  return analyzeImport(buf(s), { format, ...opts });
}

async function readAll(s: string | Buffer, p: ImportPlan, batchSize?: number): Promise<ImportedRecord[]> {
  const out: ImportedRecord[] = [];
  for await (const batch of readRecords(buf(s), p, batchSize)) out.push(...batch);
  return out;
}

async function importAll(format: ImportFormat, s: string | Buffer, opts: Partial<AnalyzeOptions> = {}) {
  const p = await plan(format, s, opts);
  return { plan: p, records: await readAll(s, p) };
}

async function failure(format: ImportFormat, s: string | Buffer, opts: Partial<AnalyzeOptions> = {}): Promise<ImportError> {
  try {
    await plan(format, s, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ImportError);
    return err as ImportError;
  }
  throw new Error('expected analyzeImport to throw');
}

const types = (p: ImportPlan): Record<string, string> => Object.fromEntries(p.attributes.map((a) => [a.name, a.type]));

describe('formatFromContentType', () => {
  it('maps media types and ignores parameters', () => {
    expect(formatFromContentType('text/csv; charset=utf-8')).toBe('csv');
    expect(formatFromContentType('application/json')).toBe('json');
    expect(formatFromContentType('Application/JSON;charset=UTF-8')).toBe('json');
    expect(formatFromContentType('application/x-ndjson')).toBe('jsonl');
    expect(formatFromContentType('application/jsonl')).toBe('jsonl');
    expect(formatFromContentType('application/ndjson')).toBe('jsonl');
    expect(formatFromContentType('text/plain')).toBeUndefined();
    expect(formatFromContentType(undefined)).toBeUndefined();
  });

  it('has the documented default limits', () => {
    expect(DEFAULT_IMPORT_LIMITS).toEqual({ maxBytes: 200 * 1024 * 1024, maxLineBytes: 1024 * 1024, maxColumns: 256, maxRecords: 5_000_000 });
  });
});

describe('CSV', () => {
  it('parses, infers types and converts values', async () => {
    const { plan: p, records } = await importAll('csv', 'id,text,n,f,b\n1,hello,3,1.5,TRUE\n2,,-4,2,false\n');
    expect(p).toEqual({
      format: 'csv',
      recordCount: 2,
      attributes: [
        { name: 'id', type: 'integer' },
        { name: 'text', type: 'category' },
        { name: 'n', type: 'integer' },
        { name: 'f', type: 'float' },
        { name: 'b', type: 'boolean' },
      ],
    });
    expect(records).toEqual([
      { key: null, values: { id: 1, text: 'hello', n: 3, f: 1.5, b: true } },
      { key: null, values: { id: 2, text: null, n: -4, f: 2, b: false } },
    ]);
  });

  it('handles BOM, CRLF, quoted fields with commas, quotes and newlines, blank lines and unicode', async () => {
    const csv = '\uFEFFid,text\r\n1,"a, ""quoted""\r\nmulti-line value"\r\n\r\n2,"naïve 日本語 🎉"\r\n3,plain\r\n';
    const { plan: p, records } = await importAll('csv', csv, { primaryKey: 'id' });
    expect(p.attributes.map((a) => a.name)).toEqual(['id', 'text']); // BOM not part of the first name
    expect(p.recordCount).toBe(3);
    expect(records.map((r) => r.values['text'])).toEqual(['a, "quoted"\r\nmulti-line value', 'naïve 日本語 🎉', 'plain']);
    expect(records.map((r) => r.key)).toEqual(['1', '2', '3']);
  });

  it('reports start lines of records after multi-line fields and blank lines', async () => {
    const csv = 'id,t\n1,"x\ny\nz"\n\n\n2,ok\n3,"a"\n4\n';
    const err = await failure('csv', csv);
    expect(err.code).toBe('inconsistent_columns');
    expect(err.details).toEqual({ line: 9, expected: 2, actual: 1 });
  });

  it('accepts a last record without line terminator and trailing empty cells', async () => {
    const { records } = await importAll('csv', 'a,b\nx,\n,y');
    expect(records.map((r) => r.values)).toEqual([
      { a: 'x', b: null },
      { a: null, b: 'y' },
    ]);
  });

  it.each([
    ['unclosed quote', 'a,b\n1,2\n3,"oops\n4,5\n', 3, 'CSV_QUOTE_NOT_CLOSED'],
    ['quote inside an unquoted field', 'a,b\n1,2\n3,ab"c"\n', 3, 'INVALID_OPENING_QUOTE'],
    ['characters after a closing quote', 'a,b\n1,2\n3,"ab"c\n', 3, 'CSV_INVALID_CLOSING_QUOTE'],
  ])('malformed_csv: %s, with csv-parse line info', async (_name, csv, line, csvCode) => {
    const err = await failure('csv', csv);
    expect(err.code).toBe('malformed_csv');
    expect(err.details['line']).toBe(line);
    expect(err.details['csvCode']).toBe(csvCode);
    expect(err.message).toContain(`line ${line}`);
  });

  it('inconsistent_columns with expected and actual counts', async () => {
    const err = await failure('csv', 'a,b,c\n1,2,3\n4,5,6,7\n');
    expect(err.code).toBe('inconsistent_columns');
    expect(err.details).toEqual({ line: 3, expected: 3, actual: 4 });
  });

  it('invalid_header: empty and duplicate names', async () => {
    const empty = await failure('csv', 'a,,c\n1,2,3\n');
    expect(empty.code).toBe('invalid_header');
    expect(empty.details).toMatchObject({ line: 1, column: 2, reason: 'empty' });
    const dup = await failure('csv', 'a,b,a\n1,2,3\n');
    expect(dup.code).toBe('invalid_header');
    expect(dup.details).toMatchObject({ line: 1, column: 3, firstColumn: 1, name: 'a', reason: 'duplicate' });
  });

  it('too_many_columns', async () => {
    const err = await failure('csv', 'a,b,c\n1,2,3\n', { limits: { maxColumns: 2 } });
    expect(err.code).toBe('too_many_columns');
    expect(err.details).toMatchObject({ limit: 2, actual: 3, line: 1 });
  });

  it('too_many_records', async () => {
    const err = await failure('csv', 'a\n1\n2\n3\n', { limits: { maxRecords: 2 } });
    expect(err.code).toBe('too_many_records');
    expect(err.details).toEqual({ limit: 2, line: 4 });
    await expect(plan('csv', 'a\n1\n2\n', { limits: { maxRecords: 2 } })).resolves.toMatchObject({ recordCount: 2 });
  });

  it('line_too_long for a long record, also one spanning lines', async () => {
    const err = await failure('csv', `a,b\n1,2\n3,${'x'.repeat(50)}\n`, { limits: { maxLineBytes: 40 } });
    expect(err.code).toBe('line_too_long');
    expect(err.details).toMatchObject({ line: 3, limit: 40 });
    const multi = await failure('csv', `a,b\n1,"${'y\n'.repeat(30)}"\n`, { limits: { maxLineBytes: 40 } });
    expect(multi.code).toBe('line_too_long');
    expect(multi.details).toMatchObject({ line: 2, limit: 40 });
    // multi-byte characters count as bytes
    const bytes = await failure('csv', `a\n${'é'.repeat(25)}\n`, { limits: { maxLineBytes: 40 } });
    expect(bytes.details).toMatchObject({ line: 2, size: 50 });
  });

  it('empty_file for a header without records', async () => {
    expect((await failure('csv', 'a,b\n')).code).toBe('empty_file');
    expect((await failure('csv', 'a,b\n\n\r\n')).code).toBe('empty_file');
  });

  it('missing_primary_key and unknown_primary_key', async () => {
    const missing = await failure('csv', 'id,t\n1,a\n,b\n', { primaryKey: 'id' });
    expect(missing.code).toBe('missing_primary_key');
    expect(missing.details).toEqual({ primaryKey: 'id', line: 3 });
    const unknown = await failure('csv', 'id,t\n1,a\n', { primaryKey: 'key' });
    expect(unknown.code).toBe('unknown_primary_key');
    expect(unknown.details).toEqual({ primaryKey: 'key', available: ['id', 't'] });
  });

  it('duplicate_primary_key reports the value and both lines', async () => {
    const err = await failure('csv', 'id,t\nA,1\nB,2\nC,3\nB,4\n', { primaryKey: 'id' });
    expect(err.code).toBe('duplicate_primary_key');
    expect(err.details).toEqual({ primaryKey: 'id', value: 'B', firstLine: 3, line: 5 });
  });

  it('duplicate_primary_key after conversion to the key type ("01" and "1" are both 1)', async () => {
    const err = await failure('csv', 'id,t\n1,a\n2,b\n01,c\n', { primaryKey: 'id' });
    expect(err.code).toBe('duplicate_primary_key');
    expect(err.details).toEqual({ primaryKey: 'id', value: '1', firstLine: 2, line: 4 });
    // as text they are different ids
    const { records } = await importAll('csv', 'id,t\n1,a\nx,b\n01,c\n', { primaryKey: 'id' });
    expect(records.map((r) => r.key)).toEqual(['1', 'x', '01']);
  });

  it('keys are the string of the typed value', async () => {
    const { records } = await importAll('csv', 'id,t\n+7,a\n1.50,b\n', { primaryKey: 'id' });
    expect(records.map((r) => r.key)).toEqual(['7', '1.5']);
  });
});

describe('CSV type inference', () => {
  const infer = async (values: string[]): Promise<string> => {
    const p = await plan('csv', `c,other\n${values.map((v) => `${v},x`).join('\n')}\n`);
    return p.attributes[0]!.type;
  };

  it('boolean, integer, float, text', async () => {
    expect(await infer(['true', 'FALSE', 'True', ''])).toBe('boolean');
    expect(await infer(['1', '-2', '+3', '007'])).toBe('integer');
    expect(await infer(['1', '2.5'])).toBe('float');
    expect(await infer(['1e3', '.5', '-2.', '3'])).toBe('float');
    expect(await infer(['', ''])).toBe('text');
    expect(await infer(['1', 'abc'])).toBe('category');
    expect(await infer(['true', '1'])).toBe('category');
    expect(await infer(['9007199254740993'])).toBe('category'); // beyond safe integers: kept as a string
  });

  it('category: at most 50 distinct values, each at most 64 characters', async () => {
    const fifty = Array.from({ length: 100 }, (_, i) => `v${i % 50}`);
    expect(await infer(fifty)).toBe('category');
    const fiftyOne = Array.from({ length: 102 }, (_, i) => `v${i % 51}`);
    expect(await infer(fiftyOne)).toBe('text');
    expect(await infer(['a'.repeat(64), 'b'])).toBe('category');
    expect(await infer(['a'.repeat(65), 'b'])).toBe('text');
  });

  it('category needs distinct <= half of the values once there are 20 values', async () => {
    expect(await infer(Array.from({ length: 19 }, (_, i) => `v${i}`))).toBe('category');
    expect(await infer(Array.from({ length: 20 }, (_, i) => `v${i % 10}`))).toBe('category');
    expect(await infer(Array.from({ length: 20 }, (_, i) => `v${i % 11}`))).toBe('text');
  });
});

describe('JSONL', () => {
  it('parses records, skips blank lines, fills missing keys with null, keeps file order', async () => {
    const { plan: p, records } = await importAll('jsonl', '{"a":1,"b":"x"}\n\n  \n{"c":true,"a":2}\r\n{"b":null}');
    expect(p).toEqual({
      format: 'jsonl',
      recordCount: 3,
      attributes: [
        { name: 'a', type: 'integer' },
        { name: 'b', type: 'category' },
        { name: 'c', type: 'boolean' },
      ],
    });
    expect(records).toEqual([
      { key: null, values: { a: 1, b: 'x', c: null } },
      { key: null, values: { a: 2, b: null, c: true } },
      { key: null, values: { a: null, b: null, c: null } },
    ]);
  });

  it('infers types over all values', async () => {
    const lines = [
      { i: 1, f: 1, b: true, m: 1, s: 'x', n: null, big: 1 },
      { i: 2, f: 2.5, b: false, m: 'two', s: 'y', n: null, big: 2 ** 60 },
    ];
    const { plan: p, records } = await importAll('jsonl', lines.map((l) => JSON.stringify(l)).join('\n'));
    expect(types(p)).toEqual({ i: 'integer', f: 'float', b: 'boolean', m: 'text', s: 'category', n: 'text', big: 'float' });
    expect(records[0]!.values['m']).toBe('1'); // numbers stringified in a mixed column
    expect(records[1]!.values['m']).toBe('two');
  });

  it('malformed_json with line and column (with and without "position" in the message)', async () => {
    const a = await failure('jsonl', '{"a":1}\n{"a":x}\n');
    expect(a.code).toBe('malformed_json');
    expect(a.details).toMatchObject({ line: 2, column: 6 });
    const b = await failure('jsonl', '{"a":1}\n\n{"a" 1}\n');
    expect(b.details).toMatchObject({ line: 3, column: 6 });
    const c = await failure('jsonl', '{"a":1}\n{"a":"é", "b":]\n');
    expect(c.details).toMatchObject({ line: 2, column: 15 });
    const d = await failure('jsonl', '{"a":1}\n{"a":\n');
    expect(d.details).toMatchObject({ line: 2, column: 6 });
    expect(d.message).toContain('line 2, column 6');
  });

  it('not_an_object with line and what was found', async () => {
    const err = await failure('jsonl', '{"a":1}\n\n[1,2]\n');
    expect(err.code).toBe('not_an_object');
    expect(err.details).toEqual({ line: 3, index: 1, found: 'array', expected: 'object' });
    expect((await failure('jsonl', '"x"\n')).details).toMatchObject({ line: 1, found: 'string' });
  });

  it('unsupported_value for nested objects and arrays', async () => {
    const err = await failure('jsonl', '{"a":1}\n{"a":2,"tags":["x"]}\n');
    expect(err.code).toBe('unsupported_value');
    expect(err.details).toMatchObject({ line: 2, attribute: 'tags', found: 'array', allowed: ['string', 'number', 'boolean', 'null'] });
    const obj = await failure('jsonl', '{"meta":{"k":1}}\n');
    expect(obj.details).toMatchObject({ line: 1, attribute: 'meta', found: 'object' });
  });

  it('line_too_long', async () => {
    const err = await failure('jsonl', `{"a":1}\n{"a":"${'x'.repeat(100)}"}\n`, { limits: { maxLineBytes: 50 } });
    expect(err.code).toBe('line_too_long');
    expect(err.details).toMatchObject({ line: 2, limit: 50, size: 108 });
  });

  it('too_many_columns counts attributes over all records', async () => {
    const err = await failure('jsonl', '{"a":1,"b":2}\n{"c":3}\n', { limits: { maxColumns: 2 } });
    expect(err.code).toBe('too_many_columns');
    expect(err.details).toMatchObject({ line: 2, limit: 2 });
  });

  it('too_many_records', async () => {
    const err = await failure('jsonl', '{"a":1}\n{"a":2}\n\n{"a":3}\n', { limits: { maxRecords: 2 } });
    expect(err.code).toBe('too_many_records');
    expect(err.details).toEqual({ limit: 2, line: 4 });
  });

  it('empty_file', async () => {
    expect((await failure('jsonl', '')).code).toBe('empty_file');
    expect((await failure('jsonl', '\uFEFF\n  \n')).code).toBe('empty_file');
  });

  it('primary keys: values become keys, numbers and strings with the same text collide', async () => {
    const { records } = await importAll('jsonl', '{"id":"a","t":1}\n{"id":"b","t":2}', { primaryKey: 'id' });
    expect(records.map((r) => r.key)).toEqual(['a', 'b']);
    const dup = await failure('jsonl', '{"id":1}\n{"id":2}\n{"id":"1"}\n', { primaryKey: 'id' });
    expect(dup.code).toBe('duplicate_primary_key');
    expect(dup.details).toEqual({ primaryKey: 'id', value: '1', firstLine: 1, line: 3 });
    const missing = await failure('jsonl', '{"id":1}\n{"t":2}\n', { primaryKey: 'id' });
    expect(missing.code).toBe('missing_primary_key');
    expect(missing.details).toEqual({ primaryKey: 'id', line: 2 });
    const unknown = await failure('jsonl', '{"t":1}\n{"u":2}\n', { primaryKey: 'id' });
    expect(unknown.code).toBe('unknown_primary_key');
    expect(unknown.details).toEqual({ primaryKey: 'id', available: ['t', 'u'] });
  });
});

describe('JSON array', () => {
  it('parses an array of objects, with unicode', async () => {
    const { plan: p, records } = await importAll('json', '\uFEFF[\n  {"t": "héllo 👋", "n": 1},\n  {"t": "b", "n": 2.5}\n]\n');
    expect(types(p)).toEqual({ t: 'category', n: 'float' });
    expect(records.map((r) => r.values)).toEqual([
      { t: 'héllo 👋', n: 1 },
      { t: 'b', n: 2.5 },
    ]);
  });

  it('handles strings containing brackets, commas and escaped quotes', async () => {
    const { records } = await importAll('json', '[{"t":"a],[b}{\\"c\\\\"},{"t":"\\\\"}]');
    expect(records.map((r) => r.values['t'])).toEqual(['a],[b}{"c\\', '\\']);
  });

  it('not_an_object with index and line', async () => {
    const err = await failure('json', '[\n{"a":1},\n"x",\n{"a":2}\n]');
    expect(err.code).toBe('not_an_object');
    expect(err.details).toEqual({ line: 3, index: 1, found: 'string', expected: 'object' });
  });

  it('malformed_json with line and column', async () => {
    const a = await failure('json', '[\n  {"a":1},\n  {"a" 2}\n]');
    expect(a.code).toBe('malformed_json');
    expect(a.details).toMatchObject({ line: 3, column: 8 });
    const b = await failure('json', '[{"a":1},]');
    expect(b.details).toMatchObject({ line: 1, column: 10 });
    const c = await failure('json', '[{"a":1}\n');
    expect(c.details).toMatchObject({ line: 2 });
    const d = await failure('json', '{"a":1}');
    expect(d.details).toMatchObject({ line: 1, column: 1, expected: 'array' });
    const e = await failure('json', '[{"a":1}] x');
    expect(e.details).toMatchObject({ line: 1, column: 11 });
    const f = await failure('json', '[{"a":1} {"a":2}]');
    expect(f.details).toMatchObject({ line: 1, column: 10 });
    // columns count characters, not bytes, also on one long (minified) line
    const g = await failure('json', '[{"a":"é🎉"}, {"a":x}]');
    expect(g.details).toMatchObject({ line: 1, column: '[{"a":"é🎉"}, {"a":'.length + 1 });
  });

  it('unsupported_value and empty arrays', async () => {
    const err = await failure('json', '[{"a":1},\n{"a":{"b":1}}]');
    expect(err.code).toBe('unsupported_value');
    expect(err.details).toMatchObject({ line: 2, index: 1, attribute: 'a', found: 'object' });
    expect((await failure('json', ' [ ] ')).code).toBe('empty_file');
  });

  it('line_too_long applies to an element', async () => {
    const err = await failure('json', `[{"a":1},\n {"a":"${'x'.repeat(60)}"}]`, { limits: { maxLineBytes: 50 } });
    expect(err.code).toBe('line_too_long');
    expect(err.details).toMatchObject({ line: 2, index: 1, limit: 50 });
  });
});

describe('file checks', () => {
  it('file_too_large with limit and size', async () => {
    const err = await failure('jsonl', '{"a":1}\n', { limits: { maxBytes: 4 } });
    expect(err.code).toBe('file_too_large');
    expect(err.details).toEqual({ limit: 4, size: 8 });
  });

  it('invalid_utf8 with the line of the first bad byte', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    const err = await failure('csv', bytes);
    expect(err.code).toBe('invalid_utf8');
    expect(err.details).toMatchObject({ line: 3, byteOffset: 10 });
    const surrogate = Buffer.concat([Buffer.from('{"a":1}\n{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}\n')]);
    expect((await failure('jsonl', surrogate)).details).toMatchObject({ line: 2 });
  });

  it('unsupported_format', async () => {
    const err = await failure('xml' as ImportFormat, '<a/>');
    expect(err.code).toBe('unsupported_format');
  });
});

describe('existing attributes', () => {
  const existing = [
    { name: 'n', type: 'integer' as const },
    { name: 'label', type: 'category' as const },
  ];

  it('the existing type wins when every value converts to it', async () => {
    // "label" would be inferred as integer, "n" is float-free integers
    const { plan: p, records } = await importAll('csv', 'n,label\n1,1\n2,2\n', { existingAttributes: existing });
    expect(types(p)).toEqual({ n: 'integer', label: 'category' });
    expect(records[0]!.values).toEqual({ n: 1, label: '1' });
    const json = await importAll('jsonl', '{"n":1,"label":true,"f":"2"}', { existingAttributes: [...existing, { name: 'f', type: 'float' }] });
    expect(json.records[0]!.values).toEqual({ n: 1, label: 'true', f: 2 });
  });

  it('attribute_type_conflict names attribute, existing type and first offending line', async () => {
    const err = await failure('csv', 'n,label\n1,a\n2.5,b\nx,c\n', { existingAttributes: existing });
    expect(err.code).toBe('attribute_type_conflict');
    expect(err.details).toEqual({ attribute: 'n', existingType: 'integer', line: 3, value: '2.5' });
    expect(err.message).toContain('"n"');
    expect(err.message).toContain('integer');
    const json = await failure('jsonl', '{"flag":true}\n{"flag":"yes"}\n', { existingAttributes: [{ name: 'flag', type: 'boolean' }] });
    expect(json.details).toEqual({ attribute: 'flag', existingType: 'boolean', line: 2, value: 'yes' });
  });
});

describe('readRecords batching', () => {
  it('yields batches of batchSize in file order, the last one partial', async () => {
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ id: `r${i}`, v: i })).join('\n');
    const p = await plan('jsonl', lines, { primaryKey: 'id' });
    const sizes: number[] = [];
    const keys: (string | null)[] = [];
    for await (const batch of readRecords(buf(lines), p, 10)) {
      sizes.push(batch.length);
      keys.push(...batch.map((r) => r.key));
    }
    expect(sizes).toEqual([10, 10, 5]);
    expect(keys).toEqual(Array.from({ length: 25 }, (_, i) => `r${i}`));
  });

  it('defaults to batches of 1000', async () => {
    const csv = `i\n${Array.from({ length: 2500 }, (_, i) => i).join('\n')}\n`;
    const p = await plan('csv', csv);
    const sizes: number[] = [];
    for await (const batch of readRecords(buf(csv), p)) sizes.push(batch.length);
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it('plan_mismatch when the file does not match the plan', async () => {
    const p = await plan('csv', 'a\n1\n2\n');
    await expect(readAll('a\n1\n', p)).rejects.toMatchObject({ code: 'plan_mismatch' });
    await expect(readAll('a\nx\ny\n', p)).rejects.toMatchObject({ code: 'plan_mismatch' });
  });

  it('a "__proto__" attribute is stored as a plain property', async () => {
    const { records } = await importAll('jsonl', '{"__proto__":"x","a":1}');
    expect(Object.keys(records[0]!.values)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(records[0]!.values)).toBe(Object.prototype);
  });
});
