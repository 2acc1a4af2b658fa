import { columnOfOffset, isWhitespaceByte } from './bytes.ts';
import { ImportError } from './types.ts';

/** One top-level JSON value of a JSONL file or a JSON array, already parsed. */
export interface JsonRow {
  /** 1-based line where the value starts. */
  line: number;
  /** 0-based index of the record (non-blank JSONL line / array element). */
  index: number;
  value: unknown;
}

const NL = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * JSONL: one JSON value per line, blank lines skipped. Lines are located with `indexOf`
 * on the buffer; the file is never split into an array of strings.
 */
export function* jsonlRows(bytes: Buffer, start: number, maxLineBytes: number): Generator<JsonRow> {
  const len = bytes.length;
  let pos = start;
  let line = 1;
  let index = 0;
  while (pos < len) {
    const nl = bytes.indexOf(NL, pos);
    const next = nl === -1 ? len : nl + 1;
    let end = nl === -1 ? len : nl;
    if (end > pos && bytes[end - 1] === CR) end--;
    if (end - pos > maxLineBytes) {
      throw new ImportError('line_too_long', `Line ${line} is ${end - pos} bytes; at most ${maxLineBytes} bytes are allowed per line`, {
        line,
        size: end - pos,
        limit: maxLineBytes,
      });
    }
    let first = pos;
    while (first < end && isWhitespaceByte(bytes[first]!)) first++;
    if (first < end) {
      const text = bytes.toString('utf8', pos, end);
      yield { line, index, value: parseJson(text, line, () => 1) };
      index++;
    }
    pos = next;
    line++;
  }
}

/**
 * JSON array of values. The array is scanned on the byte level to find the element
 * boundaries; each element is parsed separately, so the whole document never exists as objects.
 */
export function* jsonArrayRows(bytes: Buffer, start: number, maxElementBytes: number): Generator<JsonRow> {
  const len = bytes.length;
  let line = 1;
  let lineStart = start;
  let pos = start;

  const skipWhitespace = (): void => {
    while (pos < len) {
      const b = bytes[pos]!;
      if (b === NL) {
        line++;
        lineStart = pos + 1;
      } else if (b !== 0x20 && b !== CR && b !== 0x09) {
        break;
      }
      pos++;
    }
  };
  const fail = (reason: string, at: number, extra: Record<string, unknown> = {}): never => {
    const column = columnOfOffset(bytes, Math.min(at, len), lineStart);
    throw new ImportError('malformed_json', `Malformed JSON on line ${line}, column ${column}: ${reason}`, {
      line,
      column,
      reason,
      ...extra,
    });
  };

  skipWhitespace();
  if (pos >= len || bytes[pos] !== OPEN_BRACKET) {
    fail(
      bytes[pos] === OPEN_BRACE
        ? "expected '[' (a JSON array of objects); for one object per line use the JSONL format"
        : "expected '[' (a JSON array of objects)",
      pos,
      { expected: 'array' },
    );
  }
  pos++;
  skipWhitespace();
  if (pos < len && bytes[pos] === CLOSE_BRACKET) {
    pos++;
    skipWhitespace();
    if (pos < len) fail('unexpected data after the JSON array', pos);
    return;
  }

  let index = 0;
  for (;;) {
    skipWhitespace();
    if (pos >= len) fail('unexpected end of input, the array is not closed', pos);
    const b0 = bytes[pos]!;
    if (b0 === CLOSE_BRACKET || b0 === COMMA) fail(`unexpected '${String.fromCharCode(b0)}', expected a value`, pos);
    const elementStart = pos;
    const elementLine = line;
    const elementLineStart = lineStart;
    let depth = 0;
    let i = pos;
    let terminator = -1;
    while (i < len) {
      const b = bytes[i]!;
      if (b === QUOTE) {
        // skip the string, honouring backslash escapes
        i++;
        while (i < len) {
          const q = bytes.indexOf(QUOTE, i);
          if (q === -1) {
            i = len;
            break;
          }
          let backslashes = 0;
          for (let k = q - 1; k >= i && bytes[k] === BACKSLASH; k--) backslashes++;
          i = q + 1;
          if (backslashes % 2 === 0) break;
        }
        continue;
      }
      if (b === NL) {
        line++;
        lineStart = i + 1;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        depth++;
      } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (depth === 0) {
          terminator = i;
          break;
        }
        depth--;
      } else if (b === COMMA && depth === 0) {
        terminator = i;
        break;
      }
      i++;
    }
    const elementEnd = terminator === -1 ? len : terminator;
    if (elementEnd - elementStart > maxElementBytes) {
      throw new ImportError(
        'line_too_long',
        `Array element ${index} (line ${elementLine}) is ${elementEnd - elementStart} bytes; at most ${maxElementBytes} bytes are allowed per record`,
        { line: elementLine, index, size: elementEnd - elementStart, limit: maxElementBytes },
      );
    }
    const text = bytes.toString('utf8', elementStart, elementEnd);
    // the column is only computed on errors: a minified array is one huge line
    const value = parseJson(text, elementLine, () => columnOfOffset(bytes, elementStart, elementLineStart));
    yield { line: elementLine, index, value };
    index++;
    pos = elementEnd;
    if (terminator === -1) fail('unexpected end of input, the array is not closed', pos);
    if (bytes[pos] === COMMA) {
      pos++;
      skipWhitespace();
      if (pos < len && bytes[pos] === CLOSE_BRACKET) fail("unexpected ']' after ',' (trailing comma)", pos);
      continue;
    }
    if (bytes[pos] === CLOSE_BRACKET) {
      pos++;
      skipWhitespace();
      if (pos < len) fail('unexpected data after the JSON array', pos);
      return;
    }
    fail(`unexpected '${String.fromCharCode(bytes[pos]!)}'`, pos);
  }
}

/**
 * JSON.parse with errors converted to `malformed_json` carrying 1-based line and column.
 * `baseLine`/`baseColumn()` locate the first character of `text` in the file.
 */
function parseJson(text: string, baseLine: number, baseColumn: () => number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const position = jsonErrorPosition(text, reason);
    let line = baseLine;
    let lastNl = -1;
    for (let k = text.indexOf('\n'); k !== -1 && k < position; k = text.indexOf('\n', k + 1)) {
      line++;
      lastNl = k;
    }
    const column = lastNl === -1 ? baseColumn() + position : position - lastNl;
    throw new ImportError('malformed_json', `Malformed JSON on line ${line}, column ${column}: ${reason}`, {
      line,
      column,
      reason,
    });
  }
}

/** Position (UTF-16 index into `text`) of a JSON syntax error. */
export function jsonErrorPosition(text: string, message: string): number {
  const match = /at position (\d+)/.exec(message);
  if (match) return Number(match[1]);
  const located = locateJsonError(text);
  if (located !== undefined) return located;
  return text.trimEnd().length;
}

class JsonSyntaxError {
  constructor(readonly position: number) {}
}

/** Small recursive-descent JSON checker; returns the index of the first syntax error, if any. */
export function locateJsonError(text: string): number | undefined {
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const fail = (): never => {
    throw new JsonSyntaxError(i);
  };
  const literal = (word: string): void => {
    for (let k = 0; k < word.length; k++) {
      if (text[i] !== word[k]) fail();
      i++;
    }
  };
  const string = (): void => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        i++;
        const e = text[i];
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) {
              i += k;
              fail();
            }
          }
          i += 5;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail();
        i++;
        continue;
      }
      i++;
    }
    fail();
  };
  const number = (): void => {
    const re = /-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m || m[0] === '' || m[0] === '-') fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail();
      }
    } else if (c === '"') {
      string();
    } else if (c === 't') {
      literal('true');
    } else if (c === 'f') {
      literal('false');
    } else if (c === 'n') {
      literal('null');
    } else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      number();
    } else {
      fail();
    }
  };
  try {
    value();
    ws();
    if (i < n) fail();
    return undefined;
  } catch (err) {
    if (err instanceof JsonSyntaxError) return err.position;
    return undefined; // e.g. stack overflow on absurd nesting
  }
}
