import { isUtf8 } from 'node:buffer';
import { ImportError } from './types.ts';
import type { ImportLimits } from './types.ts';

const NL = 0x0a;

/** Offset of the first byte after an optional UTF-8 byte order mark. */
export function contentStart(bytes: Buffer): number {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
}

/** 1-based line number of the byte at `offset` (counting '\n' before it). */
export function lineOfOffset(bytes: Buffer, offset: number, from = 0, fromLine = 1): number {
  let line = fromLine;
  let pos = bytes.indexOf(NL, from);
  while (pos !== -1 && pos < offset) {
    line++;
    pos = bytes.indexOf(NL, pos + 1);
  }
  return line;
}

/** 1-based column (in UTF-16 characters) of the byte at `offset` on its line. */
export function columnOfOffset(bytes: Buffer, offset: number, lineStart: number): number {
  return bytes.toString('utf8', lineStart, offset).length + 1;
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8Offset(bytes: Buffer): number {
  const len = bytes.length;
  let i = 0;
  while (i < len) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = b & 0x07;
    } else {
      return i;
    }
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Checks size, UTF-8 validity and emptiness; returns the offset where content starts (after a BOM). */
export function checkBytes(bytes: Buffer, limits: ImportLimits): number {
  if (!Buffer.isBuffer(bytes)) throw new TypeError('bytes must be a Buffer');
  if (bytes.length > limits.maxBytes) {
    throw new ImportError(
      'file_too_large',
      `The file is ${bytes.length} bytes; at most ${limits.maxBytes} bytes are allowed`,
      { limit: limits.maxBytes, size: bytes.length },
    );
  }
  if (!isUtf8(bytes)) {
    const offset = firstInvalidUtf8Offset(bytes);
    const at = offset === -1 ? 0 : offset;
    const line = lineOfOffset(bytes, at);
    throw new ImportError('invalid_utf8', `The file is not valid UTF-8: invalid byte sequence on line ${line}`, {
      line,
      byteOffset: at,
      allowed: 'UTF-8 text (an optional UTF-8 byte order mark is skipped)',
    });
  }
  const start = contentStart(bytes);
  if (isBlank(bytes, start, bytes.length)) {
    throw new ImportError('empty_file', 'The file is empty', { size: bytes.length });
  }
  return start;
}

export function isWhitespaceByte(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

export function isBlank(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (!isWhitespaceByte(bytes[i]!)) return false;
  }
  return true;
}

/** Lets other work run on the event loop during long synchronous scans. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
