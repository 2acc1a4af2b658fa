import { CsvError, Parser } from 'csv-parse';
import { ImportError } from './types.ts';

export interface CsvRow {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
  /** Size of the record in bytes, without its line terminator. */
  size: number;
}

interface ParsedRecord {
  fields: string[];
  /** Offset (relative to the parsed input) just after the record and its terminator. */
  end: number;
}

/**
 * csv-parse's streaming parser, with the byte offset of each record attached when it is
 * pushed (read from the live `info` object). This is much cheaper than the `info`/`on_record`
 * options, which copy the whole info object for every record.
 */
class OffsetTrackingParser extends Parser {
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) return super.push(null, encoding);
    const record: ParsedRecord = { fields: chunk as string[], end: this.info.bytes };
    return super.push(record, encoding);
  }
}

const CHUNK_BYTES = 1 << 20;
const NL = 0x0a;
const CR = 0x0d;

function waitForDrainOrClose(parser: Parser): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      parser.off('drain', done);
      parser.off('close', done);
      resolve();
    };
    parser.on('drain', done);
    parser.on('close', done);
  });
}

/**
 * Streams the records (header included) of a CSV document with csv-parse's streaming parser.
 * `maxRecordBytes` of 0 disables the record size check. Used as the reference parser and to
 * produce csv-parse's diagnostics when the fast tokenizer below rejects a record.
 */
export async function* csvParseRows(bytes: Buffer, start: number, maxRecordBytes: number, lineOffset = 0): AsyncGenerator<CsvRow> {
  const input = bytes.subarray(start);
  const parser = new OffsetTrackingParser({
    bom: false, // skipped by the caller
    delimiter: ',',
    quote: '"',
    escape: '"',
    record_delimiter: ['\r\n', '\n'],
    relax_column_count: true, // column counts are checked by the caller, with better messages
    skip_empty_lines: true,
    // csv-parse counts characters, a cheap first guard; the exact byte check happens below
    max_record_size: maxRecordBytes,
  });
  const feed = async (): Promise<void> => {
    for (let off = 0; off < input.length; off += CHUNK_BYTES) {
      if (parser.destroyed) return;
      if (!parser.write(input.subarray(off, off + CHUNK_BYTES))) await waitForDrainOrClose(parser);
    }
    if (!parser.destroyed) parser.end();
  };
  // errors surface through the iteration below
  feed().catch(() => undefined);

  let prevEnd = 0;
  let cursor = 0; // offset up to which newlines have been counted
  let cursorLine = 1 + lineOffset;
  try {
    for await (const rec of parser as AsyncIterable<ParsedRecord>) {
      let s = prevEnd;
      // skip blank lines before the record
      for (;;) {
        if (input[s] === NL) s++;
        else if (input[s] === CR && input[s + 1] === NL) s += 2;
        else break;
      }
      for (let nl = input.indexOf(NL, cursor); nl !== -1 && nl < s; nl = input.indexOf(NL, nl + 1)) {
        cursorLine++;
        cursor = nl + 1;
      }
      if (cursor < s) cursor = s;
      let e = rec.end;
      if (e > s && input[e - 1] === NL) {
        e--;
        if (e > s && input[e - 1] === CR) e--;
      }
      prevEnd = rec.end;
      yield { fields: rec.fields, line: cursorLine, size: e - s };
    }
  } catch (err) {
    throw toImportError(err, maxRecordBytes, lineOffset);
  } finally {
    if (!parser.destroyed) parser.destroy();
  }
}

function toImportError(err: unknown, maxRecordBytes: number, lineOffset: number): unknown {
  if (!(err instanceof CsvError)) return err;
  const line = typeof err['lines'] === 'number' ? err['lines'] + lineOffset : undefined;
  if (err.code === 'CSV_MAX_RECORD_SIZE') {
    return new ImportError(
      'line_too_long',
      `The CSV record on line ${line} is longer than ${maxRecordBytes} bytes`,
      { line, limit: maxRecordBytes },
    );
  }
  const column = typeof err['column'] === 'number' ? err['column'] + 1 : undefined;
  const reason = lineOffset === 0 ? err.message : err.message.replace(/\bline (\d+)/g, (_, n: string) => `line ${Number(n) + lineOffset}`);
  return new ImportError('malformed_csv', `Malformed CSV on line ${line}: ${reason}`, {
    line,
    ...(column !== undefined ? { column } : {}),
    reason,
    csvCode: err.code,
  });
}

const QUOTE = 0x22;
const COMMA = 0x2c;

export class FastPathRejected {
  constructor(
    readonly recordStart: number,
    readonly recordLine: number,
  ) {}
}

/**
 * Fast RFC 4180 tokenizer accepting exactly what csv-parse accepts with the options used in
 * `csvParseRows` (',' delimiter, '"' quote and escape, CRLF or LF record delimiters, blank lines
 * skipped, no trimming). It scans bytes with `indexOf` and only decodes field contents, which
 * makes it several times faster than csv-parse. When it meets input it does not accept, the
 * offending record is re-parsed with csv-parse to report csv-parse's diagnostics.
 */
export function* fastCsvRows(input: Buffer, maxRecordBytes: number): Generator<CsvRow> {
  const len = input.length;
  let pos = 0;
  let line = 1;
  const tooLong = (recordLine: number, size: number): ImportError =>
    new ImportError('line_too_long', `The CSV record on line ${recordLine} is ${size} bytes; at most ${maxRecordBytes} bytes are allowed per record`, {
      line: recordLine,
      size,
      limit: maxRecordBytes,
    });
  while (pos < len) {
    // skip blank lines
    let b = input[pos]!;
    if (b === NL) {
      pos++;
      line++;
      continue;
    }
    if (b === CR && input[pos + 1] === NL) {
      pos += 2;
      line++;
      continue;
    }
    const recordStart = pos;
    const recordLine = line;
    const fields: string[] = [];
    let recordEnd: number;
    for (;;) {
      b = input[pos]!;
      if (pos < len && b === QUOTE) {
        pos++;
        let segStart = pos;
        let value = '';
        for (;;) {
          const q = input.indexOf(QUOTE, pos);
          if (q === -1) throw new FastPathRejected(recordStart, recordLine);
          for (let nl = input.indexOf(NL, pos); nl !== -1 && nl < q; nl = input.indexOf(NL, nl + 1)) line++;
          if (maxRecordBytes > 0 && q - recordStart > maxRecordBytes) throw tooLong(recordLine, q - recordStart);
          const next = input[q + 1];
          if (next === QUOTE) {
            value += input.toString('utf8', segStart, q + 1);
            pos = q + 2;
            segStart = pos;
            continue;
          }
          const tail = input.toString('utf8', segStart, q);
          value = value === '' ? tail : value + tail;
          pos = q + 1;
          if (next === undefined || next === COMMA || next === NL || (next === CR && input[q + 2] === NL)) break;
          throw new FastPathRejected(recordStart, recordLine);
        }
        fields.push(value);
      } else {
        const s = pos;
        while (pos < len) {
          const c = input[pos]!;
          if (c === COMMA || c === NL) break;
          if (c === QUOTE) throw new FastPathRejected(recordStart, recordLine);
          pos++;
        }
        let e = pos;
        if (pos < len && input[pos] === NL && e > s && input[e - 1] === CR) e--;
        fields.push(s === e ? '' : input.toString('utf8', s, e));
      }
      if (pos >= len) {
        recordEnd = len;
        break;
      }
      const c = input[pos]!;
      if (c === COMMA) {
        pos++;
        continue;
      }
      // record delimiter: '\n', or '\r\n' (after a quoted field the '\r' is still ahead)
      recordEnd = pos > recordStart && input[pos - 1] === CR && c === NL ? pos - 1 : pos;
      pos += c === CR ? 2 : 1;
      line++;
      break;
    }
    const size = recordEnd - recordStart;
    if (maxRecordBytes > 0 && size > maxRecordBytes) throw tooLong(recordLine, size);
    yield { fields, line: recordLine, size };
  }
}

/**
 * Records (header included) of a CSV document, with the 1-based line where each starts.
 * `maxRecordBytes` of 0 disables the record size check. Synchronous for speed: when it throws
 * `FastPathRejected`, pass the error to `diagnoseCsv` to get csv-parse's diagnostics.
 */
export function csvRowsSync(bytes: Buffer, start: number, maxRecordBytes: number): Generator<CsvRow> {
  return fastCsvRows(bytes.subarray(start), maxRecordBytes);
}

/** Re-parses the rejected record with csv-parse and throws the resulting ImportError. */
export async function diagnoseCsv(bytes: Buffer, start: number, maxRecordBytes: number, err: FastPathRejected): Promise<never> {
  try {
    for await (const row of csvParseRows(bytes, start + err.recordStart, maxRecordBytes, err.recordLine - 1)) void row;
  } catch (csvErr) {
    if (csvErr instanceof ImportError && csvErr.details['csvCode'] === 'CSV_QUOTE_NOT_CLOSED') {
      // csv-parse reports the end of the input; the record where the quote opened is more useful
      throw new ImportError(
        'malformed_csv',
        `Malformed CSV on line ${err.recordLine}: a quoted field of this record is never closed`,
        { ...csvErr.details, line: err.recordLine, endLine: csvErr.details['line'] },
      );
    }
    throw csvErr;
  }
  throw new ImportError('malformed_csv', `Malformed CSV in the record starting on line ${err.recordLine}`, {
    line: err.recordLine,
    reason: 'the record could not be tokenized',
  });
}

/** Async form of `csvRowsSync` including the diagnostics. */
export async function* csvRows(bytes: Buffer, start: number, maxRecordBytes: number): AsyncGenerator<CsvRow> {
  try {
    yield* csvRowsSync(bytes, start, maxRecordBytes);
  } catch (err) {
    if (err instanceof FastPathRejected) await diagnoseCsv(bytes, start, maxRecordBytes, err);
    throw err;
  }
}
