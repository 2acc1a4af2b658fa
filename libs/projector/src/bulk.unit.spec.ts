import { describe, expect, it } from 'vitest';
import { copyLine } from './bulk.ts';

describe('copyLine (COPY text format)', () => {
  it('separates fields by tabs, ends the row with a newline and writes null as \\N', () => {
    expect(copyLine(['a', 1, 2.5, true, false, null, undefined, 10n])).toBe('a\t1\t2.5\tt\tf\t\\N\t\\N\t10\n');
  });

  it('escapes backslashes, tabs, newlines and carriage returns, and leaves other text as it is', () => {
    expect(copyLine(['a\tb', 'c\nd', 'e\rf', 'back\\slash', '\\N', 'ünï 😀 "q" \'s\' {x,y}'])).toBe(
      'a\\tb\tc\\nd\te\\rf\tback\\\\slash\t\\\\N\tünï 😀 "q" \'s\' {x,y}\n',
    );
  });

  it('writes the given width: missing trailing values are null', () => {
    expect(copyLine(['x'], 3)).toBe('x\t\\N\t\\N\n');
    expect(copyLine([''])).toBe('\n');
  });
});
