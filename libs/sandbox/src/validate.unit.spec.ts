import { describe, expect, it } from 'vitest';
import { HeuristicError } from './types.ts';
import { VoteValidator, errorFromRaw } from './validate.ts';
import { decodeMappings, originalPosition } from './sourcemap.ts';
import { findDynamicImport } from './js-static.ts';

const rec = { id: 'a', attributes: { text: 'hello world' }, tokens: { text: [ { text: 'hello', start: 0, end: 5 }, { text: 'world', start: 6, end: 11 } ] } };

function err(f: () => unknown): HeuristicError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(HeuristicError);
    return e as HeuristicError;
  }
  throw new Error('expected an error');
}

describe('VoteValidator', () => {
  const cls = new VoteValidator({ kind: 'classification', labels: ['A', 'B'] });
  const ext = new VoteValidator({ kind: 'extraction', labels: ['A', 'B'], targetAttribute: 'text' });

  it('classification: labels, abstain, unknown label', () => {
    expect(cls.finalize([rec, rec], ['A', null])).toEqual(['A', null]);
    const e = err(() => cls.finalize([rec], ['C']));
    expect(e.kind).toBe('invalid_output');
    expect(e.recordId).toBe('a');
    expect(e.message).toBe('record "a": unknown label "C"; allowed labels: "A", "B"');
  });

  it('extraction: char and token spans, range checks', () => {
    expect(ext.finalize([rec], [[['A', 0, 5, 0], ['B', 1, 2, 1]]])).toEqual([[{ label: 'A', start: 0, end: 5 }, { label: 'B', start: 6, end: 11 }]]);
    expect(ext.finalize([rec], [null])).toEqual([[]]);
    expect(err(() => ext.finalize([rec], [[['A', 0, 12, 0]]])).message).toMatch(/out of range.*11/);
    expect(err(() => ext.finalize([rec], [[['A', 0, 3, 1]]])).message).toMatch(/token span 0\.\.3 is invalid/);
    expect(err(() => ext.finalize([{ id: 'b', attributes: { text: 5 } }], [[['A', 0, 1, 0]]])).message).toMatch(/not a text/);
    expect(err(() => ext.finalize([rec], ['A'])).message).toMatch(/must return or yield spans/);
    expect(err(() => cls.finalize([rec], [[['A', 0, 1, 0]]])).message).toMatch(/classification function/);
    expect(err(() => cls.finalize([rec], [{ invalid: 'weird' }])).message).toBe('record "a": weird');
  });

  it('malformed sandbox output is invalid_output, never a TypeError', () => {
    const bad = [5, { x: 1 }, [7], [[1, 2, 3, 0]]] as unknown as Parameters<VoteValidator['finalize']>[1];
    for (const v of bad) expect(err(() => ext.finalize([rec], [v] as never)).kind).toBe('invalid_output');
  });

  it('needs labels and a target attribute for extraction', () => {
    expect(() => new VoteValidator({ kind: 'classification', labels: [] })).toThrow();
    expect(() => new VoteValidator({ kind: 'extraction', labels: ['A'] })).toThrow(/targetAttribute/);
  });

  it('errorFromRaw attaches record id and line', () => {
    const e = errorFromRaw({ kind: 'runtime', message: 'TypeError: x', index: 0, line: 3, column: 2 }, [rec]);
    expect(e.toJSON()).toEqual({ kind: 'runtime', message: 'record "a": TypeError: x (line 3, column 2)', recordId: 'a', line: 3, column: 2 });
  });
});

describe('source maps', () => {
  it('decodes VLQ mappings and maps positions back', () => {
    // gen line 1 col 0 -> src line 3 col 0; gen line 2 col 2 -> src line 4 col 4
    const map = decodeMappings('AAEA;EACI');
    expect(map).toEqual([[[0, 2, 0]], [[2, 3, 4]]]);
    expect(originalPosition(map, 1, 5)).toEqual({ line: 3, column: 5 });
    expect(originalPosition(map, 2, 3)).toEqual({ line: 4, column: 5 });
    expect(originalPosition(map, 3, 1)).toBeUndefined();
  });
});

describe('findDynamicImport', () => {
  it('finds import( outside strings and comments', () => {
    expect(findDynamicImport('const a = 1;\n  const m = import ("x")')).toEqual({ line: 2, column: 13 });
    expect(findDynamicImport('// import("x")\n/* import("y") */\nconst s = "import(1)" + `import(${1})`;')).toBeUndefined();
    expect(findDynamicImport('const reimport = 1; obj.import(1); myimport(2)')).toBeUndefined();
  });
});
