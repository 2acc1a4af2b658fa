import { describe, expect, it } from 'vitest';
import { HeuristicError, createRunner, type HeuristicSource, type RunnerOptions, type SandboxRecord } from './index.ts';

const labels = ['HAM', 'SPAM'];
const recs: SandboxRecord[] = [
  { id: 'r1', attributes: { text: 'check out my channel', n: 1 } },
  { id: 'r2', attributes: { text: 'great song', n: 2 } },
  { id: 'r3', attributes: { text: 'boom', n: 3 } },
  { id: 'r4', attributes: { text: 'meh', n: 4 } },
];

const js = (code: string, extra: Partial<HeuristicSource> = {}): HeuristicSource => ({ language: 'javascript', code, kind: 'classification', labels, ...extra });
const ts = (code: string, extra: Partial<HeuristicSource> = {}): HeuristicSource => ({ language: 'typescript', code, kind: 'classification', labels, ...extra });

async function failure(source: HeuristicSource, records: SandboxRecord[] = recs, options: RunnerOptions = {}): Promise<HeuristicError> {
  let runner;
  try {
    runner = await createRunner(source, options);
    await runner.runBatch(records);
  } catch (e) {
    expect(e).toBeInstanceOf(HeuristicError);
    return e as HeuristicError;
  } finally {
    await runner?.close();
  }
  throw new Error('expected a HeuristicError');
}

/** A fresh runner still works after a failure. */
async function stillWorks(): Promise<void> {
  const r = await createRunner(js('function lf(r) { return r.text.includes("song") ? "HAM" : null }'));
  expect(await r.runBatch(recs)).toEqual([null, 'HAM', null, null]);
  await r.close();
}

describe('javascript runner: happy paths', () => {
  it('classification', async () => {
    const r = await createRunner(js('function lf(record) {\n  if (/check.*out/i.test(record.text)) return "SPAM";\n  if (record.n === 2) return "HAM";\n}'));
    expect(await r.runBatch(recs)).toEqual(['SPAM', 'HAM', null, null]);
    expect(await r.runBatch([])).toEqual([]);
    await r.close();
  });

  it('records arrive intact in the isolate (mixed attribute types, unicode, tokens)', async () => {
    const rec: SandboxRecord = {
      id: 'x"1',
      attributes: { text: 'héllo 😀 "q" \\ \n', n: 3.5, ok: false, none: null, empty: '' },
      tokens: { text: [{ text: 'héllo', start: 0, end: 5 }] },
    };
    const code = `const expected = ${JSON.stringify(JSON.stringify(rec))};
function lf(record, ctx) {
  const got = JSON.stringify({ id: ctx.recordId, attributes: record, tokens: { text: ctx.tokens('text') } });
  if (got !== expected) throw new Error(got);
  return 'HAM';
}`;
    const r = await createRunner(js(code));
    expect(await r.runBatch([rec, rec])).toEqual(['HAM', 'HAM']);
    await r.close();
    const proto = await createRunner(js('function lf(record) { return Object.keys(record).join() === "a,__proto__" && record.__proto__ === "x" ? "HAM" : "SPAM" }'));
    expect(await proto.runBatch([{ id: 'p', attributes: JSON.parse('{"a":"1","__proto__":"x"}') as SandboxRecord['attributes'] }])).toEqual(['HAM']);
    await proto.close();
  });

  it('const arrow function, helpers at top level, ctx.recordId', async () => {
    const r = await createRunner(js('const spammy = new Set(["r3"]);\nconst lf = (record, ctx) => spammy.has(ctx.recordId) ? "SPAM" : null;'));
    expect(await r.runBatch(recs)).toEqual([null, null, 'SPAM', null]);
    await r.close();
  });

  it('extraction with a generator (character offsets)', async () => {
    const code = 'function* lf(record) {\n  for (const m of record.text.matchAll(/\\w+/g)) if (m[0].length > 4) yield { label: "SPAM", start: m.index, end: m.index + m[0].length };\n}';
    const r = await createRunner(js(code, { kind: 'extraction', targetAttribute: 'text' }));
    expect(await r.runBatch(recs)).toEqual([
      [
        { label: 'SPAM', start: 0, end: 5 },
        { label: 'SPAM', start: 13, end: 20 },
      ],
      [{ label: 'HAM', start: 0, end: 5 }].map((s) => ({ ...s, label: 'SPAM' })),
      [],
      [],
    ]);
    await r.close();
  });

  it('extraction with token offsets via ctx.tokens (converted to characters)', async () => {
    const code = 'function lf(record, ctx) {\n  const t = ctx.tokens("text");\n  return t.length > 1 ? [{ label: "HAM", tokenStart: 1, tokenEnd: 2 }] : null;\n}';
    const r = await createRunner(js(code, { kind: 'extraction', targetAttribute: 'text' }));
    const rec: SandboxRecord = {
      id: 't1',
      attributes: { text: 'great song here' },
      tokens: { text: [ { text: 'great', start: 0, end: 5 }, { text: 'song', start: 6, end: 10 }, { text: 'here', start: 11, end: 15 } ] },
    };
    expect(await r.runBatch([rec, recs[2]!])).toEqual([[{ label: 'HAM', start: 6, end: 10 }], []]);
    await r.close();
  });

  it('lookup lists: ctx.lookup and ctx.inLookup (case-insensitive, whole word)', async () => {
    const code = 'function lf(record, ctx) {\n  if (ctx.inLookup("spam", record.text)) return "SPAM";\n  if (ctx.lookup("ham").includes(record.text)) return "HAM";\n}';
    const r = await createRunner(js(code), { lookupLists: { spam: { terms: ['My Channel', 'Boom'] }, ham: ['meh'] } });
    expect(await r.runBatch([...recs, { id: 'r5', attributes: { text: 'booming' } }])).toEqual(['SPAM', null, 'SPAM', 'HAM', null]);
    await r.close();
  });

  it('typescript: types are stripped (esbuild)', async () => {
    const code = 'interface Rec { text: string }\ntype L = "HAM" | "SPAM";\nfunction lf(record: Rec): L | undefined {\n  const t: string = record.text;\n  return t.includes("song") ? "HAM" : undefined;\n}\n';
    const r = await createRunner(ts(code));
    expect(await r.runBatch(recs)).toEqual([null, 'HAM', null, null]);
    await r.close();
  });

  it('typescript extraction', async () => {
    const code = 'type Span = { label: string; start: number; end: number };\nfunction lf(record: { text: string }): Span[] {\n  const i = record.text.indexOf("song");\n  return i < 0 ? [] : [{ label: "HAM", start: i, end: i + 4 }];\n}\n';
    const r = await createRunner(ts(code, { kind: 'extraction', targetAttribute: 'text' }));
    expect(await r.runBatch(recs)).toEqual([[], [{ label: 'HAM', start: 6, end: 10 }], [], []]);
    await r.close();
  });

  it('many batches in flight come back in call order', async () => {
    const r = await createRunner(js('let calls = 0;\nfunction lf(r) { calls++; return String(calls % 2 ? "SPAM" : "HAM") }'));
    const outs = await Promise.all(Array.from({ length: 20 }, () => r.runBatch(recs)));
    // one isolate, calls in order: the counter runs on across batches
    expect(outs.flat().filter((v) => v === 'SPAM')).toHaveLength(40);
    expect(outs.every((o) => o.join() === 'SPAM,HAM,SPAM,HAM')).toBe(true);
    await r.close();
  });

  it('concurrent runBatch calls on one runner are serialised', async () => {
    const r = await createRunner(js('let calls = 0;\nfunction lf(r) { calls++; return r.n % 2 ? "SPAM" : "HAM" }'));
    const out = await Promise.all([r.runBatch(recs), r.runBatch(recs.slice(0, 2))]);
    expect(out).toEqual([['SPAM', 'HAM', 'SPAM', 'HAM'], ['SPAM', 'HAM']]);
    await r.close();
  });
});

describe('javascript runner: errors', () => {
  it('syntax error reports the line', async () => {
    const e = await failure(js('function lf(record) {\n  const x = 1;\n  return x +;\n}'));
    expect(e.kind).toBe('syntax');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/line 3/);
    await stillWorks();
  });

  it('typescript syntax error reports the line in the TypeScript source', async () => {
    const e = await failure(ts('type A = { a: number };\n\nfunction lf(record: A) {\n  return record.a +* 2;\n}'));
    expect(e.kind).toBe('syntax');
    expect(e.line).toBe(4);
  });

  it('typescript runtime error maps back through the source map', async () => {
    const code = 'interface A {\n  a: number;\n  b: string;\n}\ntype B = A;\n\nfunction lf(record: any): string | undefined {\n  return record.missing.deep;\n}\n';
    const e = await failure(ts(code));
    expect(e.kind).toBe('runtime');
    expect(e.recordId).toBe('r1');
    expect(e.line).toBe(8);
  });

  it('missing lf', async () => {
    const e = await failure(js('function labelIt(record) { return "HAM" }'));
    expect(e.kind).toBe('syntax');
    expect(e.message).toMatch(/function named lf/);
  });

  it('a throwing function reports record id and line', async () => {
    const e = await failure(js('function lf(record) {\n  if (record.n === 3) {\n    throw new Error("bad record");\n  }\n  return null;\n}'));
    expect(e.kind).toBe('runtime');
    expect(e.recordId).toBe('r3');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/r3.*bad record/);
    await stillWorks();
  });

  it('throwing a non-Error value', async () => {
    const e = await failure(js('function lf(record) { throw "nope"; }'));
    expect(e.kind).toBe('runtime');
    expect(e.recordId).toBe('r1');
    expect(e.message).toMatch(/nope/);
  });

  it('the runner stays usable after a runtime error', async () => {
    const r = await createRunner(js('function lf(record) { if (record.n === 99) throw new Error("x"); return "HAM"; }'));
    await expect(r.runBatch([{ id: 'bad', attributes: { n: 99 } }])).rejects.toMatchObject({ kind: 'runtime', recordId: 'bad' });
    expect(await r.runBatch(recs.slice(0, 1))).toEqual(['HAM']);
    await r.close();
  });

  it('unknown label names the label, the record and the allowed labels', async () => {
    const e = await failure(js('function lf(record) { return record.n === 2 ? "EGGS" : null }'));
    expect(e.kind).toBe('invalid_output');
    expect(e.recordId).toBe('r2');
    expect(e.message).toContain('"EGGS"');
    expect(e.message).toContain('"r2"');
    expect(e.message).toContain('"HAM", "SPAM"');
    await stillWorks();
  });

  it('wrong return types', async () => {
    expect((await failure(js('function lf() { return 1 }'))).message).toMatch(/label name.*number 1/);
    expect((await failure(js('function lf() { return ["HAM"] }'))).kind).toBe('invalid_output');
    expect((await failure(js('async function lf() { return "HAM" }'))).message).toMatch(/synchronous/);
    expect((await failure(js('function lf() { return "HAM" }', { kind: 'extraction', targetAttribute: 'text' }))).message).toMatch(/spans/);
  });

  it('spans out of range, empty, with unknown labels or bad shapes', async () => {
    const ex = (body: string) => js(`function lf(record) { return ${body} }`, { kind: 'extraction', targetAttribute: 'text' });
    let e = await failure(ex('[{ label: "SPAM", start: 0, end: 500 }]'));
    expect(e.kind).toBe('invalid_output');
    expect(e.recordId).toBe('r1');
    expect(e.message).toMatch(/out of range/);
    e = await failure(ex('[{ label: "SPAM", start: 3, end: 3 }]'));
    expect(e.message).toMatch(/out of range/);
    e = await failure(ex('[{ label: "SPAM", start: -1, end: 2 }]'));
    expect(e.message).toMatch(/out of range/);
    e = await failure(ex('[{ label: "SPAM", start: 0.5, end: 2 }]'));
    expect(e.message).toMatch(/integers/);
    e = await failure(ex('[{ label: "X", start: 0, end: 2 }]'));
    expect(e.message).toMatch(/unknown label "X"/);
    e = await failure(ex('[{ label: "SPAM", tokenStart: 0, tokenEnd: 1 }]'));
    expect(e.message).toMatch(/no tokens/);
    e = await failure(ex('[{ start: 0, end: 1 }]'));
    expect(e.message).toMatch(/label/);
    e = await failure(ex('[42]'));
    expect(e.message).toMatch(/not an object/);
  });

  it('while(true){} times out and names the record; the next runner works', async () => {
    const t0 = Date.now();
    const e = await failure(js('function lf(record) {\n  if (record.n === 3) { while (true) {} }\n  return null;\n}'));
    expect(e.kind).toBe('timeout');
    expect(e.recordId).toBe('r3');
    expect(Date.now() - t0).toBeLessThan(3000);
    await stillWorks();
  });

  it('a record that uses up the batch budget is found by re-running it alone', async () => {
    const e = await failure(js('function lf(record) {\n  if (record.n === 2) { const t = Date.now(); while (Date.now() - t < 400) {} }\n  return null;\n}'), recs, { limits: { perRecordMs: 50 } });
    expect(e.kind).toBe('timeout');
    expect(e.recordId).toBe('r2');
  });

  it('a single slow record within the batch budget passes (the limit is a per-batch budget)', async () => {
    const r = await createRunner(js('function lf(record) {\n  if (record.n === 2) { const t = Date.now(); while (Date.now() - t < 80) {} }\n  return "HAM";\n}'), { limits: { perRecordMs: 50 } });
    expect(await r.runBatch(recs)).toEqual(['HAM', 'HAM', 'HAM', 'HAM']);
    await r.close();
  });

  it('a batch that is slow overall but with no record slow on its own reports the batch', async () => {
    // Slow only on the first 3 calls (e.g. warming a cache): the re-runs are fast.
    const code = 'let calls = 0;\nfunction lf(record) {\n  if (++calls <= 3) { const t = Date.now(); while (Date.now() - t < 70) {} }\n  return "HAM";\n}';
    const e = await failure(js(code), recs, { limits: { perRecordMs: 45, batchOverheadMs: 0 } });
    expect(e.kind).toBe('timeout');
    expect(e.recordId).toBeUndefined();
    expect(e.message).toMatch(/no record exceeded 45 ms when re-run alone/);
  });

  it('a timeout with batches queued behind it: the failing batch names the record, queued ones are abandoned, later ones run', async () => {
    const r = await createRunner(js('function lf(record) { if (record.n === 3 && record.loop) while (true) {} return "HAM" }'), { limits: { perRecordMs: 20 } });
    const t0 = Date.now();
    const looping = recs.map((x) => ({ ...x, attributes: { ...x.attributes, loop: true } }));
    const first = r.runBatch(looping);
    // the same bug in every queued batch would cost a full budget each if they all ran
    const queued = Array.from({ length: 10 }, () => r.runBatch(looping).then(() => 'ran', (e: Error) => e.message));
    await expect(first).rejects.toMatchObject({ kind: 'timeout', recordId: 'r3' });
    const rest = await Promise.all(queued);
    expect(rest.every((m) => /was not run: an earlier batch failed|time limit/.test(m))).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await r.runBatch(recs)).toEqual(['HAM', 'HAM', 'HAM', 'HAM']);
    await r.close();
  });

  it('the same runner still works after a timeout', async () => {
    const r = await createRunner(js('function lf(record) { if (record.n === 1) while (true) {} return "HAM" }'), { limits: { perRecordMs: 20 } });
    await expect(r.runBatch(recs)).rejects.toMatchObject({ kind: 'timeout', recordId: 'r1' });
    expect(await r.runBatch(recs.slice(1))).toEqual(['HAM', 'HAM', 'HAM']);
    await r.close();
  });

  it('an infinite loop at the top level fails at creation', async () => {
    const e = await failure(js('while (true) {}\nfunction lf() {}'), recs, { limits: { setupMs: 200 } });
    expect(e.kind).toBe('timeout');
  });

  it('a memory bomb fails with kind memory and names the record', async () => {
    const code = 'const keep = [];\nfunction lf(record) {\n  if (record.n === 2) { const a = []; while (true) a.push(new Array(100000).fill(record.n)); }\n  return null;\n}';
    const e = await failure(js(code), recs, { limits: { memoryMb: 16, perRecordMs: 5000 } });
    expect(e.kind).toBe('memory');
    expect(e.recordId).toBe('r2');
    await stillWorks();
  });

  it('a runner whose isolate ran out of memory refuses further batches', async () => {
    const r = await createRunner(js('function lf(r) { if (r.n === 1) { const a = []; while (true) a.push("x".repeat(1000) + a.length); } return null }'), { limits: { memoryMb: 16, perRecordMs: 5000 } });
    await expect(r.runBatch(recs)).rejects.toMatchObject({ kind: 'memory' });
    await expect(r.runBatch(recs.slice(1))).rejects.toMatchObject({ kind: 'memory' });
    await r.close();
  });

  it('deep recursion is a runtime error', async () => {
    const e = await failure(js('function f(n) { return f(n + 1) + 1 }\nfunction lf(r) { return f(0) }'));
    expect(e.kind).toBe('runtime');
    expect(e.message).toMatch(/call stack/);
  });

  for (const [what, expr, pattern] of [
    ['require', 'require("fs")', /require is not defined/],
    ['process', 'process.env', /process is not defined/],
    ['fetch', 'fetch("http://example.com")', /fetch is not defined/],
    ['setTimeout', 'setTimeout(() => 1, 1)', /setTimeout is not defined/],
  ] as const) {
    it(`reaching for ${what} fails with a clear error and the line`, async () => {
      const e = await failure(js(`function lf(record) {\n  const x = ${expr};\n  return null;\n}`));
      expect(e.kind).toBe('runtime');
      expect(e.recordId).toBe('r1');
      expect(e.message).toMatch(pattern);
      expect(e.line).toBe(2);
      await stillWorks();
    });
  }

  it('import() is refused at creation with the line', async () => {
    const e = await failure(js('function lf(record) {\n  // import("x") in a comment is fine\n  const s = "import(1)";\n  const x = import("node:fs");\n  return null;\n}'));
    expect(e.kind).toBe('syntax');
    expect(e.message).toMatch(/import\(\) is not available/);
    expect(e.line).toBe(4);
    await stillWorks();
  });

  it('import() hidden from the static scan still fails at run time', async () => {
    // A regex literal containing a quote hides the rest of the line from the scanner.
    const e = await failure(js('function lf(record) {\n  const q = /"/; const x = import("node:fs");\n  return null;\n}'));
    expect(e.kind).toBe('runtime');
    expect(e.message).toMatch(/import\(\) is not available/);
    expect(e.line).toBe(2);
    await stillWorks();
  });

  it('a static import is a syntax error', async () => {
    const e = await failure(js('import fs from "node:fs";\nfunction lf() {}'));
    expect(e.kind).toBe('syntax');
    expect(e.line).toBe(1);
    expect(e.message).toMatch(/import/);
  });

  it('unknown lookup list is a runtime error naming the available lists', async () => {
    const e = await failure(js('function lf(record, ctx) {\n  return ctx.lookup("nope").length ? "HAM" : null;\n}'), recs, { lookupLists: { brands: ['a'] } });
    expect(e.kind).toBe('runtime');
    expect(e.message).toMatch(/unknown lookup list "nope"; available: "brands"/);
    expect(e.line).toBe(2);
  });
});
