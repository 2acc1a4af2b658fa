import { describe, expect, it } from 'vitest';
import { Text } from '@codemirror/state';
import { diagnosticRange } from './heuristics-code-mirror';

describe('diagnosticRange (sandbox line/column → editor range)', () => {
  const doc = Text.of(['function lf(record) {', '  if (x) {', '    throw new Error("too short");', '  }', '', '}']);

  it('runs from the reported column to the end of the line', () => {
    const r = diagnosticRange(doc, { line: 3, column: 11, message: '' });
    expect(doc.sliceString(r.from, r.to)).toBe('new Error("too short");');
  });

  it('without a column covers the whole line', () => {
    const r = diagnosticRange(doc, { line: 2, message: '' });
    expect(doc.sliceString(r.from, r.to)).toBe('  if (x) {');
  });

  it('clamps lines and columns outside the document, and never gives an empty range', () => {
    const last = diagnosticRange(doc, { line: 99, column: 5, message: '' });
    expect(doc.lineAt(last.from).number).toBe(6);
    const empty = diagnosticRange(doc, { line: 5, message: '' });
    expect(empty.to).toBeGreaterThan(empty.from);
    const beyond = diagnosticRange(doc, { line: 1, column: 500, message: '' });
    expect(doc.sliceString(beyond.from, beyond.to)).toBe('function lf(record) {');
  });
});
