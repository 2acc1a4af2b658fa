/**
 * A light static scan of JavaScript source for dynamic `import(...)`. isolated-vm rejects
 * `import()` only after the calling function has returned (asynchronously), which loses the
 * record; rejecting it up front gives the user a clear message and the line. Strings, template
 * literals and comments are skipped; regex literals are not recognised (rare false positives /
 * negatives; the runtime still refuses `import()` either way).
 */
export function findDynamicImport(code: string): { line: number; column: number } | undefined {
  let line = 1;
  let lineStart = 0;
  const n = code.length;
  let i = 0;
  const isIdent = (c: string | undefined): boolean => c !== undefined && /[\p{ID_Continue}$]/u.test(c);
  while (i < n) {
    const c = code[i]!;
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      i++;
    } else if (c === '/' && code[i + 1] === '/') {
      while (i < n && code[i] !== '\n') i++;
    } else if (c === '/' && code[i + 1] === '*') {
      i += 2;
      while (i < n && !(code[i] === '*' && code[i + 1] === '/')) {
        if (code[i] === '\n') {
          line++;
          lineStart = i + 1;
        }
        i++;
      }
      i += 2;
    } else if (c === '"' || c === "'" || c === '`') {
      i++;
      while (i < n && code[i] !== c) {
        if (code[i] === '\\') i++;
        else if (code[i] === '\n') {
          line++;
          lineStart = i + 1;
        }
        i++;
      }
      i++;
    } else if (c === 'i' && code.startsWith('import', i) && !isIdent(code[i - 1]) && code[i - 1] !== '.' && !isIdent(code[i + 6])) {
      let j = i + 6;
      while (j < n && /\s/.test(code[j]!)) j++;
      if (code[j] === '(') return { line, column: i - lineStart + 1 };
      i += 6;
    } else {
      i++;
    }
  }
  return undefined;
}
