import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeuristicError, PythonPool, createRunner, type HeuristicSource, type RunnerOptions, type SandboxRecord } from './index.ts';

const labels = ['HAM', 'SPAM'];
const recs: SandboxRecord[] = [
  { id: 'r1', attributes: { text: 'check out my channel', n: 1 } },
  { id: 'r2', attributes: { text: 'great song', n: 2 } },
  { id: 'r3', attributes: { text: 'boom', n: 3 } },
  { id: 'r4', attributes: { text: 'meh', n: 4 } },
];
const py = (code: string, extra: Partial<HeuristicSource> = {}): HeuristicSource => ({ language: 'python', code, kind: 'classification', labels, ...extra });

let pool: PythonPool;
const notes: string[] = [];
beforeAll(() => {
  pool = new PythonPool({ size: 2, memoryMb: 256, log: (m) => notes.push(m) });
});
afterAll(async () => {
  await pool.close();
});

async function failure(source: HeuristicSource, records: SandboxRecord[] = recs, options: RunnerOptions = {}): Promise<HeuristicError> {
  let runner;
  try {
    runner = await createRunner(source, { pythonPool: pool, ...options });
    await runner.runBatch(records);
  } catch (e) {
    expect(e).toBeInstanceOf(HeuristicError);
    return e as HeuristicError;
  } finally {
    await runner?.close();
  }
  throw new Error('expected a HeuristicError');
}

/** Another runner on the same pool still works (the pool recovered). */
async function stillWorks(): Promise<void> {
  const r = await createRunner(py('def lf(record):\n    return "HAM" if "song" in record["text"] else None\n'), { pythonPool: pool });
  // Enough records to hit both workers.
  const many = Array.from({ length: 2000 }, (_, i) => recs[i % 4]!);
  const out = await r.runBatch(many);
  expect(out.slice(0, 4)).toEqual([null, 'HAM', null, null]);
  expect(out.filter((v) => v === 'HAM').length).toBe(500);
  await r.close();
}

describe('python runner: happy paths', () => {
  it('classification', async () => {
    const r = await createRunner(py('import re\nCHECK = re.compile(r"check.*out", re.I)\n\ndef lf(record):\n    if CHECK.search(record["text"]):\n        return "SPAM"\n    if record["n"] == 2:\n        return "HAM"\n'), { pythonPool: pool });
    expect(await r.runBatch(recs)).toEqual(['SPAM', 'HAM', null, null]);
    expect(await r.runBatch([])).toEqual([]);
    await r.close();
  });

  it('a large batch is split over the pool and keeps order', async () => {
    const r = await createRunner(py('def lf(record):\n    return "SPAM" if record["i"] % 3 == 0 else None\n'), { pythonPool: pool, chunkSize: 250 });
    const many: SandboxRecord[] = Array.from({ length: 5000 }, (_, i) => ({ id: `m${i}`, attributes: { i } }));
    const out = await r.runBatch(many);
    expect(out).toEqual(many.map((_, i) => (i % 3 === 0 ? 'SPAM' : null)));
    await r.close();
  });

  it('extraction with yield (character offsets)', async () => {
    const code = 'import re\n\ndef lf(record):\n    for m in re.finditer(r"\\w+", record["text"]):\n        if len(m.group()) > 4:\n            yield {"label": "SPAM", "start": m.start(), "end": m.end()}\n';
    const r = await createRunner(py(code, { kind: 'extraction', targetAttribute: 'text' }), { pythonPool: pool });
    expect(await r.runBatch(recs)).toEqual([
      [
        { label: 'SPAM', start: 0, end: 5 },
        { label: 'SPAM', start: 13, end: 20 },
      ],
      [{ label: 'SPAM', start: 0, end: 5 }],
      [],
      [],
    ]);
    await r.close();
  });

  it('extraction offsets are converted from code points to UTF-16 units (emoji)', async () => {
    const code = 'def lf(record):\n    t = record["text"]\n    i = t.find("song")\n    if i >= 0:\n        yield {"label": "HAM", "start": i, "end": i + 4}\n';
    const r = await createRunner(py(code, { kind: 'extraction', targetAttribute: 'text' }), { pythonPool: pool });
    const text = '😀😀 great song';
    const out = await r.runBatch([{ id: 'e1', attributes: { text } }, recs[1]!]);
    expect(out).toEqual([[{ label: 'HAM', start: text.indexOf('song'), end: text.indexOf('song') + 4 }], [{ label: 'HAM', start: 6, end: 10 }]]);
    await r.close();
  });

  it('extraction with token offsets via ctx (converted to characters)', async () => {
    const code = 'def lf(record, ctx):\n    toks = ctx.tokens("text")\n    if len(toks) > 1:\n        return [{"label": "HAM", "token_start": 1, "token_end": 2}]\n';
    const r = await createRunner(py(code, { kind: 'extraction', targetAttribute: 'text' }), { pythonPool: pool });
    const rec: SandboxRecord = {
      id: 't1',
      attributes: { text: 'great song here' },
      tokens: { text: [ { text: 'great', start: 0, end: 5 }, { text: 'song', start: 6, end: 10 }, { text: 'here', start: 11, end: 15 } ] },
    };
    expect(await r.runBatch([rec, recs[2]!])).toEqual([[{ label: 'HAM', start: 6, end: 10 }], []]);
    await r.close();
  });

  it('lookup lists: lookup() and in_lookup(), ctx.record_id', async () => {
    const code = 'def lf(record, ctx):\n    if ctx.record_id == "r4":\n        return "HAM"\n    if in_lookup("spam", record["text"]):\n        return "SPAM"\n    if record["text"] in lookup("ham"):\n        return "HAM"\n';
    const r = await createRunner(py(code), { pythonPool: pool, lookupLists: { spam: { terms: ['My Channel', 'Boom'] }, ham: ['great song'] } });
    expect(await r.runBatch([...recs, { id: 'r5', attributes: { text: 'booming' } }])).toEqual(['SPAM', 'HAM', 'SPAM', 'HAM', null]);
    await r.close();
  });

  it('user print() does not corrupt the protocol', async () => {
    const r = await createRunner(py('print("hello from top level")\n\ndef lf(record):\n    print("x" * 100000)\n    return "HAM"\n'), { pythonPool: pool });
    expect(await r.runBatch(recs)).toEqual(['HAM', 'HAM', 'HAM', 'HAM']);
    await r.close();
  });

  it('environment is scrubbed and the working directory is a throwaway temp dir', async () => {
    const code = 'import os\n\ndef lf(record):\n    keys = sorted(os.environ)\n    assert set(keys) <= {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "LC_CTYPE"}, keys\n    assert "refinery-py-" in os.getcwd(), os.getcwd()\n    return "HAM"\n';
    const r = await createRunner(py(code), { pythonPool: pool });
    expect(await r.runBatch(recs.slice(0, 1))).toEqual(['HAM']);
    await r.close();
  });

  it('network: unreachable when isolation is available (else a logged note)', async () => {
    const code = 'import socket\n\ndef lf(record):\n    socket.create_connection(("1.1.1.1", 53), timeout=2)\n    return "SPAM"\n';
    if (pool.networkIsolation === 'none') {
      expect(notes.join('\n')).toMatch(/WITHOUT network isolation/);
      return;
    }
    const e = await failure(py(code));
    expect(e.kind).toBe('runtime');
    expect(e.message).toMatch(/OSError|unreachable/i);
    expect(e.line).toBe(4);
  });
});

describe('python runner: errors', () => {
  it('syntax error reports the line at creation', async () => {
    const e = await failure(py('def lf(record):\n    x = 1\n    return x +\n'));
    expect(e.kind).toBe('syntax');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/SyntaxError.*line 3/);
    await stillWorks();
  });

  it('indentation error', async () => {
    const e = await failure(py('def lf(record):\n    x = 1\n      return x\n'));
    expect(e.kind).toBe('syntax');
    expect(e.line).toBe(3);
  });

  it('missing lf', async () => {
    const e = await failure(py('def label_it(record):\n    return "HAM"\n'));
    expect(e.kind).toBe('syntax');
    expect(e.message).toMatch(/function named lf/);
  });

  it('an error at the top level fails at creation with the line', async () => {
    const e = await failure(py('x = 1\ny = x / 0\n\ndef lf(record):\n    return None\n'));
    expect(e.kind).toBe('runtime');
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/ZeroDivisionError/);
  });

  it('a raising function reports record id and line', async () => {
    const e = await failure(py('def helper(r):\n    return r["missing"]\n\ndef lf(record):\n    if record["n"] == 3:\n        return helper(record)\n'));
    expect(e.kind).toBe('runtime');
    expect(e.recordId).toBe('r3');
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/r3.*KeyError: 'missing'/);
    await stillWorks();
  });

  it('sys.exit() inside lf is a runtime error, not a dead pool', async () => {
    const e = await failure(py('import sys\n\ndef lf(record):\n    sys.exit(3)\n'));
    expect(e.kind).toBe('runtime');
    expect(e.message).toMatch(/SystemExit/);
    await stillWorks();
  });

  it('unknown label names the label, the record and the allowed labels', async () => {
    const e = await failure(py('def lf(record):\n    return "EGGS" if record["n"] == 2 else None\n'));
    expect(e.kind).toBe('invalid_output');
    expect(e.recordId).toBe('r2');
    expect(e.message).toContain('"EGGS"');
    expect(e.message).toContain('"HAM", "SPAM"');
  });

  it('wrong return types', async () => {
    expect((await failure(py('def lf(record):\n    return 1\n'))).message).toMatch(/label name.*int 1/);
    expect((await failure(py('async def lf(record):\n    return "HAM"\n'))).message).toMatch(/synchronous/);
    expect((await failure(py('def lf(record):\n    return "HAM"\n', { kind: 'extraction', targetAttribute: 'text' }))).message).toMatch(/spans/);
  });

  it('spans out of range or with unknown labels', async () => {
    const ex = (body: string) => py(`def lf(record):\n    return ${body}\n`, { kind: 'extraction', targetAttribute: 'text' });
    let e = await failure(ex('[{"label": "SPAM", "start": 0, "end": 500}]'));
    expect(e.kind).toBe('invalid_output');
    expect(e.recordId).toBe('r1');
    expect(e.message).toMatch(/out of range/);
    e = await failure(ex('[{"label": "SPAM", "start": 4, "end": 2}]'));
    expect(e.message).toMatch(/out of range/);
    e = await failure(ex('[{"label": "X", "start": 0, "end": 2}]'));
    expect(e.message).toMatch(/unknown label "X"/);
    e = await failure(ex('[{"label": "SPAM", "start": 0.0, "end": 2}]'));
    expect(e.message).toMatch(/must be int/);
    e = await failure(ex('[("SPAM", 0, 2)]'));
    expect(e.message).toMatch(/not a dict/);
  });

  it('while True: pass times out, names the record; the pool recovers', async () => {
    const t0 = Date.now();
    const e = await failure(py('def lf(record):\n    if record["n"] == 3:\n        while True:\n            pass\n'));
    expect(e.kind).toBe('timeout');
    expect(e.recordId).toBe('r3');
    expect(Date.now() - t0).toBeLessThan(3000);
    await stillWorks();
  });

  it('a record that uses up the batch budget is found by re-running it alone', async () => {
    const e = await failure(py('import time\n\ndef lf(record):\n    if record["n"] == 2:\n        t = time.process_time()\n        while time.process_time() - t < 0.4:\n            pass\n'), recs, { limits: { perRecordMs: 50 } });
    expect(e.kind).toBe('timeout');
    expect(e.recordId).toBe('r2');
  });

  it('a single slow record within the batch budget passes (the limit is a per-batch budget)', async () => {
    const r = await createRunner(py('import time\n\ndef lf(record):\n    if record["n"] == 2:\n        t = time.process_time()\n        while time.process_time() - t < 0.08:\n            pass\n    return "HAM"\n'), { pythonPool: pool, limits: { perRecordMs: 50 } });
    expect(await r.runBatch(recs)).toEqual(['HAM', 'HAM', 'HAM', 'HAM']);
    await r.close();
  });

  it('an uninterruptible C-level loop: the worker is killed, the record found by replay, the pool recovers', async () => {
    const t0 = Date.now();
    const e = await failure(py('def lf(record):\n    if record["n"] == 3:\n        return sum(range(10**12))\n'), recs, { limits: { perRecordMs: 50, batchOverheadMs: 300 } });
    expect(e.kind).toBe('timeout');
    expect(e.recordId).toBe('r3');
    expect(Date.now() - t0).toBeLessThan(5000);
    await stillWorks();
  });

  it('an infinite loop at the top level fails at creation', async () => {
    const e = await failure(py('while True:\n    pass\n\ndef lf(record):\n    return None\n'), recs, { limits: { setupMs: 200 } });
    expect(e.kind).toBe('timeout');
    await stillWorks();
  });

  it('a memory bomb fails with kind memory; the pool recovers', async () => {
    const e = await failure(py('def lf(record):\n    if record["n"] == 2:\n        a = []\n        while True:\n            a.append("x" * 10**6)\n'), recs, { limits: { perRecordMs: 5000 } });
    expect(e.kind).toBe('memory');
    expect(e.recordId).toBe('r2');
    await stillWorks();
  });

  it('deep recursion is a runtime error', async () => {
    const e = await failure(py('def f(n):\n    return f(n + 1) + 1\n\ndef lf(record):\n    return f(0)\n'));
    expect(e.kind).toBe('runtime');
    expect(e.message).toMatch(/RecursionError/);
  });

  it('unknown lookup list', async () => {
    const e = await failure(py('def lf(record):\n    return "HAM" if lookup("nope") else None\n'), recs, { lookupLists: { brands: ['a'] } });
    expect(e.kind).toBe('runtime');
    expect(e.message).toMatch(/unknown lookup list "nope"; available: "brands"/);
    expect(e.line).toBe(2);
  });
});
