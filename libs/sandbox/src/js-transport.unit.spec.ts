import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch } from './js-transport.ts';
import type { SandboxRecord } from './types.ts';

describe('encodeBatch / decodeBatch', () => {
  it('round-trips mixed attributes, unicode, empty strings and tokens', () => {
    const recs: SandboxRecord[] = [
      { id: 'a', attributes: { text: 'héllo 😀 "quoted" \\ \n', n: 3, ok: true, none: null, empty: '' } },
      { id: 'b', attributes: { title: '\u2028\ud800 lone', n: -1.5 }, tokens: { title: [{ text: 'x', start: 0, end: 1 }] } },
      { id: 'c', attributes: {} },
    ];
    const enc = encodeBatch(recs);
    expect(decodeBatch(enc)).toEqual(recs);
    expect(enc.meta).not.toContain('héllo');
  });
});
