/** `runLines`: records as lines of JSON text, parsed in the sandbox; only non-abstentions come back. */
import { afterAll, describe, expect, it } from 'vitest';
import { createRunner, HeuristicError, linesToRecords, PythonPool, type HeuristicLanguage, type RecordLines, type SandboxRecord } from './index.ts';

const pool = new PythonPool({ size: 2, log: () => undefined });
afterAll(() => pool.close());

const records: SandboxRecord[] = [
  { id: 'r1', attributes: { text: 'check out my channel', n: 1 } },
  { id: 'r"2\n', attributes: { text: 'great song', n: 2, extra: null } },
  { id: 'r3', attributes: { text: 'Subscribe ✓ please', n: 3, __proto__x: true } },
  { id: 'r4', attributes: { text: 'line\nbreak "quoted"', n: 4 } },
];
const asLines = (rs: SandboxRecord[]): RecordLines => ({ text: rs.map((r) => `${JSON.stringify(r.id)},${JSON.stringify(r.attributes)}`).join('\n'), count: rs.length });

const code: Record<'javascript' | 'python', Record<'ok' | 'throws' | 'unknown' | 'loop', string>> = {
  javascript: {
    ok: 'function lf(r) { if (/check.*out|subscribe/i.test(r.text)) return "SPAM"; if (r.text.includes("\\n")) return "HAM"; }',
    throws: 'function lf(r) {\n  if (r.n === 3) {\n    throw new Error("boom");\n  }\n}',
    unknown: 'function lf(r) { return r.n === 2 ? "EGGS" : null }',
    loop: 'function lf(r) { if (r.n === 4) while (true) {} return null }',
  },
  python: {
    ok: 'import re\nRX = re.compile(r"check.*out|subscribe", re.I)\ndef lf(r):\n    if RX.search(r["text"]):\n        return "SPAM"\n    if "\\n" in r["text"]:\n        return "HAM"\n',
    throws: 'def lf(r):\n    if r["n"] == 3:\n        raise ValueError("boom")\n',
    unknown: 'def lf(r):\n    return "EGGS" if r["n"] == 2 else None\n',
    loop: 'def lf(r):\n    if r["n"] == 4:\n        while True:\n            pass\n',
  },
};

describe.each(['javascript', 'python'] as const)('%s runLines', (language: HeuristicLanguage & ('javascript' | 'python')) => {
  const make = (c: string) => createRunner({ language, code: c, kind: 'classification', labels: ['HAM', 'SPAM'] }, { pythonPool: pool, limits: { perRecordMs: 50, setupMs: 5000 } });

  it('linesToRecords reads back what was written', () => {
    expect(linesToRecords(asLines(records))).toEqual(records);
  });

  it('gives the same votes as runBatch, abstentions left out', async () => {
    const r = await make(code[language].ok);
    const full = await r.runBatch(records);
    const sparse = await r.runLines!(asLines(records));
    expect(full).toEqual(['SPAM', null, 'SPAM', 'HAM']);
    expect(sparse).toEqual({ ids: ['r1', 'r3', 'r4'], labels: ['SPAM', 'SPAM', 'HAM'] });
    // several batches in flight at once come back in order
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => r.runLines!(asLines(records.slice(i % 4)))));
    expect(many.map((m) => m.ids.length)).toEqual([3, 2, 2, 1, 3, 2, 2, 1]);
    await r.close();
  });

  it('a throwing function names the record and the line', async () => {
    const r = await make(code[language].throws);
    const e = await r.runLines!(asLines(records)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HeuristicError);
    expect(e).toMatchObject({ kind: 'runtime', recordId: 'r3', line: 3 });
    await r.close();
  });

  it('an unknown label fails with the record', async () => {
    const r = await make(code[language].unknown);
    await expect(r.runLines!(asLines(records))).rejects.toMatchObject({ kind: 'invalid_output', recordId: 'r"2\n' });
    await r.close();
  });

  it('an endless loop times out and names the record', async () => {
    const r = await make(code[language].loop);
    await expect(r.runLines!(asLines(records))).rejects.toMatchObject({ kind: 'timeout', recordId: 'r4' });
    await r.close();
  });
});
