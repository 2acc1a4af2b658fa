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
 * Streams the records (header included) of a CSV document. `maxRecordBytes` of 0 disables the
 * record size check.
 */
export async function* csvRows(bytes: Buffer, start: number, maxRecordBytes: number): AsyncGenerator<CsvRow> {
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
  let cursorLine = 1;
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
      if (e > s && input[e - 1] === NL) e--;
      if (e > s && input[e - 1] === CR) e--;
      prevEnd = rec.end;
      yield { fields: rec.fields, line: cursorLine, size: e - s };
    }
  } catch (err) {
    throw toImportError(err, maxRecordBytes);
  } finally {
    if (!parser.destroyed) parser.destroy();
  }
}

function toImportError(err: unknown, maxRecordBytes: number): unknown {
  if (!(err instanceof CsvError)) return err;
  const line = typeof err['lines'] === 'number' ? err['lines'] : undefined;
  if (err.code === 'CSV_MAX_RECORD_SIZE') {
    return new ImportError(
      'line_too_long',
      `The CSV record on line ${line} is longer than ${maxRecordBytes} bytes`,
      { line, limit: maxRecordBytes },
    );
  }
  const column = typeof err['column'] === 'number' ? err['column'] + 1 : undefined;
  const reason = err.message;
  return new ImportError('malformed_csv', `Malformed CSV on line ${line}: ${reason}`, {
    line,
    ...(column !== undefined ? { column } : {}),
    reason,
    csvCode: err.code,
  });
}
